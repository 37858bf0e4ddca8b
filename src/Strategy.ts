/**
 * How a router orders its deployments for each request. A strategy is a plain description; the router turns it into
 * a pure ordering of a snapshot of its `RouterStore` (its own memory store unless one is provided), so nothing is
 * global and two routers share a counter or a latency average only when they share a store.
 *
 * Every strategy yields a full ordering, not a single pick: the first deployment gets the request, the next ones get
 * it on a transient failure (unless the router's `failover` is off).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"

/**
 * Each request starts at the next deployment in turn; failover continues around the ring.
 *
 * @since 0.1.0
 * @category models
 */
export interface RoundRobin {
  readonly _tag: "RoundRobin"
}

/**
 * Deployments in `priority` order (lower first, ties in list order); later ones only on failure.
 *
 * @since 0.1.0
 * @category models
 */
export interface Fallback {
  readonly _tag: "Fallback"
}

/**
 * The deployment with the lowest latency average first; unmeasured (and long-unmeasured) deployments are probed.
 *
 * @since 0.1.0
 * @category models
 */
export interface LatencyBased {
  readonly _tag: "LatencyBased"
  /** Weight of the newest sample in the exponential moving average. */
  readonly alpha: number
  /** A deployment without a sample for this long is probed again, so a recovered one can win traffic back. */
  readonly reprobeAfter: Duration.Duration
}

/**
 * The deployment with the cheapest expected cost for this request first; ties by latency, then list order.
 *
 * @since 0.1.0
 * @category models
 */
export interface CostBased {
  readonly _tag: "CostBased"
}

/**
 * A random deployment in proportion to its weight (drawn from Effect's `Random`); failover by descending weight.
 *
 * @since 0.1.0
 * @category models
 */
export interface WeightedRandom {
  readonly _tag: "WeightedRandom"
  /** One weight per deployment, in list order; when absent each deployment's own `weight` (default 1). */
  readonly weights: ReadonlyArray<number> | undefined
}

/**
 * The deployment with the fewest requests in flight first; ties go to the one that has served fewer requests.
 *
 * @since 0.1.0
 * @category models
 */
export interface LeastBusy {
  readonly _tag: "LeastBusy"
}

/**
 * A routing strategy.
 *
 * @since 0.1.0
 * @category models
 */
export type Strategy = RoundRobin | Fallback | LatencyBased | CostBased | WeightedRandom | LeastBusy

/**
 * Round robin over the available deployments.
 *
 * @since 0.1.0
 * @category constructors
 */
export const roundRobin = (): Strategy => ({ _tag: "RoundRobin" })

/**
 * Ordered fallback by `priority`, then list order.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fallback = (): Strategy => ({ _tag: "Fallback" })

/**
 * Lowest latency first, by an exponential moving average (`alpha` 0.3 by default, first sample seeds it); a
 * deployment not measured for `reprobeAfter` (default 30 seconds) is probed again.
 *
 * @since 0.1.0
 * @category constructors
 */
export const latencyBased = (
  options: { readonly alpha?: number | undefined; readonly reprobeAfter?: Duration.DurationInput | undefined } = {}
): Strategy => ({
  _tag: "LatencyBased",
  alpha: options.alpha ?? 0.3,
  reprobeAfter: Duration.decode(options.reprobeAfter ?? Duration.seconds(30))
})

/**
 * Cheapest expected cost for the request first, from each deployment's `pricing` or the price of its model.
 *
 * @since 0.1.0
 * @category constructors
 */
export const costBased = (): Strategy => ({ _tag: "CostBased" })

/**
 * Weighted random choice, using Effect's `Random` (seed it in tests).
 *
 * @since 0.1.0
 * @category constructors
 */
export const weightedRandom = (options: { readonly weights?: ReadonlyArray<number> | undefined } = {}): Strategy => ({
  _tag: "WeightedRandom",
  weights: options.weights
})

/**
 * Fewest requests in flight first.
 *
 * @since 0.1.0
 * @category constructors
 */
export const leastBusy = (): Strategy => ({ _tag: "LeastBusy" })
