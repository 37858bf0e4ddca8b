/**
 * @effect/ai interop: the library's `LlmService` (a provider, a middleware stack or a router) as @effect/ai's
 * `LanguageModel` and `EmbeddingModel`, so code written against `LanguageModel.generateText` / `streamText` /
 * `generateObject`, toolkits and `ExecutionPlan` runs through the router unchanged.
 *
 * ```ts
 * const answer = LanguageModel.generateText({ prompt: "Hi" }).pipe(
 *   Effect.provide(EffectAi.layer({ model: "gpt-4o" })),   // needs an LlmService: a router, a provider …
 *   Effect.provide(Router.layer({ deployments, strategy: Strategy.latencyBased() }))
 * )
 * ```
 *
 * Decisions:
 * - The call speaks chat completions, the one API every deployment of the library serves; the prompt, tools, tool
 *   choice and structured output are mapped onto it (see `internal/prompt.ts`, `internal/tools.ts`), and anything it
 *   cannot carry fails with `MalformedInput` naming the part, never dropped silently.
 * - Settings come as @effect/ai's providers take them: `config` on the layer, then {@link Config} in context
 *   ({@link withConfigOverride}), field names as on the wire (`max_tokens`, `top_p`, `seed` …). `model` may be
 *   overridden per call too, e.g. to pick another group of a router.
 * - Streams ask for usage (`stream_options.include_usage`), so the finish part, which comes last, carries it.
 * - Errors become `AiError`s that keep the HTTP status and the retry delay, so an `ExecutionPlan`'s `while` can
 *   decide ({@link isRetryable}, {@link retryAfter}):
 *
 * | library error | AiError |
 * | --- | --- |
 * | `Network` | `HttpRequestError` (`Transport`) |
 * | `Authentication` · `RateLimited` · `NotFound` · `ServerError` · `ServiceUnavailable` · `Timeout` | `HttpResponseError`: the upstream's status, else 401 · 429 · 404 · 500 · 503 · 408 |
 * | `BadRequest` · `ContextWindowExceeded` · `ContentPolicy` answered by the upstream | `HttpResponseError` with its status |
 * | the same refused before sending (`Validate.chat`), `InvalidHeader` | `MalformedInput` |
 * | `NoDeploymentAvailable` · `AllDeploymentsFailed` | `HttpResponseError` 503 · the last attempt's status (else 503) |
 * | `Serialization` · `Streaming` (a stream that broke after it began is never retryable) | `MalformedOutput` |
 * | `EndpointNotSupported` · `BudgetExceeded` · `HookRejected` · `InternalError` | `UnknownError` |
 *
 * `HttpResponseError`s carry the delay as `retry-after-ms` and `retry-after` headers (the shortest one any attempt
 * gave, for `AllDeploymentsFailed`) and an OpenAI-style body whose `type` is the library's error tag; the other
 * variants carry the library's error as `cause`. No upstream header is copied. `isRetryable` of the result is
 * `LiterLlmError.isTransient` of the error (a transient error whose own status does not look retryable, such as a
 * 3xx read as `ServerError`, takes the default status of its row).
 *
 * @since 0.2.0
 */
import type * as AiError from "@effect/ai/AiError"
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as IdGenerator from "@effect/ai/IdGenerator"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as AiModel from "@effect/ai/Model"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as LiterLlmError from "../LiterLlmError.js"
import * as LlmService from "../LlmService.js"
import * as Embedder from "./internal/embeddingModel.js"
import * as Errors from "./internal/errors.js"
import * as Request from "./internal/request.js"
import * as Response from "./internal/response.js"
import * as Chunks from "./internal/stream.js"

/**
 * Generation settings for the calls inside an effect: chat-completion request fields by their wire names, plus
 * `strict` (send tool and output schemas in strict mode; default `true`).
 *
 * @since 0.2.0
 * @category configuration
 */
export class Config extends Context.Tag("effect-liter-llm/EffectAi/Config")<Config, Config.Service>() {}

/** @since 0.2.0 @category configuration */
export declare namespace Config {
  /** @since 0.2.0 @category configuration */
  export type Service = Request.Settings
}

/**
 * Runs an effect with these settings over the ones already in context (and over the layer's `config`).
 *
 * @since 0.2.0
 * @category configuration
 */
export const withConfigOverride: {
  (overrides: Config.Service): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Config.Service): Effect.Effect<A, E, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Config.Service) =>
  Effect.flatMap(Effect.serviceOption(Config), (current) =>
    Effect.provideService(self, Config, { ...Option.getOrElse(current, () => ({})), ...overrides })
  )
)

/**
 * Options of {@link layer}: the model (or router group) to ask, and default settings.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly model: string
  readonly config?: Omit<Config.Service, "model"> | undefined
}

const generateSite: Errors.Site = { method: "generateText", path: "/chat/completions" }
const streamSite: Errors.Site = { method: "streamText", path: "/chat/completions" }

/**
 * Builds a `LanguageModel` over the `LlmService` in context.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<LanguageModel.Service, never, LlmService.LlmService> =>
  Effect.gen(function* () {
    const llm = yield* LlmService.LlmService
    const request = (providerOptions: LanguageModel.ProviderOptions, site: Errors.Site) =>
      Effect.gen(function* () {
        const override = yield* Effect.serviceOption(Config)
        const settings = { model: options.model, ...options.config, ...Option.getOrUndefined(override) }
        const built = yield* Request.make(providerOptions, settings, site)
        yield* Request.annotateRequest(providerOptions, built)
        return built
      })
    const idPrefix = Effect.flatMap(IdGenerator.IdGenerator, (ids) => ids.generateId())
    const malformed = (method: string) => (description: string) =>
      Effect.fail(Errors.malformedOutput(method, description))

    return yield* LanguageModel.make({
      generateText: (providerOptions) =>
        Effect.gen(function* () {
          const built = yield* request(providerOptions, generateSite)
          const answer = yield* Effect.mapError(llm.chat(built), (e) => Errors.toAiError(e, generateSite))
          const parts = yield* Either.match(Response.toParts(answer, yield* idPrefix), {
            onLeft: malformed(generateSite.method),
            onRight: Effect.succeed
          })
          const finish = parts.at(-1)
          yield* Request.annotateResponse(
            providerOptions,
            {
              id: answer.id,
              model: answer.model,
              ...(finish?.type === "finish" ? { finishReason: finish.reason } : {})
            },
            finish?.type === "finish" ? finish.usage : {}
          )
          return parts
        }),
      streamText: (providerOptions) =>
        Stream.unwrap(
          Effect.gen(function* () {
            const built = yield* request(providerOptions, streamSite)
            const prefix = yield* idPrefix
            const streamed = llm.chatStream({
              ...built,
              stream_options: { ...built.stream_options, include_usage: true }
            })
            const parts = yield* Chunks.toParts(
              Stream.mapError(streamed, (e) => Errors.toAiError(e, streamSite)),
              prefix,
              streamSite.method
            )
            return Stream.tap(parts, (part) =>
              part.type === "finish"
                ? Request.annotateResponse(providerOptions, { finishReason: part.reason }, part.usage)
                : Effect.void
            )
          })
        )
    })
  })

/**
 * A `LanguageModel` over the `LlmService` in context (a router, a provider, a middleware stack).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel, never, LlmService.LlmService> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))

/**
 * An @effect/ai `Model` for `ExecutionPlan.make` / `Effect.withExecutionPlan`: the model (or router group) `name`
 * over the `LlmService` in context.
 *
 * @since 0.2.0
 * @category models
 */
export const model = (
  name: string,
  config?: Omit<Config.Service, "model">
): AiModel.Model<"effect-liter-llm", LanguageModel.LanguageModel, LlmService.LlmService> =>
  AiModel.make("effect-liter-llm", layer({ model: name, config }))

/**
 * Options of {@link embeddingLayer}: the embedding model, the vector size (for models that can shorten their
 * vectors), and how many inputs at most go in one request (default: all that are waiting).
 *
 * @since 0.2.0
 * @category models
 */
export interface EmbeddingOptions {
  readonly model: string
  readonly dimensions?: number | undefined
  readonly maxBatchSize?: number | undefined
}

/**
 * Builds an `EmbeddingModel` over the `LlmService` in context; fails with `BadRequest` naming a bad option.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeEmbedding: (
  options: EmbeddingOptions
) => Effect.Effect<EmbeddingModel.Service, LiterLlmError.BadRequest, LlmService.LlmService> = Embedder.make

/**
 * An `EmbeddingModel` over the `LlmService`'s `embed`; requests made together are batched into one call.
 *
 * @since 0.2.0
 * @category layers
 */
export const embeddingLayer = (
  options: EmbeddingOptions
): Layer.Layer<EmbeddingModel.EmbeddingModel, LiterLlmError.BadRequest, LlmService.LlmService> =>
  Layer.effect(EmbeddingModel.EmbeddingModel, makeEmbedding(options))

/**
 * The `AiError` a library error becomes (the table in the module docs); `method` names the @effect/ai call.
 *
 * @since 0.2.0
 * @category errors
 */
export const toAiError = (
  error: LiterLlmError.LiterLlmError,
  method: "generateText" | "streamText" | "embedMany" = "generateText"
): AiError.AiError =>
  Errors.toAiError(error, method === "embedMany" ? Embedder.embedSite : { method, path: "/chat/completions" })

/**
 * Whether another attempt may succeed: a connection failure, or an HTTP answer of 408, 429 or 5xx. A `while` for
 * `ExecutionPlan` steps; it reads only the error's own fields, so it judges any @effect/ai provider's errors alike.
 *
 * @since 0.2.0
 * @category errors
 */
export const isRetryable: (error: AiError.AiError) => boolean = Errors.isRetryable

/**
 * How long an error asks the caller to wait (`retry-after-ms` or `retry-after` seconds), capped at
 * `LiterLlmError.maxRetryAfter`.
 *
 * @since 0.2.0
 * @category errors
 */
export const retryAfter: (error: AiError.AiError) => Option.Option<Duration.Duration> = Errors.retryAfter

/**
 * The reverse direction: an @effect/ai `LanguageModel` layer (e.g. @effect/ai-openai's Responses API client, or
 * @effect/ai-anthropic) as an `LlmService` layer, usable as `Deployment.make({ name, layer })` (see `deployment.ts`).
 *
 * @since 0.2.0
 * @category deployment
 */
export { deployment } from "./deployment.js"

/**
 * Options of {@link deployment}.
 *
 * @since 0.2.0
 * @category deployment
 */
export type { DeploymentOptions } from "./deployment.js"
