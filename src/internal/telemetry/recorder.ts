/**
 * How `Telemetry` records the end of a call: on its span, in the metrics and in the cost sinks of
 * `Telemetry.trackCost`. Apart from the middleware, which decides where spans begin and end, so each file reads as one
 * idea: the middleware says what is traced, this says what an ended call leaves behind. Its state (the labelled
 * metric handles, the remembered prices) belongs to one built layer.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Tracer from "effect/Tracer"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type * as Telemetry from "../../Telemetry.js"
import { priceBook } from "../middleware/cost.js"
import * as Attributes from "./attributes.js"
import { costSinks, keys } from "./metrics.js"

/** Operation names as OpenTelemetry's GenAI conventions spell them (`chat`, `embeddings`), and ours for the rest. */
export type Operation = "chat" | "embeddings" | "image" | "speech" | "transcription" | "moderation" | "rerank"

/** What the end of a call tells. */
export interface Outcome {
  readonly exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>
  readonly tokens: Attributes.Tokens | undefined
  readonly estimated: boolean
  readonly responseModel: string
  readonly annotate: (span: Tracer.Span) => void
  /** The cost where the price data gives it other than by tokens (a transcription's hours of audio). */
  readonly costUsd?: number | undefined
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

/** The error type to record: the tag of a typed failure, `Defect` for a defect, none for an interruption. */
const errorType = (cause: Cause.Cause<LiterLlmError.LiterLlmError>): string | undefined =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) => error._tag,
    onNone: () => (Cause.isInterruptedOnly(cause) ? undefined : "Defect")
  })

/** The recorder of one built `Telemetry` layer. */
export const make = (options: Telemetry.Options) => {
  // Remembered per traced service: an unpriced model would otherwise scan the price data on every call.
  const prices = priceBook(undefined)
  const deployment = options.deployment ?? "default"

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

  return { deployment, handlesFor, record }
}
