/**
 * Runs an Effect in simulated time: a discrete-event simulation on Effect's own runtime.
 *
 * Two pieces of the runtime are swapped for the run:
 * - the `Clock`: `Effect.sleep` (and so every latency, timeout and cooldown) registers a wake-up at a virtual
 *   instant instead of arming a real timer;
 * - the `Scheduler`: fibers that yield are queued here instead of on Node's event loop.
 *
 * The driver drains the queue of runnable fibers; when nothing can run, every fiber is waiting on the clock, so it
 * jumps virtual time straight to the earliest wake-up. A run of thousands of requests with latencies of seconds
 * takes milliseconds of wall time, and — with a seeded `Random` — gives the same numbers every time.
 *
 * This only works for effects that never wait on real I/O (no sockets, no files): `LlmTest` deployments qualify,
 * HTTP ones do not.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scheduler from "effect/Scheduler"

interface Sleeper {
  readonly at: number
  readonly order: number
  readonly wake: () => void
  cancelled: boolean
}

/** Runs `effect` to completion in virtual time starting at `startMillis`, synchronously. */
export const runSimulated = <A, E>(effect: Effect.Effect<A, E>, startMillis = 0): Exit.Exit<A, E> => {
  let now = startMillis
  let order = 0
  const runnable: Array<Scheduler.Task> = []
  // A binary heap would be faster; a sorted insert keeps this file short and is plenty for a few thousand sleepers.
  const sleepers: Array<Sleeper> = []

  const scheduler = Scheduler.make((task) => {
    runnable.push(task)
  })

  const sleep = (duration: Duration.Duration): Effect.Effect<void> =>
    Effect.async<void>((resume) => {
      const sleeper: Sleeper = {
        at: now + Duration.toMillis(duration),
        order: order++,
        wake: () => resume(Effect.void),
        cancelled: false
      }
      let i = sleepers.length
      while (i > 0 && sleepers[i - 1]!.at > sleeper.at) i--
      sleepers.splice(i, 0, sleeper)
      return Effect.sync(() => {
        sleeper.cancelled = true
      })
    })

  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    currentTimeMillis: Effect.sync(() => now),
    unsafeCurrentTimeNanos: () => BigInt(Math.round(now * 1_000_000)),
    currentTimeNanos: Effect.sync(() => BigInt(Math.round(now * 1_000_000))),
    sleep
  }

  const fiber = Effect.runFork(effect.pipe(Effect.withClock(clock), Effect.withScheduler(scheduler)))

  for (;;) {
    // Tasks may schedule more tasks; run them all, in order, before time moves.
    for (let i = 0; i < runnable.length; i++) runnable[i]!()
    runnable.length = 0
    const exit = fiber.unsafePoll()
    if (exit !== null) return exit
    const next = sleepers.shift()
    if (next === undefined) {
      return Exit.die(new Error("simulation deadlocked: no fiber can run and none is waiting on the clock"))
    }
    if (next.cancelled) continue
    now = Math.max(now, next.at)
    next.wake()
  }
}
