/**
 * A real, scriptable LLM server on loopback, for tests, demos and users' own integration tests. It speaks the
 * OpenAI-compatible wire format (`/v1/chat/completions` with or without SSE, `/v1/embeddings`, `/v1/models`),
 * OpenAI's Responses API (`/v1/responses` with or without SSE events, as @effect/ai-openai's language model calls it)
 * and Anthropic's (`/v1/messages` with or without SSE events), and records every request it receives.
 *
 * ```ts
 * it.scoped("retries a 429", () =>
 *   Effect.gen(function* () {
 *     const upstream = yield* FakeUpstream.make({
 *       scripts: [{ status: 429, headers: { "retry-after": "1" } }],  // first request
 *       script: { reply: "hello", chunks: 2 }                           // every later one
 *     })
 *     const layer = OpenAiCompatible.layer({ baseUrl: upstream.baseUrl })
 *     // … then assert on yield* upstream.requests
 *   }))
 * ```
 *
 * Scripts answer one request each, in order; when the queue is empty, `script` (a value, or a function of the
 * recorded request) answers. Delays (`latency`, `firstChunkDelay`, `chunkDelay`) are `Effect.sleep`s in the
 * server's fibers: with `TestClock` in the server's runtime they advance with `TestClock.adjust`, otherwise they are
 * real time. Faults are real network events: `dropAfter` destroys the socket, `hang` never answers, `stallAfter`
 * keeps a stream open without sending more. A client that goes away before an answer ended is counted in
 * `disconnects`, so a test can prove that interrupting a consumer closed the connection.
 *
 * The server binds 127.0.0.1 on a free port and closes (dropping open connections) when its scope closes.
 *
 * @since 0.1.0
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Http from "node:http"
import * as Respond from "./internal/fakeUpstream/respond.js"
import type * as Wire from "./internal/fakeUpstream/wire.js"

/**
 * A tool call the fake model makes: `arguments` is JSON text.
 *
 * @since 0.1.0
 * @category models
 */
export type ToolCall = Wire.ToolCall

/**
 * How to answer one request. Every field is optional; `{}` answers 200 with the reply `"ok"`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Script {
  /** HTTP status (default 200). A non-2xx status answers an error body in the route's wire format. */
  readonly status?: number | undefined
  /** Extra response headers, e.g. `{ "retry-after": "2" }`. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** A JSON body sent as is instead of the generated one (any status). */
  readonly body?: unknown
  /** The assistant's text (default `"ok"`). */
  readonly reply?: string | undefined
  /** How many content chunks a streamed reply is split into (default 3, fewer for short replies). */
  readonly chunks?: number | undefined
  /** Tool calls in the answer; streamed as deltas (name first, then the arguments in two halves). */
  readonly toolCalls?: ReadonlyArray<ToolCall> | undefined
  /** The `model` answered (default: the request's). */
  readonly model?: string | undefined
  /** Token counts answered (default: estimated from the request and the reply). */
  readonly usage?: {
    readonly promptTokens?: number | undefined
    readonly completionTokens?: number | undefined
    /** Prompt tokens served from the provider's cache (reported only when set; on the Responses API always, 0). */
    readonly cachedTokens?: number | undefined
    /** Reasoning tokens among the completion tokens (reported like `cachedTokens`). */
    readonly reasoningTokens?: number | undefined
  }
  /** Embedding size (default 8). */
  readonly dimensions?: number | undefined
  /** Wait before the response headers. */
  readonly latency?: Duration.DurationInput | undefined
  /** Streams: wait after the headers before the first chunk. */
  readonly firstChunkDelay?: Duration.DurationInput | undefined
  /** Streams: wait between chunks. */
  readonly chunkDelay?: Duration.DurationInput | undefined
  /**
   * Destroy the connection: streams after this many chunks (0 = right after the headers); other answers before
   * anything is sent.
   */
  readonly dropAfter?: number | undefined
  /** Streams: after this many chunks, send nothing more but keep the connection open. */
  readonly stallAfter?: number | undefined
  /** `true`: the body (or first stream chunk) is broken JSON; a number: that stream chunk (0-based) is. */
  readonly malformed?: boolean | number | undefined
  /** Never answer (the connection stays open until the client leaves). */
  readonly hang?: boolean | undefined
  /** Streams: raw SSE text written verbatim, piece by piece, instead of the generated events. */
  readonly events?: ReadonlyArray<string> | undefined
}

/**
 * A request as the server received it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  /** 0 for the first request the server received. */
  readonly index: number
  readonly method: string
  /** The path and query, e.g. `/v1/chat/completions`. */
  readonly url: string
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>
  /** The JSON body, parsed; the raw text when it was not JSON; `undefined` when empty. */
  readonly body: unknown
}

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Scripts answering the first requests, one each, in order. */
  readonly scripts?: ReadonlyArray<Script> | undefined
  /** Answers every request once `scripts` is used up (default `{}`: a 200 with `"ok"`). */
  readonly script?: Script | ((request: RecordedRequest) => Script) | undefined
}

/**
 * A running fake upstream.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The OpenAI-style base URL, with the version path: `http://127.0.0.1:<port>/v1`. */
  readonly baseUrl: string
  /** The host URL without a path, as Anthropic clients take it: `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly port: number
  /** Every request received so far, in order. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** Waits until at least `n` requests have arrived, then gives them. */
  readonly awaitRequests: (n: number) => Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** How many clients went away before their answer was complete (drops caused by a script are not counted). */
  readonly disconnects: Effect.Effect<number>
  /** Waits until at least `n` clients have gone away early. */
  readonly awaitDisconnects: (n: number) => Effect.Effect<void>
  /** Appends scripts to the queue. */
  readonly enqueue: (...scripts: ReadonlyArray<Script>) => Effect.Effect<void>
  /** Replaces the script used when the queue is empty. */
  readonly setScript: (script: Script | ((request: RecordedRequest) => Script)) => Effect.Effect<void>
}

/**
 * The tag of a fake upstream, for tests that share one through a layer.
 *
 * @since 0.1.0
 * @category tags
 */
export class FakeUpstream extends Context.Tag("effect-liter-llm/FakeUpstream")<FakeUpstream, Service>() {}

interface State {
  readonly requests: ReadonlyArray<RecordedRequest>
  readonly disconnects: number
}

const record = (headers: Http.IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

/**
 * Starts a fake upstream on 127.0.0.1 (a free port) for the life of the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function* () {
    const state = yield* SubscriptionRef.make<State>({ requests: [], disconnects: 0 })
    const queue = yield* Ref.make<ReadonlyArray<Script>>(options.scripts ?? [])
    const fallback = yield* Ref.make<Script | ((request: RecordedRequest) => Script)>(options.script ?? {})

    const nextScript = (request: RecordedRequest) =>
      Effect.flatMap(
        Ref.modify(queue, (scripts): [Option.Option<Script>, ReadonlyArray<Script>] =>
          scripts.length === 0 ? [Option.none(), scripts] : [Option.some(scripts[0]!), scripts.slice(1)]
        ),
        Option.match({
          onSome: Effect.succeed,
          onNone: () => Effect.map(Ref.get(fallback), (f) => (typeof f === "function" ? f(request) : f))
        })
      )

    const app = Effect.gen(function* () {
      const serverRequest = yield* HttpServerRequest.HttpServerRequest
      const incoming = NodeHttpServerRequest.toIncomingMessage(serverRequest)
      const res = NodeHttpServerRequest.toServerResponse(serverRequest)
      const text = yield* Effect.orElseSucceed(serverRequest.text, () => "")
      let body: unknown = undefined
      if (text !== "") {
        try {
          body = JSON.parse(text)
        } catch {
          body = text
        }
      }
      const recorded = yield* SubscriptionRef.modify(state, (s): [RecordedRequest, State] => {
        const request: RecordedRequest = {
          index: s.requests.length,
          method: serverRequest.method,
          url: serverRequest.url,
          headers: record(incoming.headers),
          body
        }
        return [request, { ...s, requests: [...s.requests, request] }]
      })
      const script = yield* nextScript(recorded)
      const dropped = { value: false }
      // The platform runs handlers uninterruptibly; scripted waits must yield to a client that went away.
      yield* Respond.respond(res, recorded, script, dropped).pipe(
        Effect.interruptible,
        Effect.onInterrupt(() =>
          dropped.value || res.writableEnded
            ? Effect.void
            : SubscriptionRef.update(state, (s) => ({ ...s, disconnects: s.disconnects + 1 }))
        )
      )
      return HttpServerResponse.empty()
    })

    const nodeServer = Http.createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, { port: 0, host: "127.0.0.1" })
    // Runs before the server's own close, which would otherwise wait for hanging or streaming connections.
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    yield* server.serve(app)
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    const url = `http://127.0.0.1:${port}`

    const waitFor = (predicate: (s: State) => boolean) =>
      state.changes.pipe(
        Stream.filter(predicate),
        Stream.runHead,
        Effect.flatMap(() => SubscriptionRef.get(state))
      )

    return {
      baseUrl: `${url}/v1`,
      url,
      port,
      requests: Effect.map(SubscriptionRef.get(state), (s) => s.requests),
      awaitRequests: (n) =>
        Effect.map(
          waitFor((s) => s.requests.length >= n),
          (s) => s.requests
        ),
      disconnects: Effect.map(SubscriptionRef.get(state), (s) => s.disconnects),
      awaitDisconnects: (n) => Effect.asVoid(waitFor((s) => s.disconnects >= n)),
      enqueue: (...scripts) => Ref.update(queue, (queued) => [...queued, ...scripts]),
      setScript: (script) => Ref.set(fallback, script)
    } satisfies Service
  })

/**
 * A layer running a fake upstream for the life of the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<FakeUpstream, HttpServerError.ServeError> =>
  Layer.scoped(FakeUpstream, make(options))
