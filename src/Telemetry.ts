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
 * - `gen_ai.operation.name` (`chat` | `embeddings`), `gen_ai.request.model`, `gen_ai.provider.name` and the older
 *   `gen_ai.system` (both from `options.provider`), `gen_ai.request.max_tokens` / `temperature` / `top_p` / `seed`;
 * - `gen_ai.response.id` / `model` / `finish_reasons`, `gen_ai.usage.input_tokens` / `output_tokens` /
 *   `cache_read.input_tokens`;
 * - `gen_ai.usage.cost`: the cost of the call in USD (not part of the conventions, which have no cost attribute;
 *   the name follows their `gen_ai.usage.*` family). Absent when the model's price is unknown — unknown is not free;
 * - `liter_llm.usage.estimated`: `true` when the provider reported no usage (a stream without
 *   `stream_options.include_usage`, or one that broke off) and the token counts are estimates from the text;
 * - `deployment`: the `deployment` option; `error.type`: the error's tag on failure.
 *
 * Prompts and answers (`gen_ai.input.messages`, `gen_ai.output.messages`) are recorded only with
 * `recordContent: true`. Headers, `extra_body` and API keys are never recorded.
 *
 * Streams: the span covers the whole stream and gets a `gen_ai.first_chunk` event; the call is accounted when the
 * stream completes, fails, or is interrupted or abandoned by its consumer (then tokens are estimated from what
 * arrived, since the provider bills what it generated). `listModels` passes through untraced: it is a health
 * probe, not model work.
 *
 * Spans are made with `captureStackTrace: false`: the call site of a middleware is always this module, and capturing
 * a stack per call would cost more than everything else the middleware does.
 *
 * Cost for the caller: {@link trackCost} runs an effect and returns, beside its result, the cost of every call made
 * through a `Telemetry` middleware inside it — by that fiber or any it forks. This is scoped to the effect rather
 * than a global "last cost", which concurrent callers would overwrite.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type * as Chat from "./Chat.js"
import type * as Embedding from "./Embedding.js"
import type * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import type * as Pricing from "./Pricing.js"
import { priceBook } from "./internal/middleware/cost.js"
import * as StreamAccounting from "./internal/middleware/stream.js"
import { transform } from "./internal/middleware/wrap.js"
import * as Attributes from "./internal/telemetry/attributes.js"
import { estimatePromptTokens, estimateTokens } from "./internal/tokens.js"

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
  readonly operation: "chat" | "embeddings"
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

const secondsBoundaries = MetricBoundaries.fromIterable([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160
])

/** The keys of the metrics; the handles below are built from them, with labels baked into the key. */
const keys = {
  requests: MetricKey.counter("gen_ai.client.requests", { description: "LLM calls started", incremental: true }),
  errors: MetricKey.counter("gen_ai.client.errors", { description: "LLM calls that failed", incremental: true }),
  duration: MetricKey.histogram(
    "gen_ai.client.operation.duration",
    secondsBoundaries,
    "Duration of LLM calls in seconds (whole stream for streams)"
  ),
  timeToFirstChunk: MetricKey.histogram(
    "gen_ai.client.operation.time_to_first_chunk",
    secondsBoundaries,
    "Seconds from the start of a streamed call to its first chunk"
  ),
  tokens: MetricKey.counter("gen_ai.client.token.usage", { description: "Tokens used", incremental: true }),
  cost: MetricKey.counter("gen_ai.client.cost", { description: "Cost of LLM calls in USD", incremental: true })
} as const

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
export const metrics = {
  requests: Metric.fromMetricKey(keys.requests),
  errors: Metric.fromMetricKey(keys.errors),
  duration: Metric.fromMetricKey(keys.duration),
  timeToFirstChunk: Metric.fromMetricKey(keys.timeToFirstChunk),
  tokens: Metric.fromMetricKey(keys.tokens),
  cost: Metric.fromMetricKey(keys.cost)
} as const

// ---------------------------------------------------------------------------------------------------------------
// Cost collection
// ---------------------------------------------------------------------------------------------------------------

/**
 * The cost sinks of the enclosing {@link trackCost} calls. A `FiberRef` (not a global) so each tracked effect sees
 * only its own calls; forked fibers inherit the same sinks, so concurrent calls inside one tracked effect add up.
 */
const costSinks = FiberRef.unsafeMake<ReadonlyArray<Ref.Ref<ReadonlyArray<CallCost>>>>([])

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
    const result = yield* Effect.locallyWith(self, costSinks, (sinks) => [...sinks, sink])
    const calls = yield* Ref.get(sink)
    let totalUsd = 0
    let unpriced = 0
    for (const call of calls) {
      if (call.costUsd === undefined) unpriced++
      else totalUsd += call.costUsd
    }
    return [result, { totalUsd, calls, unpriced }] as [A, CostReport]
  })

// ---------------------------------------------------------------------------------------------------------------
// The middleware
// ---------------------------------------------------------------------------------------------------------------

type Operation = "chat" | "embeddings"

/** The metrics of one operation and model, already tagged. */
interface Handles {
  readonly requests: Metric.Metric.Counter<number>
  readonly errors: (type: string) => Metric.Metric.Counter<number>
  readonly duration: Metric.Metric.Histogram<number>
  readonly timeToFirstChunk: Metric.Metric.Histogram<number>
  readonly inputTokens: Metric.Metric.Counter<number>
  readonly outputTokens: Metric.Metric.Counter<number>
  readonly cost: Metric.Metric.Counter<number>
}

/** What the end of a call knows. */
interface Outcome {
  readonly exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>
  readonly tokens: Attributes.Tokens | undefined
  readonly estimated: boolean
  readonly responseModel: string
  /** Sets what the response tells on the span. */
  readonly annotate: ((span: Tracer.Span) => void) | undefined
}

/**
 * The fiber's context with `span` as the parent of the spans made below (an HTTP client's, a router's). What
 * `Effect.withParentSpan` does, without first running an effect to read the context: the fiber is at hand.
 */
const withParent = (fiber: Fiber.RuntimeFiber<unknown, unknown>, span: Tracer.Span): Context.Context<never> =>
  Context.add(fiber.currentContext, Tracer.ParentSpan, span)

/** The fiber's `Clock` (a `TestClock` in tests), read without running an effect. */
const clockOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Clock.Clock =>
  Context.get(fiber.currentDefaultServices, Clock.Clock)

const errorType = (cause: Cause.Cause<LiterLlmError.LiterLlmError>): string | undefined =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) => error._tag,
    onNone: () => (Cause.isInterruptedOnly(cause) ? undefined : "Defect")
  })

/**
 * Wraps a service so every chat, stream and embedding call is traced, measured and priced.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (service: LlmService.Service, options: Options = {}): LlmService.Service => {
  // Remembered per traced service: an unpriced model would otherwise scan the price data on every call.
  const prices = priceBook(undefined)
  const deployment = options.deployment ?? "default"
  const recordContent = options.recordContent ?? false
  // No stack capture: a middleware's call site is always this module, and a stack per call costs more than the rest.
  const spanOptions: Tracer.SpanOptions = { kind: "client", captureStackTrace: false }
  const annotateBase = (span: Tracer.Span) => {
    span.attribute("deployment", deployment)
    if (options.provider !== undefined) {
      span.attribute("gen_ai.provider.name", options.provider)
      span.attribute("gen_ai.system", options.provider)
    }
  }

  const labelsFor = (operation: Operation, model: string): ReadonlyArray<MetricLabel.MetricLabel> => {
    const labels = [
      MetricLabel.make("gen_ai.operation.name", operation),
      MetricLabel.make("gen_ai.request.model", model),
      MetricLabel.make("deployment", deployment)
    ]
    if (options.provider !== undefined) labels.push(MetricLabel.make("gen_ai.provider.name", options.provider))
    return labels
  }

  // Tagging a metric builds (and hashes, and formats) a new metric key: most of this middleware's cost if done per
  // call. The tagged handles are immutable, so they are kept per operation and model for this service; bounded, so a
  // caller inventing model names cannot grow it without limit.
  // One map per operation, so a lookup does not build a composite string key on every call.
  const handleCache: Record<Operation, Map<string, Handles>> = { chat: new Map(), embeddings: new Map() }
  const handlesFor = (operation: Operation, model: string): Handles => {
    const byModel = handleCache[operation]
    let found = byModel.get(model)
    if (found === undefined) {
      if (byModel.size >= 1024) byModel.clear()
      const labels = labelsFor(operation, model)
      // `Metric.taggedWithLabels` would build and look up a new key on every update; a metric made from an
      // already-labelled key resolves its registry entry once.
      const tagged = <T extends MetricKeyType.MetricKeyType<any, any>>(
        key: MetricKey.MetricKey<T>,
        extra: ReadonlyArray<MetricLabel.MetricLabel> = []
      ) => Metric.fromMetricKey(MetricKey.taggedWithLabels(key, [...labels, ...extra]))
      const errorHandles = new Map<string, Metric.Metric.Counter<number>>()
      found = {
        requests: tagged(keys.requests),
        errors: (type) => {
          let counter = errorHandles.get(type)
          if (counter === undefined) {
            counter = tagged(keys.errors, [MetricLabel.make("error.type", type)])
            errorHandles.set(type, counter)
          }
          return counter
        },
        duration: tagged(keys.duration),
        timeToFirstChunk: tagged(keys.timeToFirstChunk),
        inputTokens: tagged(keys.tokens, [MetricLabel.make("gen_ai.token.type", "input")]),
        outputTokens: tagged(keys.tokens, [MetricLabel.make("gen_ai.token.type", "output")]),
        cost: tagged(keys.cost)
      }
      byModel.set(model, found)
    }
    return found
  }

  /**
   * Records the end of a call on its span, in the metrics and in the cost sinks. Never fails. One synchronous step
   * rather than an effect per metric: this runs on every call, and the metric updates cannot fail or block. The
   * caller's metric labels (`Effect.tagMetrics`) are honoured, as `Metric.update` would.
   */
  const record = (
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    span: Tracer.Span,
    operation: Operation,
    model: string,
    startNanos: bigint,
    outcome: Outcome
  ): Effect.Effect<void> | undefined => {
    const now = clockOf(fiber).unsafeCurrentTimeNanos()
    const extra = fiber.getFiberRef(FiberRef.currentMetricLabels)
    const handles = handlesFor(operation, model)
    outcome.annotate?.(span)
    handles.requests.unsafeUpdate(1, extra)
    let interrupted = false
    if (Exit.isFailure(outcome.exit)) {
      const type = errorType(outcome.exit.cause)
      if (type === undefined) interrupted = true
      else {
        span.attribute("error.type", type)
        handles.errors(type).unsafeUpdate(1, extra)
      }
    }
    if (!interrupted) handles.duration.unsafeUpdate(Number(now - startNanos) / 1e9, extra)
    const tokens = outcome.tokens
    if (tokens === undefined) return undefined
    Attributes.tokens(span, tokens, outcome.estimated)
    handles.inputTokens.unsafeUpdate(tokens.input, extra)
    handles.outputTokens.unsafeUpdate(tokens.output, extra)
    const costUsd = Attributes.costOf(options.pricing, [model, outcome.responseModel], tokens, prices.pricing)
    if (costUsd !== undefined) {
      span.attribute("gen_ai.usage.cost", costUsd)
      handles.cost.unsafeUpdate(costUsd, extra)
    }
    const sinks = fiber.getFiberRef(costSinks)
    if (sinks.length === 0) return undefined
    const call: CallCost = {
      operation,
      model,
      deployment,
      inputTokens: tokens.input,
      outputTokens: tokens.output,
      cachedTokens: tokens.cached,
      costUsd,
      estimated: outcome.estimated
    }
    return Effect.forEach(sinks, (sink) => Ref.update(sink, (calls) => [...calls, call]), { discard: true })
  }

  /** {@link record} as an effect, for the paths that are not one fused frame (streams, the general path). */
  const account = (
    span: Tracer.Span,
    operation: Operation,
    model: string,
    startNanos: bigint,
    outcome: Outcome
  ): Effect.Effect<void> =>
    Effect.withFiberRuntime((fiber) => record(fiber, span, operation, model, startNanos, outcome) ?? Effect.void)

  const chatOutcome = (exit: Exit.Exit<Chat.ChatCompletionResponse, LiterLlmError.LiterLlmError>): Outcome => {
    if (Exit.isFailure(exit))
      return { exit, tokens: undefined, estimated: false, responseModel: "", annotate: undefined }
    const response = exit.value
    return {
      exit,
      tokens: response.usage == null ? undefined : Attributes.chatTokens(response.usage),
      estimated: false,
      responseModel: response.model,
      annotate: (span) => Attributes.chatResponse(span, response, recordContent)
    }
  }

  /**
   * Runs one traced call in a single frame: the span is made, the call runs with it as the parent, and on exit the
   * metrics are recorded, the span is ended and the parent context restored — all in the same handler.
   *
   * Why not `Effect.useSpan` + `Effect.locally` + `Effect.onExit`: that is three nested interruptible-mask frames
   * (two `onExit`, one `acquireUseRelease` inside `locally`) and ~25 runtime steps per call, about half of this
   * middleware's cost. Here: one `uninterruptibleMask`, one `withFiberRuntime`, one `matchCauseEffect`. The handler
   * runs on the same fiber, so it reads the clock, the metric labels and the cost sinks from `fiber` as they are at
   * the end of the call, as the separate effects did.
   *
   * The span is made with the tracer's own `span` method, which is what `Effect.useSpan` does under the hood. The
   * rare set-ups that need more of `useSpan`'s logic — tracing disabled, span annotations or links set on the fiber,
   * a parent that disables propagation — take the general path (`general`), so their behaviour is unchanged.
   *
   * Interruption: the span and the parent context are set inside the uninterruptible region and only the call is
   * restored to interruptible, so the handler — which puts the previous context back and ends the span — runs on
   * every exit, as `locally` and `onExit` guaranteed.
   */
  const traced = <A>(
    name: string,
    annotateRequest: (span: Tracer.Span) => void,
    call: Effect.Effect<A, LiterLlmError.LiterLlmError>,
    operation: Operation,
    model: string,
    outcomeOf: (exit: Exit.Exit<A, LiterLlmError.LiterLlmError>) => Outcome,
    general: (
      start: bigint,
      fiber: Fiber.RuntimeFiber<unknown, unknown>
    ) => Effect.Effect<A, LiterLlmError.LiterLlmError>
  ): Effect.Effect<A, LiterLlmError.LiterLlmError> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.withFiberRuntime<A, LiterLlmError.LiterLlmError>((fiber) => {
        const clock = clockOf(fiber)
        const start = clock.unsafeCurrentTimeNanos()
        const context = fiber.getFiberRef(FiberRef.currentContext)
        const parent = Context.getOption(context, Tracer.ParentSpan)
        if (
          !fiber.getFiberRef(FiberRef.currentTracerEnabled) ||
          HashMap.size(fiber.getFiberRef(FiberRef.currentTracerSpanAnnotations)) > 0 ||
          Chunk.isNonEmpty(fiber.getFiberRef(FiberRef.currentTracerSpanLinks)) ||
          (parent._tag === "Some" && Context.get(parent.value.context, Tracer.DisablePropagation))
        )
          return restore(general(start, fiber))
        const timing = fiber.getFiberRef(FiberRef.currentTracerTimingEnabled)
        const tracer = Context.get(fiber.currentDefaultServices, Tracer.Tracer)
        const span = tracer.span(name, parent, Context.empty(), [], timing ? start : 0n, "client", spanOptions)
        annotateBase(span)
        annotateRequest(span)
        const finish = (
          exit: Exit.Exit<A, LiterLlmError.LiterLlmError>
        ): Effect.Effect<A, LiterLlmError.LiterLlmError> => {
          const recorded = record(fiber, span, operation, model, start, outcomeOf(exit))
          if (span.status._tag !== "Ended") span.end(timing ? clockOf(fiber).unsafeCurrentTimeNanos() : 0n, exit)
          const restored = Effect.zipRight(FiberRef.set(FiberRef.currentContext, context), exit)
          return recorded === undefined ? restored : Effect.zipRight(recorded, restored)
        }
        // What `locally` does, without its acquire/release frame: set here, put back in `finish`.
        return Effect.zipRight(
          FiberRef.set(FiberRef.currentContext, Context.add(context, Tracer.ParentSpan, span)),
          Effect.matchCauseEffect(restore(call), {
            onFailure: (cause) => finish(Exit.failCause(cause)),
            onSuccess: (value) => finish(Exit.succeed(value))
          })
        )
      })
    )

  const chat = (request: Chat.ChatCompletionRequest) =>
    traced(
      `chat ${request.model}`,
      (span) => Attributes.chatRequest(span, request, recordContent),
      service.chat(request),
      "chat",
      request.model,
      chatOutcome,
      (start, fiber) =>
        Effect.useSpan(`chat ${request.model}`, spanOptions, (span) => {
          annotateBase(span)
          Attributes.chatRequest(span, request, recordContent)
          return service.chat(request).pipe(
            Effect.locally(FiberRef.currentContext, withParent(fiber, span)),
            Effect.onExit((exit) => account(span, "chat", request.model, start, chatOutcome(exit)))
          )
        })
    )

  const embedOutcome = (exit: Exit.Exit<Embedding.EmbeddingResponse, LiterLlmError.LiterLlmError>): Outcome => {
    const usage = Exit.isSuccess(exit) ? exit.value.usage : undefined
    return {
      exit,
      tokens: usage == null ? undefined : { input: usage.prompt_tokens, output: 0, cached: 0 },
      estimated: false,
      responseModel: Exit.isSuccess(exit) ? exit.value.model : "",
      annotate: Exit.isSuccess(exit) ? (span) => span.attribute("gen_ai.response.model", exit.value.model) : undefined
    }
  }

  const embed = (request: Embedding.EmbeddingRequest) =>
    traced(
      `embeddings ${request.model}`,
      (span) => Attributes.embedRequest(span, request, recordContent),
      service.embed(request),
      "embeddings",
      request.model,
      embedOutcome,
      (start, fiber) =>
        Effect.useSpan(`embeddings ${request.model}`, spanOptions, (span) => {
          annotateBase(span)
          Attributes.embedRequest(span, request, recordContent)
          return service.embed(request).pipe(
            Effect.locally(FiberRef.currentContext, withParent(fiber, span)),
            Effect.onExit((exit) => account(span, "embeddings", request.model, start, embedOutcome(exit)))
          )
        })
    )

  const streamOutcome = (
    request: Chat.ChatCompletionRequest,
    outcome: StreamAccounting.Outcome<LiterLlmError.LiterLlmError>
  ): Outcome => {
    const exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError> =
      outcome._tag === "Completed"
        ? Exit.void
        : outcome._tag === "Failed"
          ? Exit.fail(outcome.error)
          : Exit.interrupt(FiberId.none)
    if (outcome.chunks === 0)
      return { exit, tokens: undefined, estimated: false, responseModel: "", annotate: undefined }
    const response = outcome.assembled()
    // Without reported usage (no include_usage, or the stream broke off) the provider still billed what it
    // generated: estimate from the text that arrived rather than record nothing.
    const tokens: Attributes.Tokens =
      outcome.usage !== undefined
        ? Attributes.chatTokens(outcome.usage)
        : {
            input: estimatePromptTokens(request),
            output: response.choices.reduce(
              (sum, choice) => sum + (choice.message.content == null ? 0 : estimateTokens(choice.message.content)),
              0
            ),
            cached: 0
          }
    return {
      exit,
      tokens,
      estimated: outcome.usage === undefined,
      responseModel: response.model,
      annotate: (span) => Attributes.chatResponse(span, response, recordContent)
    }
  }

  const chatStream = (request: Chat.ChatCompletionRequest) =>
    StreamAccounting.accountStream(
      Effect.zip(
        Clock.currentTimeNanos,
        Effect.map(Effect.makeSpan(`chat ${request.model}`, spanOptions), (span) => {
          annotateBase(span)
          Attributes.chatRequest(span, request, recordContent)
          span.attribute("gen_ai.request.stream", true)
          return span
        })
      ),
      ([start, span]) => {
        let first = true
        const firstChunk = Effect.flatMap(Clock.currentTimeNanos, (now) => {
          span.event("gen_ai.first_chunk", now)
          return Metric.update(handlesFor("chat", request.model).timeToFirstChunk, Number(now - start) / 1e9)
        })
        return service.chatStream(request).pipe(
          Stream.tap(() => {
            if (!first) return Effect.void
            first = false
            return firstChunk
          }),
          Stream.provideService(Tracer.ParentSpan, span)
        )
      },
      ([start, span], outcome) => {
        const accounted = streamOutcome(request, outcome)
        return Effect.zipRight(
          account(span, "chat", request.model, start, accounted),
          Effect.flatMap(Clock.currentTimeNanos, (end) => Effect.sync(() => span.end(end, accounted.exit)))
        )
      }
    )

  return { chat, chatStream, embed, listModels: service.listModels }
}

/**
 * Traces, measures and prices the `LlmService` below it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<LlmService.LlmService, never, LlmService.LlmService> =>
  transform((service) => Effect.succeed(make(service, options)))
