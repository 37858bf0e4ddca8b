/**
 * Where a router keeps what it learns between requests: per deployment its circuit, latency average, counters and
 * requests in flight, plus the round-robin turn. The router reads a snapshot, decides, and writes events; the store
 * applies them with {@link evolve}, the one definition of every transition.
 *
 * The interface is shaped for a remote store: a request costs one {@link Service.modify} (read the snapshot, write the
 * admission) and one {@link Service.write} (settle), and events are plain data that a Redis script can apply. The
 * default, {@link layerMemory}, keeps everything in one `Ref`, so choosing and admitting is one atomic `Ref.modify`.
 * A router takes the store from its context when one is provided, else makes its own memory store; routers sharing a
 * store share the state of deployments with the same name.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Evolve from "./internal/router/evolve.js"

/**
 * One deployment's circuit breaker. Times are epoch millis from `Clock`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitState {
  readonly state: "closed" | "open"
  /** When open: the time from which one probe may pass. */
  readonly openUntil: number
  /** When open and past `openUntil`: the probe is in flight. */
  readonly probing: boolean
  readonly consecutiveFailures: number
  readonly windowStart: number
  readonly windowRequests: number
  readonly windowFailures: number
  /** Trips since the circuit last closed (drives the growing cooldown). */
  readonly trips: number
  /** Trips ever. */
  readonly totalTrips: number
}

/**
 * What is known about one deployment.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeploymentState {
  readonly requests: number
  readonly successes: number
  readonly failures: number
  readonly interruptions: number
  readonly inFlight: number
  /** Latency average in millis; undefined until the first sample. */
  readonly latency: number | undefined
  readonly sampledAt: number
  /** Its last call failed transiently: it ranks behind every deployment whose last call succeeded. */
  readonly failing: boolean
  readonly circuit: CircuitState
}

/**
 * The state of the deployments a router asked about, in the order it asked.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  /** Requests admitted so far with `turn` set: the round-robin position. */
  readonly turn: number
  readonly failovers: number
  readonly deployments: ReadonlyArray<DeploymentState>
}

/**
 * The circuit-breaker policy, normalized (millis).
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitPolicy {
  readonly consecutiveFailures: number
  readonly failureRate: number | undefined
  readonly minRequests: number
  readonly window: number
  readonly cooldown: number
  readonly maxCooldown: number
  readonly factor: number
}

/**
 * What a settling event needs to know of the router's settings (carried by the event, so a store needs no config).
 *
 * @since 0.1.0
 * @category models
 */
export interface Rules {
  readonly circuit: CircuitPolicy | undefined
  readonly alpha: number
  readonly staleAfter: number
}

/**
 * How one call ended.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome =
  | { readonly _tag: "Success"; readonly latency: number | undefined }
  | { readonly _tag: "Failure"; readonly transient: boolean; readonly retryAfter: number | undefined }
  | { readonly _tag: "Interrupted" }

/**
 * A change to the state: a call admitted, a call ended, a stream's first chunk measured.
 *
 * @since 0.1.0
 * @category models
 */
export type Event =
  | {
      readonly _tag: "Admitted"
      readonly deployment: string
      readonly probe: boolean
      readonly failover: boolean
      readonly turn: boolean
    }
  | {
      readonly _tag: "Settled"
      readonly deployment: string
      readonly at: number
      readonly duration: number
      readonly probe: boolean
      readonly outcome: Outcome
      readonly rules: Rules
    }
  | {
      readonly _tag: "Sampled"
      readonly deployment: string
      readonly at: number
      readonly latency: number
      readonly rules: Rules
    }

/**
 * Where a store keeps its state and whether it can reach it: `memory` (this process only), or a shared store that is
 * `connected`, or `unavailable` and serving from its local copy until it can resync. `since` is when the state last
 * changed (epoch millis), `outages` how many times it became unavailable.
 *
 * @since 0.2.0
 * @category models
 */
export type StoreStatus =
  | { readonly kind: "memory" }
  | {
      readonly kind: "redis"
      readonly state: "connected" | "unavailable"
      readonly since: number
      readonly outages: number
    }

/**
 * A router state store.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Reads the snapshot of `names`, lets `decide` choose, and applies the events it returns, as one step. In memory
   * that is one `Ref.modify`; a remote store reads the snapshot in one round trip and may send the events without
   * waiting for them (or with the next `write`), since `decide` only ever adds admissions.
   */
  readonly modify: <A>(
    names: ReadonlyArray<string>,
    decide: (snapshot: Snapshot) => readonly [A, ReadonlyArray<Event>]
  ) => Effect.Effect<A>
  /** Applies events. */
  readonly write: (events: ReadonlyArray<Event>) => Effect.Effect<void>
  /** Reads the snapshot of `names`. */
  readonly snapshot: (names: ReadonlyArray<string>) => Effect.Effect<Snapshot>
  /** Where the state lives and whether it is reachable (a store without it counts as memory). */
  readonly status?: Effect.Effect<StoreStatus> | undefined
}

/**
 * The tag of the router state store.
 *
 * @since 0.1.0
 * @category tags
 */
export class RouterStore extends Context.Tag("effect-liter-llm/RouterStore")<RouterStore, Service>() {}

/**
 * A deployment nobody has called yet.
 *
 * @since 0.1.0
 * @category constructors
 */
export const initial: DeploymentState = Evolve.initial

/**
 * The state after one event, the one definition of every transition (a remote store applies the same). `slowest` is
 * the highest latency average the store knows: the floor of a first sample taken from a failure.
 *
 * @since 0.1.0
 * @category transitions
 */
export const evolve: (state: DeploymentState, event: Event, slowest: number) => DeploymentState = Evolve.evolve

/**
 * The memory store's state. Deployments get a position when first named, and their states sit in an array at those
 * positions: applying an event copies that short array, where a map keyed by name would be copied whole (every
 * request applies two events).
 */
interface Memory {
  readonly turn: number
  readonly failovers: number
  /** Grows only: a name keeps its position for the life of the store. */
  readonly positions: ReadonlyMap<string, number>
  readonly states: ReadonlyArray<DeploymentState>
}

const view = ({ failovers, positions, states, turn }: Memory, names: ReadonlyArray<string>): Snapshot => ({
  turn,
  failovers,
  deployments: names.map((name) => {
    const at = positions.get(name)
    return at === undefined ? initial : states[at]
  })
})

const applyAll = (memory: Memory, events: ReadonlyArray<Event>): Memory => {
  if (events.length === 0) return memory
  let { failovers, positions, turn } = memory
  const states = memory.states.slice()
  for (const event of events) {
    let at = positions.get(event.deployment)
    if (at === undefined) {
      at = states.push(initial) - 1
      positions = new Map(positions).set(event.deployment, at)
    }
    // Only a transient failure reads the slowest average, so only then is it looked for.
    let slowest = 0
    if (event._tag === "Settled" && event.outcome._tag === "Failure" && event.outcome.transient) {
      for (const d of states) slowest = Math.max(slowest, d.latency ?? 0)
    }
    states[at] = evolve(states[at], event, slowest)
    if (event._tag === "Admitted" && event.failover) failovers++
    if (event._tag === "Admitted" && event.turn) turn++
  }
  return { turn, failovers, positions, states }
}

const memoryStatus: Effect.Effect<StoreStatus> = Effect.succeed({ kind: "memory" })

/**
 * A store in one `Ref`: state for this process only.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Service> = Effect.map(
  Ref.make<Memory>({ turn: 0, failovers: 0, positions: new Map(), states: [] }),
  (ref) =>
    RouterStore.of({
      modify: (names, decide) =>
        Ref.modify(ref, (memory) => {
          const [result, events] = decide(view(memory, names))
          return [result, applyAll(memory, events)]
        }),
      write: (events) => Ref.update(ref, (memory) => applyAll(memory, events)),
      snapshot: (names) => Effect.map(Ref.get(ref), (memory) => view(memory, names)),
      status: memoryStatus
    })
)

/**
 * The in-memory store as a layer; each build has its own state.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<RouterStore> = Layer.effect(RouterStore, makeMemory)
