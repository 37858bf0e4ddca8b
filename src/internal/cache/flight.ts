/**
 * Single flight: concurrent callers of one key share one upstream call, which runs on a fiber of its own, so a caller
 * that leaves or is interrupted disturbs nobody; the last caller to leave before the call's end interrupts it.
 *
 * The flights in progress are an immutable map in a `Ref`, and every step (join, enter, launch, claim, leave) is one
 * `Ref.modify`. (Effect's `RcMap` has the same semantics, but its lookup builds a scope, a `Deferred`, a semaphore
 * section and a copy of the context per key, which together cost several times the rest of a cache miss.) A leader
 * enters its flight before it starts the fiber, so a second leader can never start one too; callers then wait on the
 * fiber itself. The steps take what comes next as arguments rather than returning a value to branch on: a cache miss
 * is a few dozen effect steps, and each one saved counts.
 *
 * The provider bills a shared call once, so exactly one of its sharers carries its usage: the first to claim it
 * ({@link wait}, {@link claim}); the cache answers the others as hits.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Ref from "effect/Ref"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
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

type Register<A, E, H> = HashMap.HashMap<string, Flight<A, E, H>>

/** The flights in progress, by key. */
export type Flights<A, E, H = undefined> = Ref.Ref<Register<A, E, H>>

/** The `restore` of the `uninterruptibleMask` a caller is counted in under. */
export type Restore = <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>

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

const counted = <A, E, H>(open: Register<A, E, H>, key: string, flight: Flight<A, E, H>) =>
  HashMap.set(open, key, { ...flight, callers: flight.callers + 1 })

const joined = <A, E, H, B, E2, R>(
  flights: Flights<A, E, H>,
  key: string,
  flight: Flight<A, E, H>,
  onJoined: (run: Run<A, E, H>) => Effect.Effect<B, E2, R>
) => (flight.run !== undefined ? onJoined(flight.run) : Effect.flatMap(started(flights, key), onJoined))

/** Counts the caller in the flight of `key` and goes on with its run, or with `onAbsent` when none is in flight. */
export const join = <A, E, H, B, E2, R>(
  flights: Flights<A, E, H>,
  key: string,
  onAbsent: () => Effect.Effect<B, E2, R>,
  onJoined: (run: Run<A, E, H>) => Effect.Effect<B, E2, R>
): Effect.Effect<B, E2, R> =>
  // A look first: most calls find nothing in flight, and a look writes nothing.
  Effect.flatMap(Ref.get(flights), (seen) =>
    !HashMap.has(seen, key)
      ? onAbsent()
      : Effect.flatMap(
          Ref.modify(flights, (open): readonly [Flight<A, E, H> | undefined, Register<A, E, H>] => {
            const found = HashMap.get(open, key)
            return found._tag === "None" ? [undefined, open] : [found.value, counted(open, key, found.value)]
          }),
          (flight) => (flight === undefined ? onAbsent() : joined(flights, key, flight, onJoined))
        )
  )

/**
 * Counts the caller in the flight of `key` and goes on with its run, or, when there is none, enters a new one as its
 * leader and goes on with `onLeader`, which must {@link launch} it.
 */
export const enter = <A, E, H, B, E2, R>(
  flights: Flights<A, E, H>,
  key: string,
  onLeader: () => Effect.Effect<B, E2, R>,
  onJoined: (run: Run<A, E, H>) => Effect.Effect<B, E2, R>
): Effect.Effect<B, E2, R> =>
  Effect.flatMap(
    Ref.modify(flights, (open): readonly [Flight<A, E, H> | undefined, Register<A, E, H>] => {
      const found = HashMap.get(open, key)
      if (found._tag === "Some") return [found.value, counted(open, key, found.value)]
      return [undefined, HashMap.set(open, key, { run: undefined, callers: 1, claimed: false })]
    }),
    (flight) => (flight === undefined ? onLeader() : joined(flights, key, flight, onJoined))
  )

/**
 * Starts `effect` on a fiber of its own, records it as the run of the flight the caller {@link enter}ed, and goes on
 * with that run. The fiber starts at once, on the caller's context and fiber refs, as Effect's `FiberMap.run` starts
 * its fibers (an instant call then costs no trip through the scheduler), and is always interruptible, so that its
 * last caller can stop it.
 */
export const launch = <A, E, H, B, E2, R>(
  flights: Flights<A, E, H>,
  key: string,
  effect: Effect.Effect<A, E>,
  handle: H,
  onLaunched: (run: Run<A, E, H>) => Effect.Effect<B, E2, R>
): Effect.Effect<B, E2, R> =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) => {
    const fiber = Runtime.runFork(Runtime.enableRuntimeFlag(runtime, RuntimeFlags.Interruption))(effect)
    const run: Run<A, E, H> = { fiber, handle }
    return Effect.flatMap(
      Ref.modify(flights, (open): readonly [boolean, Register<A, E, H>] => {
        const found = HashMap.get(open, key)
        if (found._tag === "None") return [false, open] // the register was closed with the layer
        return [true, HashMap.set(open, key, { ...found.value, run })]
      }),
      (recorded) => (recorded ? onLaunched(run) : Effect.zipRight(Fiber.interrupt(run.fiber), onLaunched(run)))
    )
  })

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
 * Waits for the flight of `run`, as one of its counted callers, and goes on with its answer and whether this caller
 * carries its usage. An interrupted caller leaves (stopping the call if it was the last). Give it the `restore` of the
 * `uninterruptibleMask` that counted the caller in, so that no interruption falls between counting and waiting.
 */
export const wait = <A, E, H, B, E2, R>(
  flights: Flights<A, E, H>,
  key: string,
  run: Run<A, E, H>,
  restore: Restore,
  onAnswer: (answer: A, mine: boolean) => Effect.Effect<B, E2, R>
): Effect.Effect<B, E | E2, R> =>
  // Awaiting a fiber never fails: a failure here is this caller's interruption, seen once `restore` is left.
  Effect.matchCauseEffect(restore(Fiber.await(run.fiber)), {
    onFailure: (cause) => Effect.zipRight(leave(flights, key, run), Effect.failCause(cause)),
    onSuccess: (exit): Effect.Effect<B, E | E2, R> =>
      Exit.isSuccess(exit)
        ? Effect.flatMap(finish(flights, key, run), (mine) => onAnswer(exit.value, mine))
        : Effect.zipRight(leave(flights, key, run), Effect.failCause(exit.cause))
  })
