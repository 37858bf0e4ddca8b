/**
 * One call to one deployment, with its bookkeeping: the per-attempt timeout (never past the request's deadline),
 * the duration, and — whatever the exit, including interruption — one atomic update of counters, latency and circuit
 * that also frees the in-flight slot (a synchronous update of the router's cell, inside the call's continuation). Failures are appended to the request's attempt list for `AllDeploymentsFailed`.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as LiterLlmError from "../../LiterLlmError.js"
import type { Engine, Op, Recover, Run } from "./engine.js"
import * as State from "./state.js"

/** How a failed call counts for the deployment. */
const outcomeOfCause = (cause: Cause.Cause<LiterLlmError.LiterLlmError>): State.Outcome => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    return { _tag: "Failure", error: failure.value, transient: LiterLlmError.isTransient(failure.value) }
  }
  if (Cause.isInterruptedOnly(cause)) return { _tag: "Interrupted" }
  return {
    _tag: "Failure",
    error: new LiterLlmError.InternalError({
      message: "a deployment died with a defect",
      cause: Cause.squash(cause)
    }),
    transient: false
  }
}

/** How an exit counts for the deployment. */
export const outcomeOf = (exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>, latency: number): State.Outcome =>
  Exit.isSuccess(exit) ? { _tag: "Success", latency } : outcomeOfCause(exit.cause)

/** The time budget of a call starting at `start`: the attempt timeout, cut short by the request's deadline. */
export const limitOf = (run: Run, start: number, perAttempt: number | undefined): number =>
  Math.min(perAttempt ?? Number.POSITIVE_INFINITY, run.deadlineAt - start)

export const timedOut = (name: string, millis: number, what: string): LiterLlmError.Timeout =>
  new LiterLlmError.Timeout({
    provider: name,
    message: `deployment "${name}" gave no ${what} within ${Duration.format(
      Duration.millis(millis)
    )}; the router moves on to the next deployment (raise timeout or deadline if this is expected)`
  })

/** Writes one finished call's outcome: the request's attempt list, then the deployment's state. */
const commit = (
  engine: Engine,
  run: Run,
  index: number,
  probe: boolean,
  now: number,
  duration: number,
  outcome: State.Outcome
): void => {
  if (outcome._tag === "Failure") {
    const attempt = { deployment: engine.metas[index].name, error: outcome.error, duration: Duration.millis(duration) }
    if (run.attempts === undefined) run.attempts = [attempt]
    else run.attempts.push(attempt)
  }
  State.finish(engine.settings, engine.state, index, outcome, duration, now, probe, true)
}

/**
 * Settles a finished call in the router state and the request's attempt list: counters, latency and circuit move
 * together and the in-flight slot is freed. Synchronous, so it must run inside a fiber step (see `Engine.state` in
 * engine.ts); the time is read in the same step.
 */
export const record = (
  engine: Engine,
  run: Run,
  index: number,
  probe: boolean,
  start: number,
  outcomeFor: (duration: number) => State.Outcome
): void => {
  const now = run.clock.unsafeCurrentTimeMillis()
  commit(engine, run, index, probe, now, now - start, outcomeFor(now - start))
}

/** {@link record} for a plain call: `cause` undefined is a success, whose duration is the latency sample. */
const recordCall = (
  engine: Engine,
  run: Run,
  index: number,
  probe: boolean,
  start: number,
  cause: Cause.Cause<LiterLlmError.LiterLlmError> | undefined
): void => {
  const now = run.clock.unsafeCurrentTimeMillis()
  const duration = now - start
  commit(
    engine,
    run,
    index,
    probe,
    now,
    duration,
    cause === undefined ? { _tag: "Success", latency: duration } : outcomeOfCause(cause)
  )
}

/** {@link record} as an effect, for finalizers. */
export const settle = (
  engine: Engine,
  run: Run,
  index: number,
  probe: boolean,
  start: number,
  outcomeFor: (duration: number) => State.Outcome
): Effect.Effect<void> => Effect.sync(() => record(engine, run, index, probe, start, outcomeFor))

/**
 * Calls `op` on deployment `index`, which the request was already admitted to. A typed failure is handed to
 * `recover` when given, else returned.
 */
export const call = <X>(
  engine: Engine,
  run: Run,
  index: number,
  probe: boolean,
  op: Op,
  recover?: Recover<X>
): Effect.Effect<X, LiterLlmError.LiterLlmError> => {
  const start = run.at
  const meta = engine.metas[index]
  let effect = op(meta.service)
  const limit = limitOf(run, start, engine.config.timeout)
  if (limit !== Number.POSITIVE_INFINITY) {
    const millis = Math.max(0, limit)
    effect = Effect.timeoutFail(effect, {
      duration: Duration.millis(millis),
      onTimeout: () => timedOut(meta.name, millis, "answer")
    })
  }
  // The request runs uninterruptibly from admission on (see select.ts), so the slot taken at admission is always
  // settled: only the call itself is interruptible, and one continuation runs whatever its exit — settling in place
  // and, on a typed failure, moving straight on to recovery. That one `matchCauseEffect` stands in for what would
  // otherwise be `exit` + `flatMap` + `catchAll` + a `Ref.update` per call.
  return Effect.matchCauseEffect(Effect.interruptible(effect), {
    onFailure: (cause) => {
      recordCall(engine, run, index, probe, start, cause)
      if (recover === undefined) return Effect.failCause(cause)
      const failure = Cause.failureOption(cause)
      return Option.isSome(failure) ? recover(run, index, failure.value) : Effect.failCause(cause)
    },
    onSuccess: (value) => {
      recordCall(engine, run, index, probe, start, undefined)
      return Effect.succeed(value as X)
    }
  })
}
