/**
 * Strategies compiled into ordering functions. Each takes the router's state at the moment of the request and
 * returns every deployment in the order to try them; admission (circuit, concurrency cap) is checked while walking
 * that order, in the same atomic step. Anything that does not depend on the state (fallback's priority order, the
 * round-robin rotations, weight order) is computed once, at build.
 */
import * as Option from "effect/Option"
import { priceBook } from "../middleware/cost.js"
import type * as Strategy from "../../Strategy.js"
import * as State from "./state.js"

/** The size of a request, for cost-based ordering. */
export interface CostInput {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly model: string | undefined
}

/** Prices of request models, for deployments that name neither a price nor a model; bounded, per router. */
type PriceMemo = ReturnType<typeof priceBook>

/** The expected cost of a request at a deployment: its own price, else its model's, else the request model's. */
const expectedCost = (memo: PriceMemo, meta: State.Meta, cost: CostInput | undefined): number => {
  if (cost === undefined) return 0
  const pricing =
    meta.pricing ?? (cost.model === undefined ? undefined : Option.getOrUndefined(memo.pricing(cost.model)))
  if (pricing === undefined) return Number.POSITIVE_INFINITY
  return (cost.promptTokens * pricing.inputPerMillion + cost.completionTokens * pricing.outputPerMillion) / 1_000_000
}

/** Sorts a small array in place, stably (insertion sort: for a handful of deployments, cheaper than Array.sort). */
const sortBy = (order: Array<number>, before: (a: number, b: number) => boolean): Array<number> => {
  for (let k = 1; k < order.length; k++) {
    const x = order[k]
    let j = k - 1
    while (j >= 0 && before(x, order[j])) {
      order[j + 1] = order[j]
      j--
    }
    order[j + 1] = x
  }
  return order
}

/** Per-request inputs of an ordering. */
export interface Input {
  readonly now: number
  /** A uniform draw in [0, 1) from `Random` (only drawn for weighted random). */
  readonly draw: number
  /** The size of the request (only for cost-based). */
  readonly cost: CostInput | undefined
  /** Deployments whose health check reports them unhealthy: tried last, as a last resort. */
  readonly unhealthy: ReadonlyArray<boolean> | undefined
}

export interface Ordering {
  readonly order: ReadonlyArray<number>
  readonly cursor: number
}

export type Order = (s: State.RouterState, input: Input) => Ordering

/** 0, 1, …, n - 1. A plain loop: `Array.from` with a mapper cost cost-based and least-busy routing ~1 µs a request. */
const range = (n: number): Array<number> => {
  const out: Array<number> = []
  for (let i = 0; i < n; i++) out.push(i)
  return out
}

export const compile = (
  strategy: Strategy.Strategy,
  metas: ReadonlyArray<State.Meta>,
  settings: State.Settings,
  weights: ReadonlyArray<number>
): Order => {
  const n = metas.length
  switch (strategy._tag) {
    case "Fallback": {
      const order = sortBy(range(n), (a, b) => metas[a].priority < metas[b].priority)
      return (s) => ({ order, cursor: s.cursor })
    }
    case "RoundRobin": {
      // One precomputed ordering per position of the cursor: a request allocates nothing to know its order.
      const rotations = range(n).map((start) => ({
        order: range(n).map((k) => (start + k) % n),
        cursor: (start + 1) % n
      }))
      return (s) => rotations[s.cursor]
    }
    case "LeastBusy":
      return (s) => {
        const ds = s.deployments
        const order = sortBy(range(n), (a, b) => {
          const d = ds[a].inFlight - ds[b].inFlight
          return d !== 0 ? d < 0 : ds[a].requests < ds[b].requests
        })
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
        sortBy(measured, (a, b) => ds[a].ema! < ds[b].ema!)
        return { order: probes.concat(measured, probing), cursor: s.cursor }
      }
    }
    case "CostBased": {
      // Scratch space reused across requests: an ordering runs synchronously inside one atomic update of the state.
      const costs = new Array<number>(n).fill(0)
      const memo: PriceMemo = priceBook(undefined)
      let ds: ReadonlyArray<State.DeploymentState> = []
      const cheaper = (a: number, b: number): boolean => {
        const c = costs[a] - costs[b]
        if (c !== 0 && !Number.isNaN(c)) return c < 0
        // Among equal costs an unmeasured deployment counts as fastest, so it gets measured instead of starved.
        return (ds[a].ema ?? 0) < (ds[b].ema ?? 0)
      }
      return (s, input) => {
        for (let i = 0; i < n; i++) costs[i] = expectedCost(memo, metas[i], input.cost)
        ds = s.deployments
        return { order: sortBy(range(n), cheaper), cursor: s.cursor }
      }
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
