/**
 * The start of a request: gather what the strategy needs (time, a random draw, costs, health) — only what it
 * needs, so round robin and fallback pay for one clock read — then order the candidates and admit the request to
 * the first one in one synchronous update of the router's cell (atomic: see `Engine.state` in engine.ts). When nobody can take it, fail with `NoDeploymentAvailable` carrying the
 * earliest reopening, or wait for it when the router was asked to and the deadline allows.
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as LiterLlmError from "../../LiterLlmError.js"
import * as Candidates from "./candidates.js"
import { type Engine, type Op, Run, type Start } from "./engine.js"
import * as State from "./state.js"

/** The size of a request, for cost-based ordering. */
export type CostInput = Candidates.CostInput

type Choice =
  | { readonly run: Run; readonly index: number; readonly probe: boolean }
  | { readonly run: undefined; readonly reopen: number | undefined; readonly full: number }

/** Orders and admits, reading and writing the router's cell without yielding. */
function choose(engine: Engine, input: Candidates.Input, deadlineAt: number, op: Op, clock: Clock.Clock): Choice {
  const s = engine.state
  const ordering = engine.order(s, input)
  const order =
    input.unhealthy === undefined ? ordering.order : Candidates.demoteUnhealthy(ordering.order, input.unhealthy)
  const first = Candidates.firstAdmissible(engine.settings, engine.metas, s, order, 0, input.now)
  if (first === undefined) {
    let full = 0
    for (let i = 0; i < engine.metas.length; i++) {
      if (s.deployments[i].inFlight >= engine.metas[i].maxConcurrency) full++
    }
    return { run: undefined, reopen: Candidates.earliestReopen(s, input.now), full }
  }
  const run = new Run(order, deadlineAt, input.now, op, clock)
  run.pos = first.pos
  const index = order[first.pos]
  State.admit(s, index, first.probe, false, ordering.cursor)
  return { run, index, probe: first.probe }
}

function unavailable(reopen: number | undefined, full: number, n: number): LiterLlmError.NoDeploymentAvailable {
  const retryAfter = reopen === undefined ? undefined : Duration.millis(reopen)
  const why = full === 0 ? `all ${n} circuit(s) are open` : `${full} of ${n} deployment(s) are at maxConcurrency`
  return new LiterLlmError.NoDeploymentAvailable({
    retryAfter,
    message: `no deployment can take the request: ${why}; retry ${
      retryAfter === undefined ? "shortly" : `after ${Duration.format(retryAfter)}`
    }, or set waitForAvailable with a deadline to wait inside the router`
  })
}

/*
 * The steps below are module-level functions taking their context as arguments, rather than closures made per
 * request: the request path allocates as little as possible (and named inner functions cost extra under some
 * loaders, which wrap each one to keep its name).
 */

function pick<X>(
  engine: Engine,
  cost: CostInput | undefined,
  op: Op,
  go: Start<X>,
  clock: Clock.Clock,
  now: number,
  deadlineAt: number,
  draw: number,
  unhealthy: ReadonlyArray<boolean> | undefined
): Effect.Effect<X, LiterLlmError.LiterLlmError> {
  // Called from a continuation (`clockWith`, `flatMap`), so the choice is made in the step that runs it.
  const choice = choose(engine, { now, draw, cost, unhealthy }, deadlineAt, op, clock)
  if (choice.run !== undefined) return go(choice.run, choice.index, choice.probe)
  const reopen = choice.reopen
  if (engine.config.waitForAvailable && reopen !== undefined && now + reopen < deadlineAt) {
    return Effect.zipRight(
      Effect.interruptible(Effect.sleep(Duration.millis(reopen))),
      gather(engine, cost, op, go, deadlineAt)
    )
  }
  return Effect.fail(unavailable(reopen, choice.full, engine.metas.length))
}

function withHealth<X>(
  engine: Engine,
  cost: CostInput | undefined,
  op: Op,
  go: Start<X>,
  clock: Clock.Clock,
  now: number,
  deadlineAt: number,
  draw: number
): Effect.Effect<X, LiterLlmError.LiterLlmError> {
  if (!engine.config.hasHealth) return pick(engine, cost, op, go, clock, now, deadlineAt, draw, undefined)
  return Effect.flatMap(
    Effect.forEach(engine.metas, (meta) =>
      meta.health === undefined ? Effect.succeed(false) : Effect.map(meta.health.state, (h) => h.status === "unhealthy")
    ),
    (unhealthy) => pick(engine, cost, op, go, clock, now, deadlineAt, draw, unhealthy)
  )
}

function gather<X>(
  engine: Engine,
  cost: CostInput | undefined,
  op: Op,
  go: Start<X>,
  deadlineAt: number | undefined
): Effect.Effect<X, LiterLlmError.LiterLlmError> {
  return Effect.clockWith((clock) => {
    const now = clock.unsafeCurrentTimeMillis()
    const deadline = engine.config.deadline
    const at = deadlineAt ?? (deadline === undefined ? Number.POSITIVE_INFINITY : now + deadline)
    return engine.config.needsDraw
      ? Effect.flatMap(Random.next, (draw) => withHealth(engine, cost, op, go, clock, now, at, draw))
      : withHealth(engine, cost, op, go, clock, now, at, 0)
  })
}

/**
 * Orders the candidates, admits the request to the first admissible one and hands over to `go`.
 *
 * The whole request runs uninterruptibly, and only its waits and deployment calls are made interruptible: a slot
 * (or the circuit's single probe) taken by an admission is then always given back, even when the caller is
 * interrupted in the instant between the admission and the call. Interrupting the caller still interrupts the
 * deployment call at once.
 */
export const begin = <X>(
  engine: Engine,
  cost: CostInput | undefined,
  op: Op,
  go: Start<X>
): Effect.Effect<X, LiterLlmError.LiterLlmError> => Effect.uninterruptible(gather(engine, cost, op, go, undefined))
