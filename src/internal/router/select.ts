/**
 * The start of a request: gather what the strategy needs (time, a random draw, costs, health) — only what it
 * needs, so round robin and fallback pay for one clock read — then order the candidates and admit the request to
 * the first one in a single `Ref.modify`. When nobody can take it, fail with `NoDeploymentAvailable` carrying the
 * earliest reopening, or wait for it when the router was asked to and the deadline allows.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as LiterLlmError from "../../LiterLlmError.js"
import * as Pricing from "../../Pricing.js"
import * as Candidates from "./candidates.js"
import { type Engine, Run } from "./engine.js"
import * as State from "./state.js"

/** The size of a request, for cost-based ordering. */
export interface CostInput {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly model: string | undefined
}

const costsFor = (engine: Engine, cost: CostInput | undefined): ReadonlyArray<number> =>
  engine.metas.map((meta) => {
    if (cost === undefined) return 0
    const pricing =
      meta.pricing ?? (cost.model === undefined ? undefined : Option.getOrUndefined(Pricing.lookup(cost.model)))
    if (pricing === undefined) return Number.POSITIVE_INFINITY
    return (cost.promptTokens * pricing.inputPerMillion + cost.completionTokens * pricing.outputPerMillion) / 1_000_000
  })

type Choice =
  | { readonly run: Run; readonly index: number; readonly probe: boolean }
  | { readonly run: undefined; readonly reopen: number | undefined; readonly full: number }

const choose =
  (engine: Engine, input: Candidates.Input, deadlineAt: number) =>
  (s: State.RouterState): readonly [Choice, State.RouterState] => {
    const ordering = engine.order(s, input)
    const order =
      input.unhealthy === undefined ? ordering.order : Candidates.demoteUnhealthy(ordering.order, input.unhealthy)
    const first = Candidates.firstAdmissible(engine.settings, engine.metas, s, order, 0, input.now)
    if (first === undefined) {
      let full = 0
      for (let i = 0; i < engine.metas.length; i++) {
        if (s.deployments[i].inFlight >= engine.metas[i].maxConcurrency) full++
      }
      return [{ run: undefined, reopen: Candidates.earliestReopen(s, input.now), full }, s]
    }
    const run = new Run(order, deadlineAt, input.now)
    run.pos = first.pos
    const index = order[first.pos]
    return [{ run, index, probe: first.probe }, State.admit(s, index, first.probe, false, ordering.cursor)]
  }

const unavailable = (reopen: number | undefined, full: number, n: number): LiterLlmError.NoDeploymentAvailable => {
  const retryAfter = reopen === undefined ? undefined : Duration.millis(reopen)
  const why = full === 0 ? `all ${n} circuit(s) are open` : `${full} of ${n} deployment(s) are at maxConcurrency`
  return new LiterLlmError.NoDeploymentAvailable({
    retryAfter,
    message: `no deployment can take the request: ${why}; retry ${
      retryAfter === undefined ? "shortly" : `after ${Duration.format(retryAfter)}`
    }, or set waitForAvailable with a deadline to wait inside the router`
  })
}

/** Orders the candidates, admits the request to the first admissible one and hands over to `go`. */
export const begin = <X>(
  engine: Engine,
  cost: CostInput | undefined,
  go: (run: Run, index: number, probe: boolean) => Effect.Effect<X, LiterLlmError.LiterLlmError>
): Effect.Effect<X, LiterLlmError.LiterLlmError> => {
  const { config } = engine
  const attempt = (
    now: number,
    deadlineAt: number,
    draw: number,
    unhealthy: ReadonlyArray<boolean> | undefined
  ): Effect.Effect<X, LiterLlmError.LiterLlmError> => {
    const input: Candidates.Input = {
      now,
      draw,
      costs: config.needsCost ? costsFor(engine, cost) : undefined,
      unhealthy
    }
    return Effect.flatMap(Ref.modify(engine.state, choose(engine, input, deadlineAt)), (choice) => {
      if (choice.run !== undefined) return go(choice.run, choice.index, choice.probe)
      const reopen = choice.reopen
      if (config.waitForAvailable && reopen !== undefined && now + reopen < deadlineAt) {
        return Effect.zipRight(Effect.sleep(Duration.millis(reopen)), gather(deadlineAt))
      }
      return Effect.fail(unavailable(reopen, choice.full, engine.metas.length))
    })
  }
  const withHealth = (now: number, deadlineAt: number, draw: number) =>
    config.hasHealth
      ? Effect.flatMap(
          Effect.forEach(engine.metas, (meta) =>
            meta.health === undefined
              ? Effect.succeed(false)
              : Effect.map(meta.health.state, (h) => h.status === "unhealthy")
          ),
          (unhealthy) => attempt(now, deadlineAt, draw, unhealthy)
        )
      : attempt(now, deadlineAt, draw, undefined)
  const gather = (deadlineAt: number | undefined): Effect.Effect<X, LiterLlmError.LiterLlmError> =>
    Effect.clockWith((clock) => {
      const now = clock.unsafeCurrentTimeMillis()
      const at = deadlineAt ?? (config.deadline === undefined ? Number.POSITIVE_INFINITY : now + config.deadline)
      return config.needsDraw
        ? Effect.flatMap(Random.next, (draw) => withHealth(now, at, draw))
        : withHealth(now, at, 0)
    })
  return gather(undefined)
}
