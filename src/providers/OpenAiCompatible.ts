/**
 * A client for any OpenAI-compatible HTTP API (OpenAI itself, Azure OpenAI, Groq, Together, vLLM, Ollama, …),
 * offered as an `LlmService` layer so it drops into `Deployment.make({ layer })`.
 *
 * ```ts
 * const openai = OpenAiCompatible.layer({
 *   baseUrl: "https://api.openai.com/v1",
 *   apiKey: Redacted.make(process.env.OPENAI_API_KEY!),
 *   provider: "openai"
 * }).pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 *
 * Decisions:
 * - `baseUrl` includes the version path, as in OpenAI's SDKs; the client appends `/chat/completions`,
 *   `/embeddings`, `/models`, `/images/generations`, `/audio/speech`, `/audio/transcriptions` and `/moderations`
 *   (the last four: see `internal/openAiOps.ts`).
 * - `model`, when given, replaces the `model` of every request (a deployment serves one model); otherwise a
 *   `"<provider>/"` prefix on the request's model is stripped, so `"groq/llama-3.1-8b-instant"` reaches Groq as
 *   `"llama-3.1-8b-instant"`.
 * - `extra_body` is merged into the JSON sent on the wire, overriding fields of the same name.
 * - Streams ask for `stream_options.include_usage`, so the last chunk carries usage (turn off with
 *   `streamUsage: false` for servers that reject the field). Usage sent inside the choice (Moonshot) or under
 *   `x_groq` (Groq) is read as the chunk's usage. `[DONE]` ends the stream and closes the connection. A
 *   stream that ends without `[DONE]` and without a finish reason is a failure: `Network` when nothing was
 *   delivered yet (transient), `Streaming` after.
 * - An error sent inside the stream (an `{"error": …}` member, also next to `choices` as OpenRouter sends it) fails the
 *   stream with the error an HTTP response with that body would give (`RateLimited`, `ServerError` …), mapped from the
 *   error's own code or type.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Chat from "../Chat.js"
import * as Embedding from "../Embedding.js"
import * as Chunkwise from "../internal/chunkwise.js"
import * as Http from "../internal/http.js"
import * as OpenAiOps from "../internal/openAiOps.js"
import type * as Sse from "../internal/sse.js"
import * as Validate from "../internal/validate.js"
import * as StrayUsage from "../internal/strayUsage.js"
import * as StreamError from "../internal/streamError.js"
import * as LiterLlmError from "../LiterLlmError.js"
import * as LlmService from "../LlmService.js"
import * as Models from "../Models.js"
import { withRequestChecks } from "../internal/requestChecks.js"

/**
 * How the API key is sent: `"bearer"` (`Authorization: Bearer …`, the default), `{ header: "api-key" }` for a
 * named header, or `"none"`.
 *
 * @since 0.1.0
 * @category models
 */
export type Auth = Http.Auth

/**
 * Options of {@link layer} and {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Base URL including the version path, e.g. `"https://api.openai.com/v1"`. */
  readonly baseUrl: string
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Extra headers sent with every request (validated at construction). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** The provider's name, used in errors (default `"openai-compatible"`). */
  readonly provider?: string | undefined
  /** How the API key is sent (default `"bearer"`). */
  readonly auth?: Auth | undefined
  /** Per-request timeout; for streams, the wait for the headers and then between chunks. None by default. */
  readonly timeout?: Duration.DurationInput | undefined
  /** When set, replaces the `model` of every request. */
  readonly model?: string | undefined
  /** Query parameters added to every request (Azure's `api-version`). */
  readonly urlParams?: Readonly<Record<string, string>> | undefined
  /** Ask for usage in the last stream chunk (default true). */
  readonly streamUsage?: boolean | undefined
  /** Cap on one server-sent event, in characters (default 1 MiB). */
  readonly maxEventSize?: number | undefined
  /** The largest successful JSON body read, in bytes (default 64 MiB); past it the read stops, non-transient. */
  readonly maxBodySize?: number | undefined
  /** Adjusts the HTTP client (retries, tracing, proxies …). */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
  /** The largest transcription upload, in bytes (default 25 MB, OpenAI's limit). */
  readonly maxFileSize?: number | undefined
}

const FileOptions = Schema.Struct({ maxFileSize: Schema.optional(Validate.PositiveInt) })

const chunkDecoder = Http.decodeUnknownEither(Chat.ChatCompletionChunk)

/** Sends the fields of `extra_body` as top-level wire fields. */
const toWire = <T extends { readonly extra_body?: Readonly<Record<string, unknown>> | undefined }>(
  request: T
): Record<string, unknown> => {
  const { extra_body, ...rest } = request
  return extra_body === undefined ? rest : { ...rest, ...extra_body }
}

/**
 * Builds the service over the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<LlmService.Service, LiterLlmError.InvalidHeader | LiterLlmError.BadRequest, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const provider = options.provider ?? "openai-compatible"
    yield* Validate.options("OpenAiCompatible.layer", FileOptions, { maxFileSize: options.maxFileSize })
    const endpoint = yield* Http.makeEndpoint({
      provider,
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      auth: options.auth,
      headers: options.headers,
      urlParams: options.urlParams,
      timeout: options.timeout,
      maxBodySize: options.maxBodySize,
      maxEventSize: options.maxEventSize
    })
    const baseClient = yield* HttpClient.HttpClient
    const client = options.transformClient === undefined ? baseClient : options.transformClient(baseClient)
    const prefix = `${provider}/`
    const wireModel = (model: string) =>
      options.model ?? (model.startsWith(prefix) ? model.slice(prefix.length) : model)
    const streamUsage = options.streamUsage ?? true

    const chat = (request: Chat.ChatCompletionRequest) => {
      const { stream: _stream, stream_options: _options, ...rest } = request
      return Http.json(
        client,
        endpoint,
        { method: "POST", path: "/chat/completions", body: toWire({ ...rest, model: wireModel(request.model) }) },
        Chat.ChatCompletionResponse
      )
    }

    const chatStream = (
      request: Chat.ChatCompletionRequest
    ): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError> =>
      Stream.suspend(() => {
        let done = false
        let delivered = false
        let finished = false
        /** Adds the event's chunk to `out`; else the failure it stands for. */
        const decodeEvent = (
          event: Sse.Event,
          out: Array<Chat.ChatCompletionChunk>
        ): Effect.Effect<never, LiterLlmError.LiterLlmError> | undefined => {
          const parsed = Http.parseJson(event.data, provider, "a stream chunk")
          if (Either.isLeft(parsed)) return Effect.fail(parsed.left)
          const error = StreamError.fromEvent(provider, event.event, parsed.right)
          if (error !== undefined) return Effect.flip(error)
          const chunk = chunkDecoder(StrayUsage.hoist(parsed.right), provider, "a stream chunk")
          if (Either.isLeft(chunk)) return Effect.fail(chunk.left)
          delivered = true
          if (chunk.right.choices.some((choice) => choice.finish_reason !== null)) finished = true
          out.push(chunk.right)
          return undefined
        }
        const body = toWire({
          ...request,
          model: wireModel(request.model),
          stream: true,
          ...(streamUsage ? { stream_options: { ...request.stream_options, include_usage: true } } : {})
        })
        const ended = Effect.suspend(() => {
          if (done || finished) return Effect.void
          return Effect.fail(
            delivered
              ? new LiterLlmError.Streaming({
                  provider,
                  message: `the stream from provider "${provider}" ended before the answer was complete (no [DONE] and no finish reason); the partial answer is incomplete`
                })
              : new LiterLlmError.Network({
                  provider,
                  message: `provider "${provider}" closed the stream before sending any chunk; retry`
                })
          )
        })
        const chunks = Http.sse(
          client,
          endpoint,
          { method: "POST", path: "/chat/completions", body },
          { maxEventSize: options.maxEventSize }
        ).pipe(
          Stream.takeWhile((event) => {
            // some servers pad the sentinel with spaces
            if (event.data.trim() === "[DONE]") done = true
            return !done
          }),
          // a read's events decoded together; events before a bad one arrive, then the failure (internal/chunkwise.ts)
          Chunkwise.decode({ step: decodeEvent, end: () => Effect.as(ended, []) })
        )
        // stream error payloads are quoted in messages, so the key is scrubbed here too, not only by Http.sse
        return Stream.mapError(chunks, endpoint.scrub)
      })

    const embed = (request: Embedding.EmbeddingRequest) =>
      Http.json(
        client,
        endpoint,
        { method: "POST", path: "/embeddings", body: toWire({ ...request, model: wireModel(request.model) }) },
        Embedding.EmbeddingResponse
      )

    const listModels = Http.json(client, endpoint, { method: "GET", path: "/models" }, Models.ModelList)

    const more = OpenAiOps.make({ client, endpoint, wireModel, toWire, maxFileSize: options.maxFileSize })
    return LlmService.make(withRequestChecks({ provider, chat, chatStream, embed, listModels, ...more }))
  })

/**
 * A layer providing `LlmService` over an OpenAI-compatible API; needs an `HttpClient` (e.g.
 * `FetchHttpClient.layer` or `NodeHttpClient.layerUndici`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<LlmService.LlmService, LiterLlmError.InvalidHeader | LiterLlmError.BadRequest, HttpClient.HttpClient> =>
  Layer.effect(LlmService.LlmService, make(options))

/**
 * Options of {@link layerConfig}: each field read from `Config` (keys with `Config.redacted`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigOptions {
  readonly baseUrl: Config.Config<string>
  readonly apiKey?: Config.Config<Redacted.Redacted<string> | undefined> | undefined
  readonly provider?: Config.Config<string | undefined> | undefined
  readonly model?: Config.Config<string | undefined> | undefined
  readonly timeout?: Config.Config<Duration.Duration | undefined> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly auth?: Auth | undefined
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
  readonly maxBodySize?: number | undefined
  readonly maxEventSize?: number | undefined
}

/**
 * A layer whose options come from `Config`, e.g.
 * `layerConfig({ baseUrl: Config.string("LLM_BASE_URL"), apiKey: Config.redacted("LLM_API_KEY") })`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: ConfigOptions
): Layer.Layer<
  LlmService.LlmService,
  ConfigError.ConfigError | LiterLlmError.InvalidHeader | LiterLlmError.BadRequest,
  HttpClient.HttpClient
> => {
  const { auth, headers, maxBodySize, maxEventSize, transformClient, ...configs } = options
  return Layer.effect(
    LlmService.LlmService,
    Effect.flatMap(
      Config.all({
        baseUrl: configs.baseUrl,
        apiKey: configs.apiKey ?? Config.succeed(undefined),
        provider: configs.provider ?? Config.succeed(undefined),
        model: configs.model ?? Config.succeed(undefined),
        timeout: configs.timeout ?? Config.succeed(undefined)
      }),
      (values) => make({ ...values, auth, headers, transformClient, maxBodySize, maxEventSize })
    )
  )
}
