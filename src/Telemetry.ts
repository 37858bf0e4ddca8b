/**
 * Tracing, metrics and cost tracking for any `LlmService`: a span per call with OpenTelemetry's GenAI
 * semantic-convention attributes, Effect `Metric`s, and the cost of every call in USD.
 *
 * ```ts
 * const traced = Telemetry.layer({ provider: "openai", deployment: "eu-1" }).pipe(Layer.provide(deployment))
 * const [answer, cost] = yield* Telemetry.trackCost(LlmService.chat(request)) // cost.totalUsd
 * ```
 *
 * Spans go through Effect's tracer, so they reach OpenTelemetry once the application provides
 * `@effect/opentelemetry` (`NodeSdk.layer`); with no exporter they cost a few allocations. Each span is named
 * `"{operation} {model}"`, of kind `client`, and carries:
 *
 * - `gen_ai.operation.name` (`chat` | `embeddings`, and `image`, `speech`, `transcription`, `moderation`, `rerank`
 *   for the other operations), `gen_ai.request.model`, `gen_ai.provider.name` and the older
 *   `gen_ai.system` (both from `options.provider`), `gen_ai.request.max_tokens` / `temperature` / `top_p` / `seed`;
 * - `gen_ai.response.id` / `model` / `finish_reasons`, `gen_ai.usage.input_tokens` / `output_tokens` /
 *   `cache_read.input_tokens`;
 * - `gen_ai.usage.cost`: the cost of the call in USD (not part of the conventions, which have no cost attribute;
 *   the name follows their `gen_ai.usage.*` family): from the tokens, or for a transcription priced by the hour of
 *   audio (whisper-1) from the answer's duration, as `Budget` charges it. Absent when the model's price is unknown —
 *   unknown is not free;
 * - `liter_llm.usage.estimated`: `true` when the provider reported no usage (a stream without
 *   `stream_options.include_usage`, or one that broke off) and the token counts are estimates from the text;
 * - `deployment`: the `deployment` option; `error.type`: the error's tag on failure.
 *
 * Prompts and answers (`gen_ai.input.messages`, `gen_ai.output.messages`) are recorded only with
 * `recordContent: true`. Headers, `extra_body` and API keys are never recorded.
 *
 * Streams: the span covers the whole stream and gets a `gen_ai.first_chunk` event; the call is accounted when the
 * stream completes, fails, or is interrupted or abandoned by its consumer (then tokens are estimated from what
 * arrived, since the provider bills what it generated — unless a cache below marked the span `liter_llm.cache.hit`:
 * a replay the provider never saw costs nothing). `listModels` passes through untraced: it is a health
 * probe, not model work.
 *
 * Spans come from `Effect.useSpan` and `Stream.withSpan`: the caller's span is their parent, they are the parent of
 * the calls below (an HTTP client's span), and they end on success, failure, defect and interruption. They are made
 * with `captureStackTrace: false`: the call site of a middleware is always this module.
 *
 * Cost for the caller: {@link trackCost} runs an effect and returns, beside its result, the cost of every call made
 * through a `Telemetry` middleware inside it — by that fiber or any it forks. This is scoped to the effect rather
 * than a global "last cost", which concurrent callers would overwrite.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import type * as Pricing from "./Pricing.js"
import { PricingSchema } from "./internal/middleware/options.js"
import * as internal from "./internal/middleware/telemetry.js"
import * as TelemetryMetrics from "./internal/telemetry/metrics.js"
import * as Validate from "./internal/validate.js"

/**
 * How calls are labelled and priced.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The provider, recorded as `gen_ai.provider.name` and `gen_ai.system` (e.g. `"openai"`). */
  readonly provider?: string | undefined
  /** The deployment label on spans and metrics. Default `"default"`. */
  readonly deployment?: string | undefined
  /** Prices for this deployment; without them the model is looked up with `Pricing`. */
  readonly pricing?: Pricing.ModelPricing | undefined
  /** Record prompts and answers on spans. Default `false`: they may hold personal data. */
  readonly recordContent?: boolean | undefined
}

/**
 * The cost of one call.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallCost {
  readonly operation: "chat" | "embeddings" | "image" | "speech" | "transcription" | "moderation" | "rerank"
  readonly model: string
  readonly deployment: string
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedTokens: number
  /** USD; `undefined` when the model has no known price. */
  readonly costUsd: number | undefined
  /** Token counts were estimated because the provider reported none. */
  readonly estimated: boolean
}

/**
 * The calls made inside {@link trackCost}, and their total.
 *
 * @since 0.1.0
 * @category models
 */
export interface CostReport {
  /** Sum of the priced calls, in USD. */
  readonly totalUsd: number
  /** Every accounted call, in the order they finished. */
  readonly calls: ReadonlyArray<CallCost>
  /** How many calls had no known price (not included in `totalUsd`). */
  readonly unpriced: number
}

// ---------------------------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------------------------

/**
 * The metrics every `Telemetry` middleware updates, labelled `gen_ai.operation.name`, `gen_ai.request.model`,
 * `deployment` (and `gen_ai.provider.name` when set), in that order; errors also by `error.type`, tokens by
 * `gen_ai.token.type` (`input` | `output`). Durations are in seconds, as the GenAI conventions ask. Interrupted calls
 * count as requests but neither as errors nor in the duration histogram. Read one with
 * `Metric.value(Metric.tagged(metric, …))` in that label order, or export them all with `@effect/opentelemetry`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics: {
  readonly requests: Metric.Metric.Counter<number>
  readonly errors: Metric.Metric.Counter<number>
  readonly duration: Metric.Metric.Histogram<number>
  readonly timeToFirstChunk: Metric.Metric.Histogram<number>
  readonly tokens: Metric.Metric.Counter<number>
  readonly cost: Metric.Metric.Counter<number>
} = TelemetryMetrics.metrics

// ---------------------------------------------------------------------------------------------------------------
// Cost collection
// ---------------------------------------------------------------------------------------------------------------

/**
 * Runs `self` and returns its result with the cost of every call made through a `Telemetry` middleware inside it.
 * Tracked effects nest: an outer one also counts the inner one's calls.
 *
 * @since 0.1.0
 * @category cost
 */
export const trackCost = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<[A, CostReport], E, R> =>
  Effect.gen(function* () {
    const sink = yield* Ref.make<ReadonlyArray<CallCost>>([])
    const result = yield* Effect.locallyWith(self, TelemetryMetrics.costSinks, (sinks) => [...sinks, sink])
    const calls = yield* Ref.get(sink)
    let totalUsd = 0
    let unpriced = 0
    for (const call of calls) {
      if (call.costUsd === undefined) unpriced++
      else totalUsd += call.costUsd
    }
    return [result, { totalUsd, calls, unpriced }] as [A, CostReport]
  })

const OptionsSchema = Schema.Struct({
  provider: Schema.optional(Schema.String),
  deployment: Schema.optional(Schema.String),
  pricing: Schema.optional(PricingSchema),
  recordContent: Schema.optional(Schema.Boolean)
})

/**
 * Traces, measures and prices every chat, stream and embedding call of the service below. Fails with `BadRequest`
 * naming the option when a price is negative or not a number.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make =
  (options: Options = {}) =>
  (below: LlmService.Service): Effect.Effect<LlmService.Service, LiterLlmError.BadRequest, Scope.Scope> =>
    Effect.as(Validate.options("Telemetry.layer", OptionsSchema, options), internal.make(options)(below))

/**
 * Traces, measures and prices the `LlmService` below it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<LlmService.LlmService, LiterLlmError.BadRequest, LlmService.LlmService> =>
  Layer.scoped(LlmService.LlmService, Effect.flatMap(LlmService.LlmService, make(options)))
