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
import { costSinks, metrics } from "../telemetry/metrics.js"
import { estimatePromptTokens, estimateTokens } from "../tokens.js"
import { priceBook } from "./cost.js"
import * as StreamSettle from "./stream.js"

type Operation = "chat" | "embeddings"

/** What the end of a call tells. */
interface Outcome {
  readonly exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>
  readonly tokens: Attributes.Tokens | undefined
  readonly estimated: boolean
  readonly responseModel: string
  readonly annotate: (span: Tracer.Span) => void
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
  // No stack capture: a middleware's call site is always this module, and a stack per call costs more than the rest.
  const spanOptions = (attributes: Record<string, unknown>): Tracer.SpanOptions => ({
    kind: "client",
    captureStackTrace: false,
    attributes: { ...base, ...attributes }
  })

  const labelsFor = (operation: Operation, model: string, extra: ReadonlyArray<[string, string]> = []) => {
    const labels = [
      MetricLabel.make("gen_ai.operation.name", operation),
      MetricLabel.make("gen_ai.request.model", model),
      MetricLabel.make("deployment", deployment)
    ]
    if (options.provider !== undefined) labels.push(MetricLabel.make("gen_ai.provider.name", options.provider))
    return [...labels, ...extra.map(([key, value]) => MetricLabel.make(key, value))]
  }
  const update = <In>(
    metric: Metric.Metric<any, In, any>,
    value: In,
    operation: Operation,
    model: string,
    extra?: ReadonlyArray<[string, string]>
  ) => Metric.update(Metric.taggedWithLabels(metric, labelsFor(operation, model, extra)), value)

  /** Records the end of a call on its span, in the metrics and in the cost sinks of `Telemetry.trackCost`. */
  const record = (span: Tracer.Span, operation: Operation, model: string, start: bigint, outcome: Outcome) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeNanos
      outcome.annotate(span)
      yield* update(metrics.requests, 1, operation, model)
      const type = Exit.isFailure(outcome.exit) ? errorType(outcome.exit.cause) : undefined
      if (type !== undefined) {
        span.attribute("error.type", type)
        yield* update(metrics.errors, 1, operation, model, [["error.type", type]])
      }
      // An interrupted call counts as a request, but neither as an error nor in the durations.
      const interrupted = Exit.isFailure(outcome.exit) && type === undefined
      if (!interrupted) yield* update(metrics.duration, Number(now - start) / 1e9, operation, model)
      const tokens = outcome.tokens
      if (tokens === undefined) return
      Attributes.tokens(span, tokens, outcome.estimated)
      yield* update(metrics.tokens, tokens.input, operation, model, [["gen_ai.token.type", "input"]])
      yield* update(metrics.tokens, tokens.output, operation, model, [["gen_ai.token.type", "output"]])
      const costUsd = Attributes.costOf(options.pricing, [model, outcome.responseModel], tokens, prices.pricing)
      if (costUsd !== undefined) {
        span.attribute("gen_ai.usage.cost", costUsd)
        yield* update(metrics.cost, costUsd, operation, model)
      }
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
      const sinks = yield* FiberRef.get(costSinks)
      yield* Effect.forEach(sinks, (sink) => Ref.update(sink, (calls) => [...calls, call]), { discard: true })
    })

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

  // Suspended: the attributes read the request, which an untyped caller may have built wrong; a throw there is a
  // defect of this call, never an exception out of `chat`.
  const chat = (request: Chat.ChatCompletionRequest) =>
    Effect.suspend(() =>
      Effect.useSpan(
        `chat ${request.model}`,
        spanOptions(collect((target) => Attributes.chatRequest(target, request, recordContent))),
        (span) =>
          Effect.flatMap(Clock.currentTimeNanos, (start) =>
            below.chat(request).pipe(
              Effect.withParentSpan(span),
              Effect.onExit((exit) => record(span, "chat", request.model, start, chatOutcome(exit)))
            )
          )
      )
    )

  const embed = (request: Embedding.EmbeddingRequest) =>
    Effect.suspend(() =>
      Effect.useSpan(
        `embeddings ${request.model}`,
        spanOptions(collect((target) => Attributes.embedRequest(target, request, recordContent))),
        (span) =>
          Effect.flatMap(Clock.currentTimeNanos, (start) =>
            below.embed(request).pipe(
              Effect.withParentSpan(span),
              Effect.onExit((exit) => record(span, "embeddings", request.model, start, embedOutcome(exit)))
            )
          )
      )
    )

  // The stream's span is made by `Stream.withSpan`, which ends it with the stream; inside, it is the current span,
  // and the stream is accounted on it (first chunk, usage, cost) before it ends.
  const chatStream = (request: Chat.ChatCompletionRequest) =>
    Stream.suspend(() =>
      StreamSettle.settle(
        Effect.all([Clock.currentTimeNanos, Effect.orDie(Effect.currentSpan), Ref.make(false)]),
        ([start, span, seen]) =>
          below.chatStream(request).pipe(
            Stream.tap(() =>
              Effect.whenEffect(
                Effect.flatMap(Clock.currentTimeNanos, (now) =>
                  Effect.zipRight(
                    Effect.sync(() => span.event("gen_ai.first_chunk", now)),
                    update(metrics.timeToFirstChunk, Number(now - start) / 1e9, "chat", request.model)
                  )
                ),
                Ref.getAndSet(seen, true).pipe(Effect.map((already) => !already))
              )
            )
          ),
        ([start, span], outcome) => record(span, "chat", request.model, start, streamOutcome(span, request, outcome))
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

  const service: LlmService.Service = { ...below, chat, embed, chatStream }
  return service
}
