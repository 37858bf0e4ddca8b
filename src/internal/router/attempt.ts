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

/** How an exit counts for the deployment. */
export const outcomeOf = (exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>, latency: number): State.Outcome => {
  if (Exit.isSuccess(exit)) return { _tag: "Success", latency }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    return { _tag: "Failure", error: failure.value, transient: LiterLlmError.isTransient(failure.value) }
  }
  if (Cause.isInterruptedOnly(exit.cause)) return { _tag: "Interrupted" }
  return {
    _tag: "Failure",
    error: new LiterLlmError.InternalError({
      message: "a deployment died with a defect",
      cause: Cause.squash(exit.cause)
    }),
    transient: false
  }
}

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

/**
 * Settles a finished call in the router state and the request's attempt list: counters, latency and circuit move
 * together and the in-flight slot is freed. Synchronous, so it must run inside a fiber step (see `Cell` in
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
  const duration = now - start
  const outcome = outcomeFor(duration)
  if (outcome._tag === "Failure") {
    const attempt = { deployment: engine.metas[index].name, error: outcome.error, duration: Duration.millis(duration) }
    if (run.attempts === undefined) run.attempts = [attempt]
    else run.attempts.push(attempt)
  }
  engine.state.current = State.finish(engine.settings, engine.state.current, index, outcome, duration, now, probe, true)
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
  // settled: only the call itself is interruptible, and the continuation below runs whatever its exit — settling
  // in place and, on a typed failure, moving straight on to recovery (one continuation for settle + catchAll).
  // (Positional callbacks only: loaders that keep function names wrap every function literal in an object property,
  // per call.)
  return Effect.flatMap(Effect.exit(Effect.interruptible(effect)), (exit) => {
    record(engine, run, index, probe, start, (duration) => outcomeOf(exit, duration))
    if (recover === undefined || Exit.isSuccess(exit)) return exit as Exit.Exit<X, LiterLlmError.LiterLlmError>
    const failure = Cause.failureOption(exit.cause)
    return Option.isSome(failure)
      ? recover(run, index, failure.value)
      : (exit as Exit.Exit<never, LiterLlmError.LiterLlmError>)
  })
}
