/**
 * Telemetry around the calls of a service (see `Telemetry.ts` for what a span and the metrics record). Spans come
 * from `Effect.useSpan` and `Stream.withSpan`: the caller's span is their parent, they are the parent of whatever
 * runs below, and they end on every exit, interruption included.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import type * as Telemetry from "../../Telemetry.js"
import * as Attributes from "../telemetry/attributes.js"
import { costSinks, keys } from "../telemetry/metrics.js"
import { estimatePromptTokens, estimateTokens } from "../tokens.js"
import { priceBook } from "./cost.js"
import * as Ops from "./ops.js"
import * as StreamSettle from "./stream.js"

/** Operation names as OpenTelemetry's GenAI conventions spell them (`chat`, `embeddings`), and ours for the rest. */
type Operation = "chat" | "embeddings" | "image" | "speech" | "transcription" | "moderation" | "rerank"

const opNames: Record<Ops.Name, Operation> = {
  image: "image",
  speech: "speech",
  transcribe: "transcription",
  moderate: "moderation",
  rerank: "rerank"
}

/** The metrics of one operation and model, already labelled. */
interface Handles {
  readonly requests: Metric.Metric.Counter<number>
  readonly errors: (type: string) => Metric.Metric.Counter<number>
  readonly duration: Metric.Metric.Histogram<number>
  readonly timeToFirstChunk: Metric.Metric.Histogram<number>
  readonly inputTokens: Metric.Metric.Counter<number>
  readonly outputTokens: Metric.Metric.Counter<number>
  readonly cost: Metric.Metric.Counter<number>
}

/** What the end of a call tells. */
interface Outcome {
  readonly exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>
  readonly tokens: Attributes.Tokens | undefined
  readonly estimated: boolean
  readonly responseModel: string
  readonly annotate: (span: Tracer.Span) => void
  /** The cost where the price data gives it other than by tokens (a transcription's hours of audio). */
  readonly costUsd?: number | undefined
}

const nothing = () => {}

/** The error type to record: the tag of a typed failure, `Defect` for a defect, none for an interruption. */
const errorType = (cause: Cause.Cause<LiterLlmError.LiterLlmError>): string | undefined =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) => error._tag,
    onNone: () => (Cause.isInterruptedOnly(cause) ? undefined : "Defect")
  })

/** Attributes set through `Attributes`' setters, collected into a record for span options. */
const collect = (set: (target: Attributes.Target) => void): Record<string, unknown> => {
  const attributes: Record<string, unknown> = {}
  set({ attribute: (key, value) => (attributes[key] = value) })
  return attributes
}

/** Traces, measures and prices every chat, stream and embedding call of `below`. */
export const make = (options: Telemetry.Options) => (below: LlmService.Service) => {
  // Remembered per traced service: an unpriced model would otherwise scan the price data on every call.
  const prices = priceBook(undefined)
  const deployment = options.deployment ?? "default"
  const recordContent = options.recordContent ?? false
  const base: Record<string, unknown> = { deployment }
  if (options.provider !== undefined) {
    base["gen_ai.provider.name"] = options.provider
    base["gen_ai.system"] = options.provider
  }
  const baseEntries = Object.entries(base)
  // No stack capture: a middleware's call site is always this module, and a stack per call costs more than the rest.
  const spanOptions = (attributes: Record<string, unknown>): Tracer.SpanOptions => ({
    kind: "client",
    captureStackTrace: false,
    attributes: { ...base, ...attributes }
  })
  // For calls: the same options, made once. Their attributes are set on the span itself (no record built and copied
  // per call), inside the span's effect, so a request an untyped caller built wrong still ends the span.
  const callSpanOptions: Tracer.SpanOptions = { kind: "client", captureStackTrace: false }
  const annotateBase = (span: Tracer.Span) => {
    for (const [key, value] of baseEntries) span.attribute(key, value)
  }

  /**
   * The metrics of one operation and model, their labels in the key. Tagging per update would build and look up a
   * new metric key each time (most of this middleware's cost); a metric made from a labelled key resolves its
   * registry entry once. Remembered per built layer, bounded, since model names come from requests.
   */
  const handles = new Map<string, Handles>()
  const handlesFor = (operation: Operation, model: string): Handles => {
    const id = `${operation} ${model}`
    const found = handles.get(id)
    if (found !== undefined) return found
    const labels = [
      MetricLabel.make("gen_ai.operation.name", operation),
      MetricLabel.make("gen_ai.request.model", model),
      MetricLabel.make("deployment", deployment)
    ]
    if (options.provider !== undefined) labels.push(MetricLabel.make("gen_ai.provider.name", options.provider))
    const tagged = <T extends MetricKeyType.MetricKeyType<any, any>>(
      key: MetricKey.MetricKey<T>,
      ...extra: Array<[string, string]>
    ) =>
      Metric.fromMetricKey(
        MetricKey.taggedWithLabels(key, [...labels, ...extra.map(([k, v]) => MetricLabel.make(k, v))])
      )
    const errors = new Map<string, Metric.Metric.Counter<number>>()
    const made: Handles = {
      requests: tagged(keys.requests),
      errors: (type) => {
        const counter = errors.get(type) ?? tagged(keys.errors, ["error.type", type])
        errors.set(type, counter)
        return counter
      },
      duration: tagged(keys.duration),
      timeToFirstChunk: tagged(keys.timeToFirstChunk),
      inputTokens: tagged(keys.tokens, ["gen_ai.token.type", "input"]),
      outputTokens: tagged(keys.tokens, ["gen_ai.token.type", "output"]),
      cost: tagged(keys.cost)
    }
    if (handles.size >= 1024) handles.clear()
    handles.set(id, made)
    return made
  }

  /**
   * Records the end of a call on its span, in the metrics and in the cost sinks of `Telemetry.trackCost`. One clock
   * read and one step for all metric updates (with the fiber's metric labels, as `Metric.update` would use): this
   * runs on every call, and each separate effect costs more than the update it carries.
   */
  const record = (span: Tracer.Span, operation: Operation, model: string, start: bigint, outcome: Outcome) =>
    Effect.clockWith((clock) =>
      FiberRef.getWith(FiberRef.currentMetricLabels, (labels) => {
        const now = clock.unsafeCurrentTimeNanos()
        outcome.annotate(span)
        const metrics = handlesFor(operation, model)
        metrics.requests.unsafeUpdate(1, labels)
        const type = Exit.isFailure(outcome.exit) ? errorType(outcome.exit.cause) : undefined
        if (type !== undefined) {
          span.attribute("error.type", type)
          metrics.errors(type).unsafeUpdate(1, labels)
        }
        // An interrupted call counts as a request, but neither as an error nor in the durations.
        const interrupted = Exit.isFailure(outcome.exit) && type === undefined
        if (!interrupted) metrics.duration.unsafeUpdate(Number(now - start) / 1e9, labels)
        const tokens = outcome.tokens
        if (tokens === undefined && outcome.costUsd === undefined) return Effect.void
        if (tokens !== undefined) {
          Attributes.tokens(span, tokens, outcome.estimated)
          metrics.inputTokens.unsafeUpdate(tokens.input, labels)
          metrics.outputTokens.unsafeUpdate(tokens.output, labels)
        }
        const costUsd =
          outcome.costUsd ??
          (tokens === undefined
            ? undefined
            : Attributes.costOf(options.pricing, [model, outcome.responseModel], tokens, prices.pricing))
        if (costUsd !== undefined) {
          span.attribute("gen_ai.usage.cost", costUsd)
          metrics.cost.unsafeUpdate(costUsd, labels)
        }
        const call: Telemetry.CallCost = {
          operation,
          model,
          deployment,
          inputTokens: tokens?.input ?? 0,
          outputTokens: tokens?.output ?? 0,
          cachedTokens: tokens?.cached ?? 0,
          costUsd,
          estimated: outcome.estimated
        }
        return FiberRef.getWith(costSinks, (sinks) =>
          sinks.length === 0
            ? Effect.void
            : Effect.forEach(sinks, (sink) => Ref.update(sink, (calls) => [...calls, call]), { discard: true })
        )
      })
    )

  const chatOutcome = (exit: Exit.Exit<Chat.ChatCompletionResponse, LiterLlmError.LiterLlmError>): Outcome =>
    Exit.match(exit, {
      onFailure: () => ({ exit, tokens: undefined, estimated: false, responseModel: "", annotate: nothing }),
      onSuccess: (response) => ({
        exit,
        tokens: response.usage == null ? undefined : Attributes.chatTokens(response.usage),
        estimated: false,
        responseModel: response.model,
        annotate: (span) => Attributes.chatResponse(span, response, recordContent)
      })
    })

  const embedOutcome = (exit: Exit.Exit<Embedding.EmbeddingResponse, LiterLlmError.LiterLlmError>): Outcome =>
    Exit.match(exit, {
      onFailure: () => ({ exit, tokens: undefined, estimated: false, responseModel: "", annotate: nothing }),
      onSuccess: (response) => ({
        exit,
        tokens: response.usage == null ? undefined : { input: response.usage.prompt_tokens, output: 0, cached: 0 },
        estimated: false,
        responseModel: response.model,
        annotate: (span) => span.attribute("gen_ai.response.model", response.model)
      })
    })

  /**
   * Without reported usage (no include_usage, or the stream broke off) the provider still billed what it generated:
   * estimate from the text that arrived — unless a cache below marked the span as a hit (a replay the provider
   * never saw costs nothing).
   */
  const streamOutcome = (
    span: Tracer.Span,
    request: Chat.ChatCompletionRequest,
    outcome: StreamSettle.Outcome<LiterLlmError.LiterLlmError>
  ): Outcome => {
    const exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError> =
      outcome._tag === "Completed"
        ? Exit.void
        : outcome._tag === "Failed"
          ? Exit.fail(outcome.error)
          : Exit.interrupt(FiberId.none)
    if (outcome.chunks.length === 0)
      return { exit, tokens: undefined, estimated: false, responseModel: "", annotate: nothing }
    const response = StreamSettle.assembled(outcome)
    const usage = StreamSettle.usageOf(outcome)
    const hit = span.attributes.get("liter_llm.cache.hit") === true
    const output = response.choices.reduce(
      (sum, choice) => sum + (choice.message.content == null ? 0 : estimateTokens(choice.message.content)),
      0
    )
    const tokens: Attributes.Tokens =
      usage !== undefined
        ? Attributes.chatTokens(usage)
        : hit
          ? { input: 0, output: 0, cached: 0 }
          : { input: estimatePromptTokens(request), output, cached: 0 }
    return {
      exit,
      tokens,
      estimated: usage === undefined && !hit,
      responseModel: response.model,
      annotate: (span) => Attributes.chatResponse(span, response, recordContent)
    }
  }

  /**
   * Runs `call` in a client span that is the parent of whatever runs below, and records its end on the span. The
   * request's attributes are set inside the span's effect: reading a request an untyped caller built wrong may throw,
   * and the throw is then a defect of this call, recorded on a span that still ends.
   */
  const traced = <A>(
    operation: Operation,
    model: string,
    annotate: (span: Tracer.Span) => void,
    call: Effect.Effect<A, LiterLlmError.LiterLlmError>,
    outcomeOf: (exit: Exit.Exit<A, LiterLlmError.LiterLlmError>) => Outcome
  ) =>
    Effect.useSpan(`${operation} ${model}`, callSpanOptions, (span) =>
      Effect.clockWith((clock) => {
        const start = clock.unsafeCurrentTimeNanos()
        return Effect.suspend(() => {
          annotateBase(span)
          annotate(span)
          return Effect.withParentSpan(call, span)
        }).pipe(Effect.onExit((exit) => record(span, operation, model, start, outcomeOf(exit))))
      })
    )

  // Suspended: the span's name reads the request, which an untyped caller may have built wrong; a throw there is a
  // defect of this call, never an exception out of `chat`.
  const chat = (request: Chat.ChatCompletionRequest) =>
    Effect.suspend(() =>
      traced(
        "chat",
        request.model,
        (span) => Attributes.chatRequest(span, request, recordContent),
        below.chat(request),
        chatOutcome
      )
    )

  const embed = (request: Embedding.EmbeddingRequest) =>
    Effect.suspend(() =>
      traced(
        "embeddings",
        request.model,
        (span) => Attributes.embedRequest(span, request, recordContent),
        below.embed(request),
        embedOutcome
      )
    )

  // The stream's span is made by `Stream.withSpan`, which ends it with the stream; inside, it is the current span,
  // and the stream is accounted on it (first chunk, usage, cost) before it ends.
  const chatStream = (request: Chat.ChatCompletionRequest) =>
    Stream.suspend(() =>
      StreamSettle.settle(
        Effect.all([Clock.currentTimeNanos, Effect.orDie(Effect.currentSpan), Ref.make(false)]),
        () => below.chatStream(request),
        ([start, span], outcome) => record(span, "chat", request.model, start, streamOutcome(span, request, outcome)),
        // the first chunk's time, checked in the step that records each chunk rather than in a stream layer of its own
        ([start, span, seen]) =>
          Effect.whenEffect(
            Effect.flatMap(Clock.currentTimeNanos, (now) =>
              Effect.zipRight(
                Effect.sync(() => span.event("gen_ai.first_chunk", now)),
                Metric.update(handlesFor("chat", request.model).timeToFirstChunk, Number(now - start) / 1e9)
              )
            ),
            Ref.getAndSet(seen, true).pipe(Effect.map((already) => !already))
          )
      ).pipe(
        Stream.withSpan(
          `chat ${request.model}`,
          spanOptions({
            ...collect((target) => Attributes.chatRequest(target, request, recordContent)),
            "gen_ai.request.stream": true
          })
        )
      )
    )

  // The other operations: a span and metrics per call, tokens where the answer reports them, a transcription's cost
  // by its hours of audio (speech is traced until its audio starts; its bytes stream on outside the span).
  const others = Ops.wrapAll(
    below,
    (name, spec, call) => (request) =>
      Effect.suspend(() =>
        traced(
          opNames[name],
          request.model,
          (span) => {
            span.attribute("gen_ai.operation.name", opNames[name])
            span.attribute("gen_ai.request.model", request.model)
          },
          call(request),
          (exit) =>
            Exit.match(exit, {
              onFailure: () => ({ exit, tokens: undefined, estimated: false, responseModel: "", annotate: nothing }),
              onSuccess: (response) => {
                const reported = spec.reported(response)
                return {
                  exit,
                  tokens: reported === undefined ? undefined : { ...reported, cached: 0 },
                  estimated: false,
                  responseModel: request.model,
                  annotate: nothing,
                  // priced as Budget prices it: by the hour of audio where the price data does so, else by tokens
                  costUsd: spec.cost?.(request.model, response)
                }
              }
            })
        )
      )
  )

  const service: LlmService.Service = { ...below, ...others, chat, embed, chatStream }
  return service
}
