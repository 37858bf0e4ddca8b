/**
 * An @effect/ai language model as a deployment: `deployment(languageModelLayer)` is a `Layer<LlmService>` that
 * serves `chat` and `chatStream` with `LanguageModel.generateText` / `streamText`, so any @effect/ai provider — the
 * Responses API model of @effect/ai-openai, @effect/ai-anthropic's — can sit in a router next to this library's own
 * providers, with failover, budgets and the rest.
 *
 * ```ts
 * const openai = deployment(OpenAiLanguageModel.model("gpt-4o-mini")).pipe(Layer.provide(OpenAiClient.layer({ apiKey })))
 * Router.layer({ deployments: [Deployment.make({ name: "responses", layer: openai }), …], strategy: Strategy.fallback() })
 * ```
 *
 * Decisions:
 * - The model is the layer's: `request.model` (often a router group name) is not sent; the answer names the model
 *   the provider reports.
 * - Tool calls are handed back, never run: the request's tools become a toolkit @effect/ai is told not to resolve,
 *   and its calls come back as `tool_calls` with finish reason `tool_calls`, as from any chat completion.
 * - Generation settings go through the provider's own config tag (see internal/reverseSettings.ts); the provider
 *   name is `options.provider`, else the one an `AiModel` layer carries (`OpenAiLanguageModel.model(…)` says
 *   "openai"), else "effect-ai". A field the provider cannot honour is a `BadRequest`, unless `dropUnsupported`.
 * - `response_format: json_schema` is served by `generateObject` with the caller's JSON Schema (whole answers only:
 *   @effect/ai streams text only); `json_object` has no @effect/ai counterpart and is refused.
 * - Errors keep the provider's HTTP status (see internal/reverseError.ts), so a 429 or 5xx fails over and a 400
 *   does not. `embed` and `listModels` fail with `EndpointNotSupported`.
 *
 * @since 0.2.0
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as AiModel from "@effect/ai/Model"
import type * as Response from "@effect/ai/Response"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Chat from "../Chat.js"
import * as LiterLlmError from "../LiterLlmError.js"
import * as LlmService from "../LlmService.js"
import { withRequestChecks } from "../internal/requestChecks.js"
import * as ReverseError from "./internal/reverseError.js"
import * as ReversePrompt from "./internal/reversePrompt.js"
import * as ReverseResponse from "./internal/reverseResponse.js"
import * as ReverseSettings from "./internal/reverseSettings.js"

/**
 * Options of {@link deployment} (named for the function, as `EffectAi` re-exports it next to its own options).
 *
 * @since 0.2.0
 * @category models
 */
export interface DeploymentOptions {
  /**
   * The provider's name, in errors and for choosing how settings are passed ("openai", "anthropic"). Default: the
   * name an `AiModel` layer provides, else "effect-ai".
   */
  readonly provider?: string | undefined
  /**
   * Passes a request's generation settings to the model yourself, e.g.
   * `(req) => OpenAiLanguageModel.withConfigOverride({ temperature: req.temperature ?? 1 })`. Replaces the
   * built-in mapping; fields it does not read are not checked.
   */
  readonly settings?:
    | ((request: Chat.ChatCompletionRequest) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>)
    | undefined
  /** Ignore request fields the model cannot honour instead of failing with `BadRequest` (default `false`). */
  readonly dropUnsupported?: boolean | undefined
}

type Progress = "waiting" | "delivered" | "finished"

const ObjectSchema = Schema.Struct({}, Schema.Record({ key: Schema.String, value: Schema.Unknown }))

const make = (options: DeploymentOptions) =>
  Effect.gen(function* () {
    const model = yield* LanguageModel.LanguageModel
    const named = yield* Effect.serviceOption(AiModel.ProviderName)
    const provider = options.provider ?? Option.getOrElse(named, () => "effect-ai")
    const mode: ReverseSettings.Mode =
      options.settings !== undefined ? { _tag: "Custom", apply: options.settings } : ReverseSettings.modeFor(provider)
    const dropUnsupported = options.dropUnsupported === true

    const prepare = (request: Chat.ChatCompletionRequest) =>
      Either.flatMap(ReversePrompt.toCall(provider, request), (call) =>
        Either.map(ReverseSettings.settingsOf(provider, mode, dropUnsupported, request), (apply) => ({ call, apply }))
      )

    const fallbackIdentity = (request: Chat.ChatCompletionRequest) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const salt = yield* Random.nextIntBetween(0, 2 ** 31 - 1)
        return {
          id: `chatcmpl-ea-${now.toString(36)}${salt.toString(36)}`,
          model: request.model,
          created: Math.floor(now / 1000)
        }
      })

    const fromAiError =
      (during: "whole" | "stream") =>
      (error: AiError.AiError | LiterLlmError.LiterLlmError): Effect.Effect<never, LiterLlmError.LiterLlmError> =>
        AiError.isAiError(error)
          ? Effect.flatMap(ReverseError.fromAiError(provider, error, during), Effect.fail)
          : Effect.fail(error)

    const generate = (
      request: Chat.ChatCompletionRequest,
      call: ReversePrompt.Call
    ): Effect.Effect<ReadonlyArray<Response.AnyPart>, AiError.AiError | LiterLlmError.BadRequest> => {
      const format = request.response_format
      const common = {
        prompt: call.prompt,
        toolkit: call.toolkit,
        toolChoice: call.toolChoice,
        disableToolCallResolution: true as const
      }
      if (format === undefined || format.type === "text") {
        return Effect.map(model.generateText(common), (response) => response.content as ReadonlyArray<Response.AnyPart>)
      }
      if (format.type === "json_object") {
        return Effect.fail(
          new LiterLlmError.BadRequest({
            provider,
            message: "response_format json_object has no @effect/ai counterpart; send json_schema with a schema"
          })
        )
      }
      const schema = ObjectSchema.annotations({
        jsonSchema: format.json_schema.schema ?? { type: "object" },
        ...(format.json_schema.description === undefined ? {} : { description: format.json_schema.description })
      })
      return Effect.map(
        model.generateObject({ ...common, schema, objectName: format.json_schema.name }),
        (response) => response.content as ReadonlyArray<Response.AnyPart>
      )
    }

    const chat = (request: Chat.ChatCompletionRequest) =>
      Effect.gen(function* () {
        const { apply, call } = yield* prepare(request)
        const parts = yield* apply(generate(request, call)).pipe(Effect.catchAll(fromAiError("whole")))
        return ReverseResponse.toResponse(yield* fallbackIdentity(request), parts)
      })

    const chatStream = (request: Chat.ChatCompletionRequest) =>
      Stream.unwrap(
        Effect.gen(function* () {
          const { apply, call } = yield* prepare(request)
          if (request.response_format !== undefined && request.response_format.type !== "text") {
            return yield* new LiterLlmError.BadRequest({
              provider,
              message: `response_format ${request.response_format.type} cannot be streamed through @effect/ai, which streams text only; call chat instead`
            })
          }
          const identity = yield* fallbackIdentity(request)
          // The settings live in the context the stream runs in, so they are captured inside `apply`.
          const parts = yield* apply(
            Effect.map(Effect.context<never>(), (context) =>
              model
                .streamText({
                  prompt: call.prompt,
                  toolkit: call.toolkit,
                  toolChoice: call.toolChoice,
                  disableToolCallResolution: true
                })
                .pipe(Stream.provideContext(context))
            )
          )
          const progress = yield* Ref.make<Progress>("waiting")
          const chunks = (parts as Stream.Stream<Response.AnyPart, AiError.AiError>).pipe(
            Stream.catchAll((error) => Stream.fromEffect(fromAiError("stream")(error))),
            Stream.mapEffect((part) =>
              part.type === "error"
                ? Effect.flatMap(ReverseError.fromErrorPart(provider, (part as Response.ErrorPart).error), Effect.fail)
                : Effect.succeed(part)
            ),
            Stream.mapAccum(ReverseResponse.initial(identity), ReverseResponse.step),
            Stream.flattenIterables,
            Stream.tap((chunk) =>
              Ref.update(progress, (now) =>
                now === "finished" || chunk.choices.some((choice) => choice.finish_reason !== null)
                  ? "finished"
                  : "delivered"
              )
            )
          )
          return Stream.concat(chunks, Stream.drain(Stream.fromEffect(Effect.flatMap(Ref.get(progress), ended)))).pipe(
            Stream.catchAll((error) =>
              Stream.fromEffect(Effect.flatMap(Ref.get(progress), (now) => Effect.fail(brokenAfter(now, error))))
            )
          )
        })
      )

    // As the HTTP providers do: a stream that stops short, or fails transiently once chunks were delivered, is
    // `Streaming` (not retryable), since part of the answer already reached the caller.
    const ended = (now: Progress): Effect.Effect<void, LiterLlmError.LiterLlmError> =>
      now === "finished"
        ? Effect.void
        : Effect.fail(
            now === "delivered"
              ? new LiterLlmError.Streaming({
                  provider,
                  message: `the stream of the @effect/ai model of provider "${provider}" ended before its finish; the partial answer is incomplete`
                })
              : new LiterLlmError.Network({
                  provider,
                  message: `the @effect/ai model of provider "${provider}" ended its stream before sending anything; retry`
                })
          )

    const brokenAfter = (now: Progress, error: LiterLlmError.LiterLlmError): LiterLlmError.LiterLlmError =>
      now === "waiting" || !LiterLlmError.isTransient(error)
        ? error
        : new LiterLlmError.Streaming({
            provider,
            cause: error,
            message: `the stream of the @effect/ai model of provider "${provider}" broke after it started (${error._tag}: ${error.message}); the partial answer is incomplete`
          })

    return LlmService.make(withRequestChecks({ provider, chat, chatStream }))
  })

/**
 * An @effect/ai language model as an `LlmService`, usable as `Deployment.make({ name, layer })`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const deployment = <E, R>(
  languageModel: Layer.Layer<LanguageModel.LanguageModel, E, R>,
  options: DeploymentOptions = {}
): Layer.Layer<LlmService.LlmService, E, R> =>
  Layer.effect(LlmService.LlmService, make(options)).pipe(Layer.provide(languageModel))
