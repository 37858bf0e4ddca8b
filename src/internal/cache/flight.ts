/**
 * Single flight: concurrent callers of one key share one upstream call, which runs on a fiber of its own, so a caller
 * that leaves or is interrupted disturbs nobody; the last caller to leave before the call's end interrupts it.
 *
 * The flights in progress are an immutable map in a `Ref`, and every step (join, enter, launch, claim, leave) is one
 * `Ref.modify`. (Effect's `RcMap` has the same semantics, but its lookup builds a scope, a `Deferred`, a semaphore
 * section and a copy of the context per key, which together cost several times the rest of a cache miss.) A leader
 * enters its flight before it starts the fiber, so a second leader can never start one too; callers then wait on the
 * fiber itself.
 *
 * The provider bills a shared call once, so exactly one of its sharers carries its usage: the first to claim it
 * ({@link finish}, {@link claim}); the cache answers the others as hits.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Ref from "effect/Ref"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"

/** A started flight: the fiber running the call, and what its callers share besides (a stream's broadcast). */
export interface Run<A, E, H> {
  readonly fiber: Fiber.Fiber<A, E>
  readonly handle: H
}

/** A flight: its run (`undefined` while its leader starts it), its callers counted in, whether its usage is taken. */
interface Flight<A, E, H> {
  readonly run: Run<A, E, H> | undefined
  readonly callers: number
  readonly claimed: boolean
}

/** The flights in progress, by key. */
export type Flights<A, E, H = undefined> = Ref.Ref<HashMap.HashMap<string, Flight<A, E, H>>>

type Register<A, E, H> = HashMap.HashMap<string, Flight<A, E, H>>

/** An empty register; when the scope closes, every flight still running is interrupted. */
export const make = <A, E, H = undefined>(): Effect.Effect<Flights<A, E, H>, never, Scope.Scope> =>
  Effect.tap(Ref.make<Register<A, E, H>>(HashMap.empty()), (flights) =>
    Effect.addFinalizer(() =>
      Effect.flatMap(Ref.getAndSet(flights, HashMap.empty()), (open) =>
        Fiber.interruptAll(
          Array.from(HashMap.values(open), (flight) => flight.run?.fiber).filter((f) => f !== undefined)
        )
      )
    )
  )

const counted = <A, E, H>(open: Register<A, E, H>, key: string, flight: Flight<A, E, H>) =>
  HashMap.set(open, key, { ...flight, callers: flight.callers + 1 })

/**
 * The run of a flight whose caller is counted in. A flight is seen without its run only when its leader was
 * rescheduled between entering it and launching it (a fiber may yield between any two steps), so this rarely waits.
 */
const started = <A, E, H>(flights: Flights<A, E, H>, key: string): Effect.Effect<Run<A, E, H>> =>
  Effect.flatMap(Ref.get(flights), (open) => {
    const found = HashMap.get(open, key)
    if (found._tag === "None") return Effect.interrupt // the register was closed with the layer
    const run = found.value.run
    return run !== undefined ? Effect.succeed(run) : Effect.zipRight(Effect.yieldNow(), started(flights, key))
  })

/** Counts the caller in the flight of `key` and gives its run; `undefined` when none is in flight. */
export const join = <A, E, H>(flights: Flights<A, E, H>, key: string): Effect.Effect<Run<A, E, H> | undefined> =>
  Effect.flatMap(
    Ref.modify(flights, (open): readonly [Flight<A, E, H> | undefined, Register<A, E, H>] => {
      const found = HashMap.get(open, key)
      return found._tag === "None" ? [undefined, open] : [found.value, counted(open, key, found.value)]
    }),
    (flight) =>
      flight === undefined
        ? Effect.succeed(undefined)
        : flight.run !== undefined
          ? Effect.succeed(flight.run)
          : started(flights, key)
  )

/**
 * Joins the flight of `key` as {@link join} does, or, when there is none, enters a new one as its leader (giving
 * `undefined`): the leader must then {@link launch} it.
 */
export const enter = <A, E, H>(flights: Flights<A, E, H>, key: string): Effect.Effect<Run<A, E, H> | undefined> =>
  Effect.flatMap(
    Ref.modify(flights, (open): readonly [Flight<A, E, H> | undefined, Register<A, E, H>] => {
      const found = HashMap.get(open, key)
      if (found._tag === "Some") return [found.value, counted(open, key, found.value)]
      return [undefined, HashMap.set(open, key, { run: undefined, callers: 1, claimed: false })]
    }),
    (flight) =>
      flight === undefined
        ? Effect.succeed(undefined)
        : flight.run !== undefined
          ? Effect.succeed(flight.run)
          : started(flights, key)
  )

/**
 * Starts `effect` on a fiber of its own and records it as the run of the flight the caller {@link enter}ed. The fiber
 * starts at once, on the caller's context, as Effect's `FiberMap.run` starts its fibers (an instant call then costs
 * no trip through the scheduler), and is always interruptible, so that its last caller can stop it.
 */
export const launch = <A, E, H>(
  flights: Flights<A, E, H>,
  key: string,
  effect: Effect.Effect<A, E>,
  handle: H
): Effect.Effect<Run<A, E, H>> =>
  Effect.runtime<never>().pipe(
    Effect.flatMap((runtime) =>
      Effect.sync((): Run<A, E, H> => ({ fiber: Runtime.runFork(runtime)(Effect.interruptible(effect)), handle }))
    ),
    Effect.flatMap((run) =>
      Effect.flatMap(
        Ref.modify(flights, (open): readonly [boolean, Register<A, E, H>] => {
          const found = HashMap.get(open, key)
          if (found._tag === "None") return [false, open] // the register was closed with the layer
          return [true, HashMap.set(open, key, { ...found.value, run })]
        }),
        (recorded) => (recorded ? Effect.succeed(run) : Effect.as(Fiber.interrupt(run.fiber), run))
      )
    )
  )

const depart = <A, E, H>(open: Register<A, E, H>, key: string, flight: Flight<A, E, H>, claimed: boolean) =>
  flight.callers <= 1
    ? HashMap.remove(open, key)
    : HashMap.set(open, key, { ...flight, callers: flight.callers - 1, claimed })

/**
 * The caller leaves the flight of `run`; the last one to leave removes it and interrupts its fiber (a no-op once it
 * has ended). A flight of the same key started since (after the register was closed) is not touched.
 */
export const leave = <A, E, H>(flights: Flights<A, E, H>, key: string, run: Run<A, E, H>): Effect.Effect<void> =>
  Effect.flatMap(
    Ref.modify(flights, (open): readonly [boolean, Register<A, E, H>] => {
      const found = HashMap.get(open, key)
      if (found._tag === "None" || found.value.run !== run) return [false, open]
      return [found.value.callers <= 1, depart(open, key, found.value, found.value.claimed)]
    }),
    (last) => (last ? Fiber.interrupt(run.fiber) : Effect.void)
  )

/** Whether this caller is the first to take the usage of the flight of `run` (and so carries it). */
export const claim = <A, E, H>(flights: Flights<A, E, H>, key: string, run: Run<A, E, H>): Effect.Effect<boolean> =>
  Ref.modify(flights, (open) => {
    const found = HashMap.get(open, key)
    if (found._tag === "None" || found.value.run !== run || found.value.claimed) return [false, open]
    return [true, HashMap.set(open, key, { ...found.value, claimed: true })]
  })

/** {@link leave} and {@link claim} at once, for a caller whose flight ended well: whether it carries the usage. */
const finish = <A, E, H>(flights: Flights<A, E, H>, key: string, run: Run<A, E, H>): Effect.Effect<boolean> =>
  Ref.modify(flights, (open) => {
    const found = HashMap.get(open, key)
    if (found._tag === "None" || found.value.run !== run) return [false, open]
    return [!found.value.claimed, depart(open, key, found.value, true)]
  })

/**
 * Waits for the flight of `run`, as one of its counted callers: an interrupted caller leaves (stopping the call if it
 * was the last); one that gets the answer is told whether it carries the usage. Give it the `restore` of the
 * `uninterruptibleMask` that counted the caller in, so that no interruption falls between counting and waiting.
 */
export const wait = <A, E, H>(
  flights: Flights<A, E, H>,
  key: string,
  run: Run<A, E, H>,
  restore: <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>
): Effect.Effect<readonly [A, boolean], E> =>
  Effect.flatMap(
    Effect.onInterrupt(restore(Fiber.await(run.fiber)), () => leave(flights, key, run)),
    (exit) =>
      Exit.isSuccess(exit)
        ? Effect.map(finish(flights, key, run), (mine) => [exit.value, mine] as const)
        : Effect.zipRight(leave(flights, key, run), Effect.failCause(exit.cause))
  )
