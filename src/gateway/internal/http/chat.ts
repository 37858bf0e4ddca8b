/**
 * `POST /v1/chat/completions` and `POST /v1/embeddings`: authenticate, read and check the body, pick the caller's
 * service for the requested model, and call it under the request's routing headers.
 *
 * The body goes to the service as the client sent it — fields this library does not know included — because the
 * providers send a request's own fields upstream; the checks here only reject what no upstream could accept, naming
 * the field as OpenAI's `param`.
 */
import * as Effect from "effect/Effect"
import type * as Chat from "../../../Chat.js"
import type * as Embedding from "../../../Embedding.js"
import * as Validate from "../../../internal/validate.js"
import * as Call from "./call.js"
import * as Operations from "./operations.js"
import * as Request from "./request.js"
import * as Route from "./route.js"
import * as Routing from "./routing.js"
import * as Sse from "./sse.js"

/**
 * Providers ask upstream for a final usage chunk (no choices) to count cost, whether or not the client did; OpenAI
 * sends it only when asked, and clients that read `choices[0]` of every chunk break on it, so it is dropped here
 * unless the client asked for `stream_options.include_usage`.
 */
const notUsageOnly = (chunk: Chat.ChatCompletionChunk) => chunk.choices.length > 0 || chunk.usage == null

/** The chat completions endpoint, JSON and SSE. */
export const chat = (env: Call.Env) =>
  Call.handle(env)((call) =>
    Effect.gen(function* () {
      const caller = yield* Call.caller(env, call)
      const body = yield* Request.readJsonObject(call.request, env.maxBodySize)
      yield* Validate.chat(body)
      const settings = yield* Routing.parse(call.request, env.routingLimits)
      const request = body as unknown as Chat.ChatCompletionRequest
      const service = yield* env.access.serviceFor(caller, request.model)
      const observed = yield* Route.observe
      if (request.stream === true) {
        // The router reads the routing settings and the route observer when the stream opens (its first chunk), so
        // they are provided to that wait only, as for a JSON answer: see `Sse.Options.opening`.
        return yield* Sse.respond(service.chatStream(request), {
          heartbeat: env.heartbeat,
          opening: (opening) => observed.effect(Route.steer(settings, opening)),
          keep: request.stream_options?.include_usage === true ? undefined : notUsageOnly,
          headers: Effect.map(observed.get, (route) => ({ ...call.headers, ...Route.headers(route) })),
          trailer: Effect.map(observed.get, Route.headers)
        })
      }
      const response = yield* observed.effect(Route.steer(settings, service.chat(request)))
      const route = yield* observed.get
      return Call.json(response, { ...call.headers, ...Route.headers(route) })
    })
  )

/** The embeddings endpoint. */
export const embeddings = Operations.jsonOperation<Embedding.EmbeddingRequest, Embedding.EmbeddingResponse>(
  Validate.embeddingProblem,
  (service, request) => service.embed(request)
)
