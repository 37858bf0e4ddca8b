/**
 * The Redis router store's local copy, as pure data and transitions (the effects live in `routerStore.ts`).
 *
 * The copy is the last state read from Redis (the base, in Redis time, with each key's version), plus the events this
 * process applied since and has not written yet (pending), applied on top with the same `RouterStore.evolve` the memory
 * store runs. A routed request touches only this copy; a sync writes the pending events as new states for the keys
 * they touch (compare-and-set on each key's version, so a conflicting write by another process is never lost: the
 * events are applied again to the fresher state) and reads every known key back in the same script.
 *
 * Times: events carry instants of the local `Clock`; Redis holds instants of Redis `TIME`. `offset` (Redis minus
 * local, measured at a sync) translates both ways, so the router compares a shared cooldown with its own clock.
 */
import * as Chunk from "effect/Chunk"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as RouterStore from "../../RouterStore.js"

type State = RouterStore.DeploymentState
type Event = RouterStore.Event

/** One deployment as last read from Redis: its key's version (as stored), its state in Redis time, its probe key. */
export interface Base {
  readonly version: string
  readonly state: State
  readonly probing: boolean
}

/** The local copy. Deployments get a position when first named and keep it (as in the memory store). */
export interface Local {
  readonly positions: ReadonlyMap<string, number>
  readonly names: ReadonlyArray<string>
  readonly base: ReadonlyArray<Base>
  readonly baseTurn: number
  readonly baseFailovers: number
  /** The view the router decides on: base (in local time) with the pending events applied. */
  readonly states: ReadonlyArray<State>
  readonly turn: number
  readonly failovers: number
  /** Events applied to `states` and not yet in Redis, oldest first. */
  readonly pending: Chunk.Chunk<Event>
  /** Redis time minus local time, in millis. */
  readonly offset: number
}

const unread: Base = { version: "0", state: RouterStore.initial, probing: false }

export const empty: Local = {
  positions: new Map(),
  names: [],
  base: [],
  baseTurn: 0,
  baseFailovers: 0,
  states: [],
  turn: 0,
  failovers: 0,
  pending: Chunk.empty(),
  offset: 0
}

/** `d` with every instant moved by `delta` millis (Redis time ↔ local time). */
export const shift = (d: State, delta: number): State =>
  delta === 0
    ? d
    : {
        ...d,
        sampledAt: d.sampledAt + delta,
        circuit: {
          ...d.circuit,
          openUntil: d.circuit.openUntil + delta,
          windowStart: d.circuit.windowStart + delta
        }
      }

/** The event with its instant moved by `delta` millis. */
const shiftEvent = (event: Event, delta: number): Event =>
  event._tag === "Admitted" || delta === 0 ? event : { ...event, at: event.at + delta }

/** The base of one deployment as the router sees it: local time, and probing exactly when its probe key exists. */
const seen = (b: Base, offset: number): State => {
  const d = shift(b.state, -offset)
  return d.circuit.probing === b.probing ? d : { ...d, circuit: { ...d.circuit, probing: b.probing } }
}

/** Positions for `names` (new names get the next ones, with an unread base and the initial state). */
export const register = (local: Local, names: ReadonlyArray<string>): Local => {
  if (names.every((name) => local.positions.has(name))) return local
  const positions = new Map(local.positions)
  const all = local.names.slice()
  const base = local.base.slice()
  const states = local.states.slice()
  for (const name of names) {
    if (positions.has(name)) continue
    positions.set(name, all.push(name) - 1)
    base.push(unread)
    states.push(RouterStore.initial)
  }
  return { ...local, positions, names: all, base, states }
}

/** The snapshot of `names` (registered first, with {@link register}). */
export const view = (local: Local, names: ReadonlyArray<string>): RouterStore.Snapshot => ({
  turn: local.turn,
  failovers: local.failovers,
  deployments: names.map((name) => local.states[local.positions.get(name)!])
})

/** The highest latency average in `states`: the floor of a first sample taken from a failure. */
const slowestOf = (states: ReadonlyArray<State>) => {
  let slowest = 0
  for (const d of states) slowest = Math.max(slowest, d.latency ?? 0)
  return slowest
}

interface Applied {
  readonly states: ReadonlyArray<State>
  readonly turns: number
  readonly failovers: number
}

/** `events` applied to `states` by `RouterStore.evolve` (registering any deployment first). */
const applyTo = (
  positions: ReadonlyMap<string, number>,
  initial: ReadonlyArray<State>,
  events: Iterable<Event>,
  delta: number
): Applied => {
  const states = initial.slice()
  let turns = 0
  let failovers = 0
  for (const raw of events) {
    const event = shiftEvent(raw, delta)
    const at = positions.get(event.deployment)
    if (at === undefined) continue
    const transientFailure = event._tag === "Settled" && event.outcome._tag === "Failure" && event.outcome.transient
    states[at] = RouterStore.evolve(states[at], event, transientFailure ? slowestOf(states) : 0)
    if (event._tag === "Admitted" && event.failover) failovers++
    if (event._tag === "Admitted" && event.turn) turns++
  }
  return { states, turns, failovers }
}

/** The copy after this process's own events: applied to the view at once, and queued for the next sync. */
export const apply = (local: Local, events: ReadonlyArray<Event>): Local => {
  if (events.length === 0) return local
  const registered = register(
    local,
    events.map((e) => e.deployment)
  )
  const { failovers, states, turns } = applyTo(registered.positions, registered.states, events, 0)
  return {
    ...registered,
    states,
    turn: registered.turn + turns,
    failovers: registered.failovers + failovers,
    pending: Chunk.appendAll(registered.pending, Chunk.unsafeFromArray(events))
  }
}

/** The copy with `name`'s circuit marked as probing (another process holds the probe) or not. */
export const markProbing = (local: Local, name: string, probing: boolean): Local => {
  const at = local.positions.get(name)
  if (at === undefined || local.states[at].circuit.probing === probing) return local
  const states = local.states.slice()
  states[at] = { ...states[at], circuit: { ...states[at].circuit, probing } }
  return { ...local, states }
}

/** The snapshot with the circuits whose probe lease this call holds shown free, so `decide` may pick them. */
export const freeFor = (
  snapshot: RouterStore.Snapshot,
  names: ReadonlyArray<string>,
  claimed: ReadonlyMap<string, string>
) =>
  ({
    ...snapshot,
    deployments: snapshot.deployments.map((d, i) =>
      claimed.has(names[i]) && d.circuit.probing ? { ...d, circuit: { ...d.circuit, probing: false } } : d
    )
  }) satisfies RouterStore.Snapshot

export const probesOf = (events: ReadonlyArray<Event>) =>
  events.filter((e) => e._tag === "Admitted" && e.probe).map((e) => e.deployment)

/** What a sync writes: per position, the new state in Redis time (undefined: untouched), and the counters' growth. */
export interface Writes {
  readonly states: ReadonlyArray<State | undefined>
  readonly turns: number
  readonly failovers: number
}

/** The first `count` pending events applied to the base, in Redis time: what a sync writes. */
export const writesOf = (local: Local, count: number): Writes => {
  const batch = Chunk.take(local.pending, count)
  const { failovers, states, turns } = applyTo(
    local.positions,
    local.base.map((b) => b.state),
    batch,
    local.offset
  )
  const touched = new Set<number>()
  for (const event of batch) {
    const at = local.positions.get(event.deployment)
    if (at !== undefined) touched.add(at)
  }
  return { states: states.map((d, i) => (touched.has(i) ? d : undefined)), turns, failovers }
}

/** What a sync read back: per registered position (at the time of the sync), and the counters. */
export interface Read {
  readonly base: ReadonlyArray<Base>
  readonly turn: number
  readonly failovers: number
  readonly offset: number
}

/**
 * The copy after a sync: the base replaced by what was read, the first `written` pending events dropped (they are in
 * Redis now), the rest applied again on top. Names registered while the sync ran keep an unread base.
 */
export const rebase = (local: Local, read: Read, written: number): Local => {
  const base = local.base.map((b, i) => read.base[i] ?? b)
  const pending = Chunk.drop(local.pending, written)
  const applied = applyTo(
    local.positions,
    base.map((b) => seen(b, read.offset)),
    pending,
    0
  )
  const { failovers, turns } = applied
  // In-flight counts stay this process's own: the view's count is exact, whatever was read.
  const states = applied.states.map((d, i) =>
    d.inFlight === local.states[i].inFlight ? d : { ...d, inFlight: local.states[i].inFlight }
  )
  return {
    ...local,
    base,
    baseTurn: read.turn,
    baseFailovers: read.failovers,
    states,
    turn: read.turn + turns,
    failovers: read.failovers + failovers,
    pending,
    offset: read.offset
  }
}

// What Redis holds is checked, never trusted: a value that does not decode is treated as missing.
const Count = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const Instant = Schema.Number.pipe(Schema.finite())
const Stored = Schema.Struct({
  requests: Count,
  successes: Count,
  failures: Count,
  interruptions: Count,
  inFlight: Schema.Number.pipe(Schema.finite()),
  latency: Schema.optional(Count),
  sampledAt: Instant,
  failing: Schema.Boolean,
  circuit: Schema.Struct({
    state: Schema.Literal("closed", "open"),
    openUntil: Instant,
    probing: Schema.Boolean,
    consecutiveFailures: Count,
    windowStart: Instant,
    windowRequests: Count,
    windowFailures: Count,
    trips: Count,
    totalTrips: Count
  })
})
const decodeStored = Schema.decodeUnknownEither(Schema.parseJson(Stored))

/**
 * A state as stored: JSON, `latency` left out until measured, `inFlight` zero. Calls in flight are counted per
 * process: a shared count would keep the calls of a process that died counted for as long as the key lives.
 */
export const encode = (d: State): string => JSON.stringify(d.inFlight === 0 ? d : { ...d, inFlight: 0 })

/** A stored state, or undefined when the text is not one (the caller logs it and counts the deployment as new). */
export const decode = (text: string): State | undefined => {
  const result = decodeStored(text)
  if (Either.isLeft(result)) return undefined
  const d = result.right
  return { ...d, latency: d.latency, inFlight: 0 }
}
