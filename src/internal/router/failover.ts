/**
 * The failover loop. A transient failure first consults the deployment's retry schedule (waiting at least the
 * provider's `Retry-After`), then moves to the next admissible candidate; a non-transient failure leaves at once,
 * unchanged. Retries, failovers and hedges together never start more than `maxAttempts` calls, and nothing starts
 * after the deadline. Giving up reports every attempt, in order, as `AllDeploymentsFailed`.
 *
 * Compared with `ExecutionPlan`: deployments are built once (not per attempt), the order is the strategy's and
 * changes with state, the circuit and concurrency caps are re-checked at each step (a deployment that tripped while
 * this request was elsewhere is skipped), and the caller gets the full attempt history rather than the last error.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as LiterLlmError from "../../LiterLlmError.js"
import * as Candidates from "./candidates.js"
import type { Attempt, Engine, Recover, Run, Start } from "./engine.js"
import * as Retry from "./retry.js"
import * as State from "./state.js"

export type { Attempt, Recover, Start }

const retryAfterOf = (error: LiterLlmError.LiterLlmError): number =>
  error._tag === "RateLimited" && error.retryAfter !== undefined ? Duration.toMillis(error.retryAfter) : 0

/**
 * Admits the request to the next admissible candidate after `run.pos`, if any, counting a failover. Synchronous: it
 * must run inside a fiber step (see `Engine.state` in engine.ts).
 */
export const admitNext = (
  engine: Engine,
  run: Run,
  now: number
): { readonly index: number; readonly probe: boolean } | undefined => {
  const s = engine.state
  const next = Candidates.firstAdmissible(engine.settings, engine.metas, s, run.order, run.pos + 1, now)
  if (next === undefined) return undefined
  const index = run.order[next.pos]
  run.pos = next.pos
  run.started++
  run.at = now
  State.admit(s, index, next.probe, true)
  return { index, probe: next.probe }
}

/** Ends the request after the last transient failure. */
export const giveUp = (engine: Engine, run: Run, error: LiterLlmError.LiterLlmError) =>
  Effect.fail(
    engine.config.failover
      ? new LiterLlmError.AllDeploymentsFailed({ attempts: run.attempts === undefined ? [] : run.attempts.slice() })
      : error
  )

/**
 * Runs `attempt` on the first candidate, recovering from transient failures by retry and failover. Built once per
 * router and kind of attempt, not per request; the request's own data travels in its `Run`.
 */
export const loop = <X>(engine: Engine, attempt: Attempt<X>): Start<X> => {
  const { config } = engine

  const tryAt: Start<X> = (run, index, probe) => attempt(run, index, probe, recover)

  // A continuation: it runs in the step that saw the failure, so it may read the clock and admit synchronously.
  const recover: Recover<X> = (run, index, error) => {
    if (!LiterLlmError.isTransient(error)) return Effect.fail(error)
    const now = run.clock.unsafeCurrentTimeMillis()
    if (run.started >= config.maxAttempts || now >= run.deadlineAt) return giveUp(engine, run, error)
    return config.retry === undefined ? failover(run, now, error) : retry(run, index, now, error)
  }

  const retry = (run: Run, index: number, now: number, error: LiterLlmError.LiterLlmError) => {
    const stepper = (run.retry ??= Retry.stepper(config.retry!))
    return Effect.flatMap(stepper.next(now, error), (delay) => {
      if (delay === undefined) return failover(run, now, error)
      const wait = Math.max(delay, retryAfterOf(error))
      // A wait that would outlive the deadline is better spent on another deployment.
      if (now + wait >= run.deadlineAt) return failover(run, now, error)
      return Effect.zipRight(
        Effect.interruptible(Effect.sleep(Duration.millis(wait))),
        Effect.suspend(() => {
          run.started++
          run.at = run.clock.unsafeCurrentTimeMillis()
          State.retried(engine.state, index)
          return tryAt(run, index, false)
        })
      )
    })
  }

  const failover = (
    run: Run,
    now: number,
    error: LiterLlmError.LiterLlmError
  ): Effect.Effect<X, LiterLlmError.LiterLlmError> => {
    if (!config.failover) return Effect.fail(error)
    run.retry = undefined
    const next = admitNext(engine, run, now)
    return next === undefined ? giveUp(engine, run, error) : tryAt(run, next.index, next.probe)
  }

  return tryAt
}
