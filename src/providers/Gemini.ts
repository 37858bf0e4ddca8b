/**
 * A native client for Google's Gemini API (`generateContent`, `streamGenerateContent`, `batchEmbedContents`,
 * `models`), offered as an `LlmService` speaking OpenAI-style requests and responses.
 *
 * ```ts
 * const gemini = Gemini.layer({ apiKey: Redacted.make(key) }).pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 *
 * Decisions:
 * - The API key travels in the `x-goog-api-key` header, never in the URL's `key=` parameter, so it cannot leak into
 *   access logs, traces or error messages that quote a URL.
 * - Gemini answers a bad key with HTTP 400 `API_KEY_INVALID`; that is reported as `Authentication`, not
 *   `BadRequest`, so the message points at the key.
 * - Streams end with an OpenAI-style usage chunk (no choices) carrying Gemini's last `usageMetadata`.
 * - Function calls get ids made from the response id when Gemini sends none, so a `tool` message can answer them.
 * - Gemini reports a failure mid-stream as an error object inside the stream (also as bare JSON after the events);
 *   the stream fails with the error that object maps to, and an event the body ends inside is still read.
 * - The model may be given bare (`gemini-2.5-flash`) or as `models/gemini-2.5-flash`.
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
import * as Random from "effect/Random"
import type * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type * as Chat from "../Chat.js"
import type * as Embedding from "../Embedding.js"
import * as LiterLlmError from "../LiterLlmError.js"
import * as LlmService from "../LlmService.js"
import type * as Models from "../Models.js"
import * as Chunkwise from "../internal/chunkwise.js"
import * as Events from "../internal/gemini/events.js"
import * as Frames from "../internal/gemini/frames.js"
import { fromBatchEmbedResponse, modelPath, toBatchEmbedRequest } from "../internal/gemini/embed.js"
import { toGenerateContentRequest } from "../internal/gemini/request.js"
import { fromGenerateContentResponse } from "../internal/gemini/response.js"
import { StreamTranslator } from "../internal/gemini/stream.js"
import * as Wire from "../internal/gemini/wire.js"
import * as Http from "../internal/http.js"
import { readNativeConfig } from "../internal/nativeConfig.js"
import { withRequestChecks } from "../internal/requestChecks.js"
import type * as Sse from "../internal/sse.js"

/**
 * Options of the Gemini client.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly apiKey: Redacted.Redacted<string>
  /** The API host, without a version path. Default `https://generativelanguage.googleapis.com`. */
  readonly baseUrl?: string | undefined
  /** The API version path segment. Default `v1beta` (where tools, thinking and system instructions live). */
  readonly apiVersion?: string | undefined
  /** Per-request timeout (for streams: until the headers, then between events). Default none. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Extra headers sent with every request. */
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
export const defaultBaseUrl = "https://generativelanguage.googleapis.com"

/**
 * The default API version.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultApiVersion = "v1beta"

const provider = "gemini"

/** The longest model listing followed, in pages of 1000. */
const maxModelPages = 20

/** Gemini says "400 API key not valid"; that is a credentials problem, not a malformed request. */
const keyRejected = (error: LiterLlmError.LiterLlmError): LiterLlmError.LiterLlmError =>
  error._tag === "BadRequest" && /API[ _]key[ _](not[ _]valid|invalid)|API_KEY_INVALID/i.test(error.message)
    ? new LiterLlmError.Authentication({ provider, status: error.status, message: error.message })
    : error

/** The path of a model method: `/v1beta/models/gemini-2.5-flash:generateContent`. */
const methodPath = (version: string, model: string, method: string) =>
  `/${version}/models/${encodeURIComponent(model.replace(/^models\//, ""))}:${method}`

/** An id for responses Gemini sent without `responseId`, drawn from Effect's `Random`. */
const randomId = Effect.map(
  Effect.all([Random.nextIntBetween(0, 0x7fffffff), Random.nextIntBetween(0, 0x7fffffff)]),
  ([a, b]) => `gemini-${a.toString(36)}${b.toString(36)}`
)

/**
 * Builds the Gemini service on the `HttpClient` in context.
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
      auth: { header: "x-goog-api-key" },
      headers: options.headers,
      timeout: options.timeout,
      maxBodySize: options.maxBodySize,
      maxEventSize: options.maxEventSize
    })
    const version = options.apiVersion ?? defaultApiVersion
    const normalize = (error: LiterLlmError.LiterLlmError) => endpoint.scrub(keyRejected(error))
    const createdNow = Effect.map(Clock.currentTimeMillis, (millis) => Math.floor(millis / 1000))

    const chat = Effect.fn("Gemini.chat")(function* (request: Chat.ChatCompletionRequest) {
      const body = yield* toGenerateContentRequest(request)
      const response = yield* Http.json(
        client,
        endpoint,
        { method: "POST", path: methodPath(version, request.model, "generateContent"), body },
        Wire.GenerateContentResponse
      )
      // A 200 body that is Google's error object would otherwise read as an answer without candidates.
      if (response.error != null) {
        return yield* Effect.flip(Events.fromErrorObject(response.error, JSON.stringify({ error: response.error })))
      }
      return yield* fromGenerateContentResponse(response, {
        id: yield* randomId,
        model: request.model,
        created: yield* createdNow
      })
    }, Effect.mapError(normalize))

    const chatStream = (
      request: Chat.ChatCompletionRequest
    ): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError> =>
      Stream.unwrap(
        Effect.gen(function* () {
          const body = yield* toGenerateContentRequest(request)
          const translator = new StreamTranslator(yield* randomId, request.model, yield* createdNow)
          const spec: Http.RequestSpec = {
            method: "POST",
            path: methodPath(version, request.model, "streamGenerateContent"),
            urlParams: { alt: "sse" },
            body
          }
          // a read's events decoded and translated together (see internal/chunkwise.ts)
          return Http.sse(client, endpoint, spec, { decode: Frames.decode }).pipe(
            Chunkwise.decode({
              step: (event: Sse.Event, out: Array<Chat.ChatCompletionChunk>) => {
                const responses = Events.read(event)
                if (Either.isLeft(responses)) return responses.left
                for (const response of responses.right) {
                  const chunks = translator.push(response)
                  if (Either.isLeft(chunks)) return Effect.fail(chunks.left)
                  for (const chunk of chunks.right) out.push(chunk)
                }
                return undefined
              },
              end: () => translator.end()
            })
          )
        })
      ).pipe(Stream.mapError(normalize), Stream.withSpan("Gemini.chatStream"))

    const embed = Effect.fn("Gemini.embed")(function* (request: Embedding.EmbeddingRequest) {
      const body = yield* toBatchEmbedRequest(request)
      const response = yield* Http.json(
        client,
        endpoint,
        { method: "POST", path: methodPath(version, modelPath(request.model), "batchEmbedContents"), body },
        Wire.BatchEmbedContentsResponse
      )
      return fromBatchEmbedResponse(response, request)
    }, Effect.mapError(normalize))

    const listModels: Effect.Effect<Models.ModelList, LiterLlmError.LiterLlmError> = Effect.gen(function* () {
      const models: Array<Models.Model> = []
      let token: string | undefined = undefined
      for (let page = 0; page < maxModelPages; page++) {
        const urlParams: Record<string, string> =
          token === undefined ? { pageSize: "1000" } : { pageSize: "1000", pageToken: token }
        const result: Wire.ModelPage = yield* Http.json(
          client,
          endpoint,
          { method: "GET", path: `/${version}/models`, urlParams },
          Wire.ModelPage
        )
        for (const model of result.models) {
          models.push({ id: model.name.replace(/^models\//, ""), object: "model", owned_by: "google" })
        }
        if (result.nextPageToken == null || result.nextPageToken === "") break
        token = result.nextPageToken
      }
      return { object: "list", data: models }
    }).pipe(Effect.mapError(normalize), Effect.withSpan("Gemini.listModels"))

    return LlmService.make(withRequestChecks({ provider, chat, chatStream, embed, listModels }))
  })

/**
 * A layer providing the Gemini service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<LlmService.LlmService, LiterLlmError.InvalidHeader | LiterLlmError.BadRequest, HttpClient.HttpClient> =>
  Layer.effect(LlmService.LlmService, make(options))

/**
 * A layer reading the API key from `GEMINI_API_KEY` (and the host from `GEMINI_BASE_URL`, when set). A missing key
 * is an `Authentication` error naming the variable, at layer construction rather than as a failure later.
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
    Effect.map(readNativeConfig(provider, "GEMINI", "Gemini.layer"), ({ apiKey, baseUrl }) =>
      layer({ ...options, apiKey, baseUrl: options.baseUrl ?? baseUrl })
    )
  )
