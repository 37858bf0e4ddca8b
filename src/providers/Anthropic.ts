/**
 * A native client for Anthropic's Messages API, offered as an `LlmService`: OpenAI-style requests in, OpenAI-style
 * responses and chunks out, so an Anthropic deployment drops into a router next to OpenAI-compatible ones.
 *
 * ```ts
 * const claude = Anthropic.layer({ apiKey: Redacted.make(key) }).pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 *
 * Decisions:
 * - `max_tokens` is required by Anthropic; requests without one get `defaultMaxTokens` (4096), plus the thinking
 *   budget when `reasoning_effort` turns extended thinking on.
 * - Streams end with an OpenAI-style usage chunk (no choices), whether or not `stream_options.include_usage` asked
 *   for it, because cost and budget accounting depend on it.
 * - An `error` event in a stream (e.g. `overloaded_error` after the answer began) is `Streaming`; a 529 answer to
 *   the request itself is `ServiceUnavailable`, so the router may fail over, and so is an `overloaded_error` event
 *   that comes before `message_start` (other error types map as their HTTP statuses would).
 * - `embed` is not offered by Anthropic and fails with `EndpointNotSupported`.
 * - `response_format`: Anthropic has no JSON mode in the Messages API, so `json_schema` is served by a forced
 *   "answer tool" whose input becomes the content (the caller never sees the tool), and `json_object` by an
 *   instruction in the system prompt.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientTag from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type * as Chat from "../Chat.js"
import * as LiterLlmError from "../LiterLlmError.js"
import * as LlmService from "../LlmService.js"
import type * as Models from "../Models.js"
import { toMessagesRequest } from "../internal/anthropic/request.js"
import { fromMessage } from "../internal/anthropic/response.js"
import { StreamTranslator } from "../internal/anthropic/stream.js"
import { answerToolName } from "../internal/anthropic/structured.js"
import * as Wire from "../internal/anthropic/wire.js"
import * as Chunkwise from "../internal/chunkwise.js"
import * as Http from "../internal/http.js"
import { readNativeConfig } from "../internal/nativeConfig.js"
import { withRequestChecks } from "../internal/requestChecks.js"
import type * as Sse from "../internal/sse.js"

/**
 * Options of the Anthropic client.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly apiKey: Redacted.Redacted<string>
  /** The API host, without a version path. Default `https://api.anthropic.com`. */
  readonly baseUrl?: string | undefined
  /** The `anthropic-version` header. Default `2023-06-01`. */
  readonly anthropicVersion?: string | undefined
  /** Per-request timeout (for streams: until the headers, then between events). Default none. */
  readonly timeout?: Duration.DurationInput | undefined
  /** `max_tokens` for requests that set none. Default 4096. */
  readonly defaultMaxTokens?: number | undefined
  /** Extra headers, e.g. `anthropic-beta`. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** The largest successful JSON body read, in bytes (default 64 MiB); past it the read stops, non-transient. */
  readonly maxBodySize?: number | undefined
  /** Cap on one server-sent event, in characters (default 1 MiB). */
  readonly maxEventSize?: number | undefined
}

/**
 * The default API host.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBaseUrl = "https://api.anthropic.com"

/**
 * The default `anthropic-version` header.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAnthropicVersion = "2023-06-01"

/**
 * The default `max_tokens`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxTokens = 4096

const provider = "anthropic"

/** The longest model listing followed, in pages of 1000. */
const maxModelPages = 20

const decodeEvent = Http.jsonDecoder(Wire.StreamEvent)

/**
 * Builds the Anthropic service on the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<LlmService.Service, LiterLlmError.InvalidHeader | LiterLlmError.BadRequest, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClientTag.HttpClient
    const endpoint = yield* Http.makeEndpoint({
      provider,
      baseUrl: options.baseUrl ?? defaultBaseUrl,
      apiKey: options.apiKey,
      auth: { header: "x-api-key" },
      headers: { ...options.headers, "anthropic-version": options.anthropicVersion ?? defaultAnthropicVersion },
      timeout: options.timeout,
      maxBodySize: options.maxBodySize,
      maxEventSize: options.maxEventSize
    })
    const maxTokens = options.defaultMaxTokens ?? defaultMaxTokens
    const createdNow = Effect.map(Clock.currentTimeMillis, (millis) => Math.floor(millis / 1000))

    const chat = Effect.fn("Anthropic.chat")(function* (request: Chat.ChatCompletionRequest) {
      const body = yield* toMessagesRequest(request, { defaultMaxTokens: maxTokens, stream: false })
      const message = yield* Http.json(client, endpoint, { method: "POST", path: "/v1/messages", body }, Wire.Message)
      // Without the answer tool's name, a json_schema answer would come back as a call of a tool the caller never declared.
      return fromMessage(message, yield* createdNow, answerToolName(request))
    })

    const chatStream = (
      request: Chat.ChatCompletionRequest
    ): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError> =>
      Stream.unwrap(
        Effect.gen(function* () {
          const body = yield* toMessagesRequest(request, { defaultMaxTokens: maxTokens, stream: true })
          const translator = new StreamTranslator(yield* createdNow, request.model, answerToolName(request))
          // a read's events decoded and translated together (see internal/chunkwise.ts)
          return Http.sse(client, endpoint, { method: "POST", path: "/v1/messages", body }).pipe(
            Chunkwise.decode({
              step: (event: Sse.Event, out: Array<Chat.ChatCompletionChunk>) => {
                const chunks = Either.flatMap(decodeEvent(event.data, provider, "a stream event"), (decoded) =>
                  translator.push(decoded)
                )
                if (Either.isLeft(chunks)) return Effect.fail(chunks.left)
                for (const chunk of chunks.right) out.push(chunk)
                return undefined
              },
              end: () => translator.end()
            })
          )
        })
      ).pipe(Stream.mapError(endpoint.scrub), Stream.withSpan("Anthropic.chatStream"))

    const listModels: Effect.Effect<Models.ModelList, LiterLlmError.LiterLlmError> = Effect.gen(function* () {
      const models: Array<Models.Model> = []
      let after: string | undefined = undefined
      for (let page = 0; page < maxModelPages; page++) {
        const urlParams: Record<string, string> =
          after === undefined ? { limit: "1000" } : { limit: "1000", after_id: after }
        const result: Wire.ModelPage = yield* Http.json(
          client,
          endpoint,
          { method: "GET", path: "/v1/models", urlParams },
          Wire.ModelPage
        )
        for (const model of result.data) {
          const created = model.created_at == null ? Number.NaN : Date.parse(model.created_at)
          models.push({
            id: model.id,
            object: "model",
            created: Number.isNaN(created) ? null : Math.floor(created / 1000),
            owned_by: provider
          })
        }
        if (result.has_more !== true || result.last_id == null) break
        after = result.last_id
      }
      return { object: "list", data: models }
    }).pipe(Effect.withSpan("Anthropic.listModels"))

    return LlmService.make(withRequestChecks({ provider, chat, chatStream, listModels }))
  })

/**
 * A layer providing the Anthropic service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<LlmService.LlmService, LiterLlmError.InvalidHeader | LiterLlmError.BadRequest, HttpClient.HttpClient> =>
  Layer.effect(LlmService.LlmService, make(options))

/**
 * A layer reading the API key from `ANTHROPIC_API_KEY` (and the host from `ANTHROPIC_BASE_URL`, when set). A missing
 * key is an `Authentication` error naming the variable, at layer construction rather than as a 401 later.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<Options, "apiKey"> = {}
): Layer.Layer<
  LlmService.LlmService,
  LiterLlmError.Authentication | LiterLlmError.InvalidHeader | LiterLlmError.BadRequest,
  HttpClient.HttpClient
> =>
  Layer.unwrapEffect(
    Effect.map(readNativeConfig(provider, "ANTHROPIC", "Anthropic.layer"), ({ apiKey, baseUrl }) =>
      layer({ ...options, apiKey, baseUrl: options.baseUrl ?? baseUrl })
    )
  )
