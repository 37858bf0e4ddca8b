/**
 * Strategies compiled into ordering functions. Each takes the router's state at the moment of the request and
 * returns every deployment in the order to try them; admission (circuit, concurrency cap) is checked while walking
 * that order, in the same atomic step. Anything that does not depend on the state (fallback's priority order, the
 * round-robin rotations, weight order) is computed once, at build.
 */
import type * as Strategy from "../../Strategy.js"
import * as State from "./state.js"

/** Per-request inputs of an ordering. */
export interface Input {
  readonly now: number
  /** A uniform draw in [0, 1) from `Random` (only drawn for weighted random). */
  readonly draw: number
  /** Expected cost of this request at each deployment (only computed for cost-based); Infinity when unknown. */
  readonly costs: ReadonlyArray<number> | undefined
  /** Deployments whose health check reports them unhealthy: tried last, as a last resort. */
  readonly unhealthy: ReadonlyArray<boolean> | undefined
}

export interface Ordering {
  readonly order: ReadonlyArray<number>
  readonly cursor: number
}

export type Order = (s: State.RouterState, input: Input) => Ordering

const range = (n: number): Array<number> => Array.from({ length: n }, (_, i) => i)

export const compile = (
  strategy: Strategy.Strategy,
  metas: ReadonlyArray<State.Meta>,
  settings: State.Settings,
  weights: ReadonlyArray<number>
): Order => {
  const n = metas.length
  switch (strategy._tag) {
    case "Fallback": {
      const order = range(n).sort((a, b) => metas[a].priority - metas[b].priority || a - b)
      return (s) => ({ order, cursor: s.cursor })
    }
    case "RoundRobin": {
      const rotations = range(n).map((start) => range(n).map((k) => (start + k) % n))
      return (s) => ({ order: rotations[s.cursor % n], cursor: (s.cursor + 1) % n })
    }
    case "LeastBusy":
      return (s) => {
        const ds = s.deployments
        const order = range(n).sort(
          (a, b) => ds[a].inFlight - ds[b].inFlight || ds[a].requests - ds[b].requests || a - b
        )
        return { order, cursor: s.cursor }
      }
    case "LatencyBased": {
      const staleAfter = settings.staleAfter
      return (s, input) => {
        const ds = s.deployments
        const probes: Array<number> = []
        const measured: Array<number> = []
        const probing: Array<number> = []
        for (let i = 0; i < n; i++) {
          const d = ds[i]
          const needsSample = d.ema === undefined || input.now - d.sampledAt >= staleAfter
          // One probe at a time per deployment: a burst spreads over the measured ones instead of piling up here.
          if (needsSample && d.inFlight === 0) probes.push(i)
          else if (d.ema === undefined) probing.push(i)
          else measured.push(i)
        }
        measured.sort((a, b) => ds[a].ema! - ds[b].ema! || a - b)
        return { order: probes.concat(measured, probing), cursor: s.cursor }
      }
    }
    case "CostBased":
      return (s, input) => {
        const ds = s.deployments
        const costs = input.costs!
        // Among equal costs an unmeasured deployment counts as fastest, so it gets measured instead of starved.
        // Unknown costs are Infinity; Infinity - Infinity is NaN, which `||` passes over to the next key.
        const order = range(n).sort((a, b) => costs[a] - costs[b] || (ds[a].ema ?? 0) - (ds[b].ema ?? 0) || a - b)
        return { order, cursor: s.cursor }
      }
    case "WeightedRandom": {
      const byWeight = range(n).sort((a, b) => weights[b] - weights[a] || a - b)
      return (s, input) => {
        const ds = s.deployments
        let total = 0
        for (let i = 0; i < n; i++) {
          if (weights[i] > 0 && State.admissible(settings, metas[i], ds[i], input.now) !== undefined)
            total += weights[i]
        }
        if (total === 0) return { order: byWeight, cursor: s.cursor }
        let target = input.draw * total
        let pick = -1
        for (let i = 0; i < n; i++) {
          if (weights[i] > 0 && State.admissible(settings, metas[i], ds[i], input.now) !== undefined) {
            pick = i
            target -= weights[i]
            if (target < 0) break
          }
        }
        const order = [pick]
        for (const i of byWeight) if (i !== pick) order.push(i)
        return { order, cursor: s.cursor }
      }
    }
  }
}

/** Unhealthy deployments move to the end, keeping their relative order. */
export const demoteUnhealthy = (order: ReadonlyArray<number>, unhealthy: ReadonlyArray<boolean>): Array<number> => {
  const healthy: Array<number> = []
  const sick: Array<number> = []
  for (const i of order) (unhealthy[i] ? sick : healthy).push(i)
  return healthy.concat(sick)
}

/** The first admissible deployment at or after `from` in `order`, or -1. */
export const firstAdmissible = (
  settings: State.Settings,
  metas: ReadonlyArray<State.Meta>,
  s: State.RouterState,
  order: ReadonlyArray<number>,
  from: number,
  now: number
): { readonly pos: number; readonly probe: boolean } | undefined => {
  for (let pos = from; pos < order.length; pos++) {
    const i = order[pos]
    const a = State.admissible(settings, metas[i], s.deployments[i], now)
    if (a !== undefined) return { pos, probe: a === "probe" }
  }
  return undefined
}

/** When the earliest open circuit lets a probe through, in millis from `now`; undefined if none will by itself. */
export const earliestReopen = (s: State.RouterState, now: number): number | undefined => {
  let earliest: number | undefined = undefined
  for (const d of s.deployments) {
    const c = d.circuit
    if (c.state === "open" && !c.probing && (earliest === undefined || c.openUntil < earliest)) earliest = c.openUntil
  }
  return earliest === undefined ? undefined : Math.max(0, earliest - now)
}
