/**
 * Strategies as pure functions from a snapshot of the store to the order in which to try the deployments, and the
 * admission rule (circuit, concurrency cap) checked while walking that order. Whatever does not depend on the state
 * (fallback's priority order, weight order) is computed once, when the router is built.
 *
 * A request restricted to some deployments (its model group, its routing settings) is ordered among those only.
 * Sorting strategies sort everything and keep the candidates; round robin and weighted random choose among the
 * candidates themselves, or a request would land on a deployment it may not use. Round robin over a subset turns by
 * the subset's own admitted requests (the store's turn counts every request of the router, so two groups taking
 * turns would each see only every other value of it).
 */
import * as Option from "effect/Option"
import * as Pricing from "../../Pricing.js"
import type * as RouterStore from "../../RouterStore.js"
import type * as Strategy from "../../Strategy.js"
import * as Circuit from "./circuit.js"
import type { Member } from "./members.js"

/** The size of a request, for cost-based ordering. */
export interface CostInput {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly model: string | undefined
}

/** Per-request inputs of an ordering. */
export interface Input {
  readonly now: number
  /** A uniform draw in [0, 1) from `Random` (weighted random only). */
  readonly draw: number
  readonly cost: CostInput | undefined
  /** Deployments whose health check reports them unhealthy: tried last, as a last resort. */
  readonly unhealthy: ReadonlyArray<boolean> | undefined
  /** The request's candidates (its group, narrowed by its routing settings), in list order; undefined: all. */
  readonly within: ReadonlyArray<number> | undefined
}

export type Order = (snapshot: RouterStore.Snapshot, input: Input) => ReadonlyArray<number>

/** Whether a deployment may take a request now: `undefined` if not, else whether it would be the circuit's probe. */
export const admissible = (
  member: Member,
  d: RouterStore.DeploymentState,
  circuitOn: boolean,
  now: number
): "closed" | "probe" | undefined => {
  if (d.inFlight >= member.maxConcurrency) return undefined
  if (!circuitOn) return "closed"
  const a = Circuit.admission(d.circuit, now)
  return a === "blocked" ? undefined : a
}

/** The first admissible position at or after `from` in `order`. */
export const firstAdmissible = (
  members: ReadonlyArray<Member>,
  snapshot: RouterStore.Snapshot,
  order: ReadonlyArray<number>,
  from: number,
  circuitOn: boolean,
  now: number
): { readonly pos: number; readonly probe: boolean } | undefined => {
  for (let pos = from; pos < order.length; pos++) {
    const i = order[pos]
    const a = admissible(members[i], snapshot.deployments[i], circuitOn, now)
    if (a !== undefined) return { pos, probe: a === "probe" }
  }
  return undefined
}

/**
 * In how many millis the earliest open circuit among `order` (the request's candidates) lets a probe through;
 * undefined if none will by itself. Only candidates count: another group's reopening would not admit this request.
 */
export const earliestReopen = (
  snapshot: RouterStore.Snapshot,
  now: number,
  order: ReadonlyArray<number>
): number | undefined => {
  let earliest = Number.POSITIVE_INFINITY
  for (const i of order) {
    const c = snapshot.deployments[i].circuit
    if (c.state === "open" && !c.probing) earliest = Math.min(earliest, c.openUntil)
  }
  return earliest === Number.POSITIVE_INFINITY ? undefined : Math.max(0, earliest - now)
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/** Sorts indexes by keys, lowest first; `Array.prototype.sort` is stable, so ties keep list order. */
const byKeys = (indexes: Array<number>, key: (i: number) => ReadonlyArray<number>) => {
  // Each index's keys once, not once per comparison.
  const keys: Array<ReadonlyArray<number>> = []
  for (const i of indexes) keys[i] = key(i)
  return indexes.sort((a, b) => {
    const ka = keys[a]
    const kb = keys[b]
    for (let k = 0; k < ka.length; k++) if (ka[k] !== kb[k]) return ka[k] < kb[k] ? -1 : 1
    return 0
  })
}

/** The expected cost of a request at a deployment: its own price, else its model's, else the request model's. */
const expectedCost = (member: Member, cost: CostInput | undefined): number => {
  if (cost === undefined) return 0
  const pricing =
    member.pricing ?? (cost.model === undefined ? undefined : Option.getOrUndefined(Pricing.lookup(cost.model)))
  if (pricing === undefined) return Number.POSITIVE_INFINITY
  return (cost.promptTokens * pricing.inputPerMillion + cost.completionTokens * pricing.outputPerMillion) / 1_000_000
}

/** `order` without the positions outside `within` (kept as is when `within` is undefined). */
const keep = (order: ReadonlyArray<number>, within: ReadonlyArray<number> | undefined, n: number) => {
  if (within === undefined) return order
  const inside: Array<boolean> = Array.from({ length: n }, () => false)
  for (const i of within) inside[i] = true
  return order.filter((i) => inside[i])
}

/** `order` with the `first` ones (among it) moved to the front, in the order given. */
export const prefer = (order: ReadonlyArray<number>, first: ReadonlyArray<number>): ReadonlyArray<number> => {
  if (first.length === 0) return order
  const front = first.filter((i) => order.includes(i))
  return [...front, ...order.filter((i) => !front.includes(i))]
}

export const compile = (
  strategy: Strategy.Strategy,
  members: ReadonlyArray<Member>,
  circuitOn: boolean,
  staleAfter: number
): Order => {
  const n = members.length
  const unrestricted = unrestrictedOrder(strategy, members, circuitOn, staleAfter)
  switch (strategy._tag) {
    case "RoundRobin":
      return (s, input) => {
        const { within } = input
        if (within === undefined) return unrestricted(s, input)
        let turn = 0
        for (const i of within) turn += s.deployments[i].requests
        const k = within.length
        return within.map((_, j) => within[(turn + j) % k])
      }
    case "WeightedRandom":
      return unrestricted
    default:
      return (s, input) => keep(unrestricted(s, input), input.within, n)
  }
}

const unrestrictedOrder = (
  strategy: Strategy.Strategy,
  members: ReadonlyArray<Member>,
  circuitOn: boolean,
  staleAfter: number
): Order => {
  const n = members.length
  switch (strategy._tag) {
    case "Fallback": {
      const order = byKeys(range(n), (i) => [members[i].priority])
      return () => order
    }
    case "RoundRobin":
      return (s) => range(n).map((k) => (s.turn + k) % n)
    case "LeastBusy":
      return (s) => byKeys(range(n), (i) => [s.deployments[i].inFlight, s.deployments[i].requests])
    case "LatencyBased":
      return (s, { now }) => {
        const rank = (i: number): number => {
          const d = s.deployments[i]
          const needsSample = d.latency === undefined || now - d.sampledAt >= staleAfter
          // One probe at a time per deployment: a burst spreads over the measured ones instead of piling up here.
          if (needsSample && d.inFlight === 0) return 0
          if (d.latency === undefined) return 3
          // A failure ranks a deployment behind every deployment whose last call succeeded, however fast it failed.
          return d.failing ? 2 : 1
        }
        // Probes go in list order; the rest by their average.
        return byKeys(range(n), (i) => {
          const r = rank(i)
          return [r, r === 0 ? 0 : (s.deployments[i].latency ?? 0)]
        })
      }
    case "CostBased":
      return (s, { cost }) => {
        const costs = members.map((m) => expectedCost(m, cost))
        // Among equal costs an unmeasured deployment counts as fastest, so it gets measured instead of starved.
        return byKeys(range(n), (i) => [costs[i], s.deployments[i].failing ? 1 : 0, s.deployments[i].latency ?? 0])
      }
    case "WeightedRandom": {
      const all = byKeys(range(n), (i) => [-members[i].weight])
      return (s, { draw, now, within }) => {
        const byWeight = keep(all, within, n)
        const open = byWeight.filter(
          (i) => members[i].weight > 0 && admissible(members[i], s.deployments[i], circuitOn, now) !== undefined
        )
        const total = open.reduce((sum, i) => sum + members[i].weight, 0)
        if (total === 0) return byWeight
        // Walk in list order so a draw maps to the same deployment whatever the weights' order.
        let target = draw * total
        const pick = range(n).find((i) => open.includes(i) && (target -= members[i].weight) < 0) ?? Math.max(...open)
        return [pick, ...byWeight.filter((i) => i !== pick)]
      }
    }
  }
}

/** Unhealthy deployments move to the end, keeping their relative order. */
export const demoteUnhealthy = (order: ReadonlyArray<number>, unhealthy: ReadonlyArray<boolean> | undefined) =>
  unhealthy === undefined ? order : [...order.filter((i) => !unhealthy[i]), ...order.filter((i) => unhealthy[i])]
