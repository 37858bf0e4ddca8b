/**
 * Steps a user's retry `Schedule` by hand instead of through `Effect.retry`, because the router must decide each
 * delay itself: at least the `Retry-After` the provider sent, never past the caller's deadline, and never beyond
 * `maxAttempts` counted together with failovers.
 */
import type * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Intervals from "effect/ScheduleIntervals"
import * as EffectModule from "effect/Effect"
import type * as LiterLlmError from "../../LiterLlmError.js"

/** One schedule's progress for one deployment within one request. */
export interface Stepper {
  /** The delay in millis before the next try, or undefined when the schedule is done. */
  readonly next: (now: number, error: LiterLlmError.LiterLlmError) => Effect.Effect<number | undefined>
}

export const stepper = (schedule: Schedule.Schedule<unknown, LiterLlmError.LiterLlmError>): Stepper => {
  let state: unknown = schedule.initial
  return {
    next: (now, error) =>
      EffectModule.map(schedule.step(now, error, state), ([next, , decision]) => {
        state = next
        return ScheduleDecision.isDone(decision) ? undefined : Math.max(0, Intervals.start(decision.intervals) - now)
      })
  }
}
