/**
 * Hedged calls: when the chosen deployment has not answered after `delay` (or has already failed), the same request
 * also goes to the next candidate. The first success wins and the other call is interrupted — its in-flight slot is
 * freed and it is counted as an interruption, not a failure. Both failing hands the request back to the failover loop.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as LiterLlmError from "../../LiterLlmError.js"
import * as Attempt from "./attempt.js"
import type { Engine, Run } from "./engine.js"
import * as Failover from "./failover.js"

export const hedged = (engine: Engine, delay: number): Failover.Attempt<unknown> => {
  const pause = Duration.millis(delay)
  return (run, index, probe, recover) =>
    Effect.catchAll(pair(engine, pause, run, index, probe), (error) => recover(run, index, error))
}

const pair = (engine: Engine, pause: Duration.Duration, run: Run, index: number, probe: boolean) =>
  Effect.flatMap(Deferred.make<void>(), (primaryFailed) => {
    const primary = Effect.tapError(Attempt.call(engine, run, index, probe, run.op), () =>
      Deferred.succeed(primaryFailed, undefined)
    )
    const backup = Effect.zipRight(
      Effect.interruptible(Effect.raceFirst(Effect.sleep(pause), Deferred.await(primaryFailed))),
      Effect.suspend(() => {
        const now = run.clock.unsafeCurrentTimeMillis()
        // No second candidate: fail quietly; the race keeps waiting for the primary while it runs.
        const none = Effect.fail(new LiterLlmError.AllDeploymentsFailed({ attempts: [] }))
        if (run.started >= engine.config.maxAttempts || now >= run.deadlineAt) return none
        const next = Failover.admitNext(engine, run, now)
        return next === undefined ? none : Attempt.call(engine, run, next.index, next.probe, run.op)
      })
    )
    // Both racers are forked while the request is uninterruptible (see select.ts), so each starts uninterruptible
    // and has its bookkeeping in place before its wait or call becomes interruptible: an admitted slot is always
    // settled. Only the waiting for a winner is interruptible; whatever ends it, both racers are interrupted and
    // awaited, so the loser's interruption is recorded before the request returns.
    return Effect.flatMap(Effect.fork(primary), (first) =>
      Effect.flatMap(Effect.fork(backup), (second) =>
        Effect.interruptible(Effect.race(Fiber.join(first), Fiber.join(second))).pipe(
          Effect.ensuring(Effect.zipRight(Fiber.interrupt(first), Fiber.interrupt(second))),
          Effect.catchAllCause((cause) => {
            const failures = Chunk.toReadonlyArray(Cause.failures(cause))
            if (failures.length === 0) return Effect.failCause(cause)
            const fatal = failures.find((e) => !LiterLlmError.isTransient(e))
            return Effect.fail(fatal ?? failures[0])
          })
        )
      )
    )
  })
