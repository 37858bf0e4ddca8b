/**
 * The metrics of `Telemetry` and the cost sinks of `Telemetry.trackCost`: shared by the public module, which documents
 * them, and the piece that updates them.
 */
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import type * as Ref from "effect/Ref"
import type * as Telemetry from "../../Telemetry.js"

const secondsBoundaries = MetricBoundaries.fromIterable([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160
])

/** The keys of the metrics; the handles below are built from them, with labels baked into the key. */
export const keys = {
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

/** The metrics, unlabelled; see `Telemetry.metrics`. */
export const metrics = {
  requests: Metric.fromMetricKey(keys.requests),
  errors: Metric.fromMetricKey(keys.errors),
  duration: Metric.fromMetricKey(keys.duration),
  timeToFirstChunk: Metric.fromMetricKey(keys.timeToFirstChunk),
  tokens: Metric.fromMetricKey(keys.tokens),
  cost: Metric.fromMetricKey(keys.cost)
} as const

/**
 * The cost sinks of the enclosing `Telemetry.trackCost` calls. A `FiberRef` (not a global) so each tracked effect sees
 * only its own calls; forked fibers inherit the same sinks, so concurrent calls inside one tracked effect add up.
 */
export const costSinks = FiberRef.unsafeMake<ReadonlyArray<Ref.Ref<ReadonlyArray<Telemetry.CallCost>>>>([])
