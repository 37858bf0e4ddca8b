/**
 * Telemetry as a pipeline piece (see `Telemetry.ts` for what a span and the metrics record). Outermost in the
 * managed client, so its span covers everything the caller waited for, refusals included.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as Hash from "effect/Hash"
import * as HashMap from "effect/HashMap"
import * as Metric from "effect/Metric"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import type * as Telemetry from "../../Telemetry.js"
import * as Attributes from "../telemetry/attributes.js"
import { costSinks, keys } from "../telemetry/metrics.js"
import { estimatePromptTokens, estimateTokens } from "../tokens.js"
import { priceBook } from "./cost.js"
import { Await, type Call, clockOf, defaultService, type Piece } from "./pipeline.js"
import * as StreamAccounting from "./stream.js"

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

const errorType = (cause: Cause.Cause<LiterLlmError.LiterLlmError>): string | undefined =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) => error._tag,
    onNone: () => (Cause.isInterruptedOnly(cause) ? undefined : "Defect")
  })

/**
 * What this module uses of the fiber runtime beyond the public `RuntimeFiber` interface, looked up rather than
 * assumed: a version of Effect without them only costs speed (each use falls back to the public effect).
 * - `setFiberRef`: what `FiberRef.set` calls, without running an effect (two effects per call were a fifth of this
 *   piece's cost);
 * - `_fiberRefs` and `setFiberRefs`: the fiber's refs object and its wholesale replacement, to put the caller's
 *   context back by handing back the refs object from before the span was set (see `restoreContext`).
 */
interface RuntimeInternals {
  readonly setFiberRef?: (ref: FiberRef.FiberRef<any>, value: unknown) => void
  readonly setFiberRefs?: (refs: unknown) => void
  readonly _fiberRefs?: unknown
}

/**
 * The prototype of the contexts made by {@link withParent}: Effect's own, with a hash that is computed rather than
 * memoised. Effect hashes a context by its size and memoises that with `Object.defineProperty` on the context; setting
 * a context compares it with the current one, which hashes it, and for a context used by one call only, the
 * memoising cost more than anything else in setting it. The value is the same as Effect's, so `Equal` and `Hash` agree
 * with every other context.
 */
const contextProto: object = (() => {
  const proto = Object.create(Object.getPrototypeOf(Context.empty()))
  proto[Hash.symbol] = function (this: Context.Context<never>) {
    return Hash.number(this.unsafeMap.size)
  }
  return proto
})()

/**
 * `Context.add(context, Tracer.ParentSpan, span)`, made as Effect makes a context (an object holding `unsafeMap`, the
 * services by tag key), on {@link contextProto}. Checked once against `Context.add`: should a version of Effect build
 * contexts differently, `Context.add` is used.
 */
const contextShortcut = (() => {
  const viaAdd = (context: Context.Context<never>, span: Tracer.AnySpan): Context.Context<never> =>
    Context.add(context, Tracer.ParentSpan, span)
  const direct = (context: Context.Context<never>, span: Tracer.AnySpan): Context.Context<never> => {
    // A `for…of` copy: a third faster here than `new Map(map)`.
    const services = new Map<string, unknown>()
    for (const [key, service] of context.unsafeMap) services.set(key, service)
    services.set(Tracer.ParentSpan.key, span)
    const made = Object.create(contextProto)
    made.unsafeMap = services
    return made
  }
  const probe = Tracer.externalSpan({ spanId: "probe", traceId: "probe" })
  const made = direct(Context.empty(), probe)
  const works =
    Context.isContext(made) &&
    Option.contains(Context.getOption(made, Tracer.ParentSpan), probe as Tracer.AnySpan) &&
    Equal.equals(made, viaAdd(Context.empty(), probe))
  return { withParent: works ? direct : viaAdd, direct: works }
})()
const withParent = contextShortcut.withParent

/**
 * Which of the shortcuts through Effect's internals this module takes on `fiber`: each falls back to the public API
 * when the internals are not what it expects, which keeps every result but costs speed. A test asserts they are all
 * on with the Effect version the project pins, so an upgrade that turns one off fails there rather than quietly
 * slowing every call.
 */
export const shortcuts = (fiber: Fiber.RuntimeFiber<unknown, unknown>) => {
  const runtime = fiber as unknown as RuntimeInternals
  return {
    setFiberRef: typeof runtime.setFiberRef === "function",
    restoreRefs: runtime._fiberRefs !== undefined && typeof runtime.setFiberRefs === "function",
    contextPrototype: contextShortcut.direct
  }
}

/** Sets the fiber's context in place, as `FiberRef.set` does; or returns the effect that does it. */
const setContext = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  context: Context.Context<never>
): Effect.Effect<void> | undefined => {
  const runtime = fiber as unknown as RuntimeInternals
  if (typeof runtime.setFiberRef !== "function") return FiberRef.set(FiberRef.currentContext, context)
  runtime.setFiberRef(FiberRef.currentContext, context)
  return undefined
}

/** The nearest parent span that lets spans below it record (as `Effect.makeSpan` looks for one). */
const visibleParent = (parent: Option.Option<Tracer.AnySpan>): Option.Option<Tracer.AnySpan> => {
  while (parent._tag === "Some" && Context.get(parent.value.context, Tracer.DisablePropagation)) {
    if (parent.value._tag !== "Span") return Option.none()
    parent = parent.value.parent
  }
  return parent
}

/** A span that records nothing and, through its context, tells the spans made below it to record nothing either. */
const unrecorded = (name: string, parent: Option.Option<Tracer.AnySpan>): Tracer.Span => ({
  _tag: "Span",
  name,
  spanId: "noop",
  traceId: "noop",
  sampled: false,
  parent,
  context: Context.make(Tracer.DisablePropagation, true),
  status: { _tag: "Ended", startTime: 0n, endTime: 0n, exit: Exit.void },
  attributes: new Map(),
  links: [],
  kind: "client",
  attribute() {},
  event() {},
  end() {},
  addLinks() {}
})

export const make = (options: Telemetry.Options = {}): Piece => {
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
    const call: Telemetry.CallCost = {
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

  /** {@link record} as an effect, for streams (which are accounted when they end, not in a pipeline's frame). */
  const account = (
    span: Tracer.Span,
    operation: Operation,
    model: string,
    startNanos: bigint,
    outcome: Outcome
  ): Effect.Effect<void> =>
    Effect.withFiberRuntime((fiber) => record(fiber, span, operation, model, startNanos, outcome) ?? Effect.void)

  /** What a call keeps between entering and leaving: its span, its start, and the context to put back. */
  interface Traced {
    readonly span: Tracer.Span
    readonly start: bigint
    readonly context: Context.Context<never>
    readonly timing: boolean
    /** The fiber's refs object before and after the span was set, when the runtime shows them (see `restoreContext`). */
    readonly refsBefore: unknown
    readonly refsAfter: unknown
  }

  /**
   * Puts the caller's context back. When the fiber's refs are still the very object that setting the span made —
   * nothing below changed a fiber ref — handing back the object from before gives the same values as setting the
   * context again, without what a set costs: a copy of the refs and a structural comparison of the two contexts,
   * which hashes the new one (together half of this piece's context handling). Otherwise, a set.
   */
  const restoreContext = (fiber: Fiber.RuntimeFiber<unknown, unknown>, traced: Traced) => {
    const runtime = fiber as unknown as RuntimeInternals
    if (
      traced.refsBefore !== undefined &&
      runtime._fiberRefs === traced.refsAfter &&
      typeof runtime.setFiberRefs === "function"
    ) {
      runtime.setFiberRefs(traced.refsBefore)
      return undefined
    }
    return setContext(fiber, traced.context)
  }

  /**
   * Starts the span of a call and makes it the parent of whatever runs below (an HTTP client's span, a router's), by
   * setting it in the fiber's context — what `Effect.useSpan` with `Effect.withParentSpan` do, without their
   * acquire/release frames: set here, put back when the call leaves (see `setContext`). The
   * span is made as `Effect.makeSpan` makes one: through the fiber's tracer, with the fiber's span annotations and links; when tracing is disabled, or
   * the parent disables propagation, it is a span that records nothing and tells the spans below to record nothing.
   */
  const begin = <Req, A>(
    call: Call<Req, A>,
    name: string,
    annotateRequest: (span: Tracer.Span, request: Req) => void
  ): Traced | Await<Traced, A> => {
    const fiber = call.fiber
    const start = clockOf(fiber).unsafeCurrentTimeNanos()
    const context = fiber.getFiberRef(FiberRef.currentContext)
    const parent = visibleParent(
      Option.fromNullable(context.unsafeMap.get(Tracer.ParentSpan.key) as Tracer.AnySpan | undefined)
    )
    const timing = fiber.getFiberRef(FiberRef.currentTracerTimingEnabled)
    let span: Tracer.Span
    if (!fiber.getFiberRef(FiberRef.currentTracerEnabled)) span = unrecorded(name, parent)
    else {
      const tracer = defaultService(fiber, Tracer.Tracer)
      const links = fiber.getFiberRef(FiberRef.currentTracerSpanLinks)
      span = tracer.span(
        name,
        parent,
        Context.empty(),
        Chunk.isEmpty(links) ? [] : Chunk.toReadonlyArray(links),
        timing ? start : 0n,
        "client",
        spanOptions
      )
      const annotations = fiber.getFiberRef(FiberRef.currentTracerSpanAnnotations)
      if (HashMap.size(annotations) > 0) HashMap.forEach(annotations, (value, key) => span.attribute(key, value))
      annotateBase(span)
      annotateRequest(span, call.request)
    }
    const refsBefore = (fiber as unknown as RuntimeInternals)._fiberRefs
    const set = setContext(fiber, withParent(context, span))
    if (set !== undefined)
      return new Await(Effect.as(set, { span, start, context, timing, refsBefore: undefined, refsAfter: undefined }))
    const refsAfter = (fiber as unknown as RuntimeInternals)._fiberRefs
    return { span, start, context, timing, refsBefore, refsAfter }
  }

  /** Records the end of a call, ends its span and puts the caller's context back, all in the same step. */
  const end = <Req, A>(
    call: Call<Req, A>,
    traced: Traced,
    operation: Operation,
    model: string,
    exit: Exit.Exit<A, LiterLlmError.LiterLlmError>,
    outcome: Outcome
  ): Effect.Effect<A, LiterLlmError.LiterLlmError> | undefined => {
    const fiber = call.fiber
    const { span, start, timing } = traced
    const recorded = record(fiber, span, operation, model, start, outcome)
    if (span.status._tag !== "Ended") span.end(timing ? clockOf(fiber).unsafeCurrentTimeNanos() : 0n, exit)
    const restored = restoreContext(fiber, traced)
    if (restored === undefined) return recorded === undefined ? undefined : Effect.zipRight(recorded, exit)
    return Effect.zipRight(recorded === undefined ? restored : Effect.zipRight(recorded, restored), exit)
  }

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

  const streamOutcome = (
    request: Chat.ChatCompletionRequest,
    outcome: StreamAccounting.Outcome<LiterLlmError.LiterLlmError>,
    hit: boolean
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
    // generated: estimate from the text that arrived rather than record nothing — unless the stream was a replay
    // from a cache (which set the stream's hit mark), which the provider never saw.
    const tokens: Attributes.Tokens =
      outcome.usage !== undefined
        ? Attributes.chatTokens(outcome.usage)
        : hit
          ? { input: 0, output: 0, cached: 0 }
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
      estimated: outcome.usage === undefined && !hit,
      responseModel: response.model,
      annotate: (span) => Attributes.chatResponse(span, response, recordContent)
    }
  }

  const chatStream = (below: LlmService.Service["chatStream"]) => (request: Chat.ChatCompletionRequest) =>
    StreamAccounting.accountStream(
      Effect.zipWith(
        Clock.currentTimeNanos,
        Effect.map(Effect.makeSpan(`chat ${request.model}`, spanOptions), (span) => {
          annotateBase(span)
          Attributes.chatRequest(span, request, recordContent)
          span.attribute("gen_ai.request.stream", true)
          return span
        }),
        (start, span) => ({ start, span })
      ),
      ({ span, start }) => {
        let first = true
        const firstChunk = Effect.flatMap(Clock.currentTimeNanos, (now) => {
          span.event("gen_ai.first_chunk", now)
          return Metric.update(handlesFor("chat", request.model).timeToFirstChunk, Number(now - start) / 1e9)
        })
        return below(request).pipe(
          Stream.tap(() => {
            if (!first) return Effect.void
            first = false
            return firstChunk
          }),
          Stream.provideService(Tracer.ParentSpan, span)
        )
      },
      ({ span, start }, outcome) => {
        // A cache below marks a replay by zero usage from its first chunk, so `hit` needs no channel of its own.
        const accounted = streamOutcome(request, outcome, false)
        return Effect.zipRight(
          account(span, "chat", request.model, start, accounted),
          Effect.flatMap(Clock.currentTimeNanos, (end) => Effect.sync(() => span.end(end, accounted.exit)))
        )
      }
    )

  // The request's attributes, by functions made once rather than a closure per call.
  const annotateChat = (span: Tracer.Span, request: Chat.ChatCompletionRequest) =>
    Attributes.chatRequest(span, request, recordContent)
  const annotateEmbed = (span: Tracer.Span, request: Embedding.EmbeddingRequest) =>
    Attributes.embedRequest(span, request, recordContent)

  return {
    chat: {
      enter: (call) => begin(call, `chat ${call.request.model}`, annotateChat),
      leave: (call, traced: Traced, exit) => end(call, traced, "chat", call.request.model, exit, chatOutcome(exit))
    },
    embed: {
      enter: (call) => begin(call, `embeddings ${call.request.model}`, annotateEmbed),
      leave: (call, traced: Traced, exit) =>
        end(call, traced, "embeddings", call.request.model, exit, embedOutcome(exit))
    },
    chatStream
  }
}
