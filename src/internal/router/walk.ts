/**
 * A request's walk through the candidates: choose and admit in one store step, run the call (retried on its
 * deployment by the user's schedule, hedged when asked), and on a transient error (or a used-up quota, which is
 * never retried on its deployment) move to the next admissible candidate — `Effect.catchIf(attempt, shouldFailover,
 * next)`. Any other error leaves at once, unchanged.
 * Retries, failovers and hedges together never start more than `maxAttempts` calls, and nothing starts after the
 * deadline; giving up reports every attempt as `AllDeploymentsFailed`.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as RouterStore from "../../RouterStore.js"
import {
  type Admission,
  attempt,
  type Blocked,
  type Core,
  type InFlight,
  type Request,
  type Runner,
  type Slot,
  type Walk
} from "./attempt.js"
import * as Members from "./members.js"
import * as Order from "./order.js"

type E = LiterLlmError.LiterLlmError

const circuitOn = (core: Core) => core.config.rules.circuit !== undefined

/** The time now, by the request's clock (call it where the time is needed, inside a running effect). */
const nowOf = (request: InFlight) => request.clock.unsafeCurrentTimeMillis()

const admitted = (core: Core, slot: Slot, failover: boolean, turn: boolean): RouterStore.Event => ({
  _tag: "Admitted",
  deployment: core.names[slot.index],
  probe: slot.probe,
  failover,
  turn
})

/** Nobody left to ask (the walk has run through its order). */
const none: Blocked = { reopen: undefined, full: 0 }

interface Chosen {
  readonly slot: Slot
  readonly order: ReadonlyArray<number>
  readonly pos: number
}

/** Orders the candidates and admits the request to the first admissible one, in one store step. */
const choose = <A>(request: Request<A>, input: Order.Input): Effect.Effect<Admission> => {
  const { core } = request
  const decided = core.store.modify(
    core.names,
    (snapshot): readonly [Either.Either<Chosen, Blocked>, ReadonlyArray<RouterStore.Event>] => {
      const ordered = core.order(snapshot, input)
      const order = input.unhealthy === undefined ? ordered : Order.demoteUnhealthy(ordered, input.unhealthy)
      const first = Order.firstAdmissible(core.members, snapshot, order, 0, circuitOn(core), input.now)
      if (first === undefined) {
        const full = core.members.filter((m, i) => snapshot.deployments[i].inFlight >= m.maxConcurrency).length
        const blocked: Blocked = { reopen: Order.earliestReopen(snapshot, input.now), full }
        return [Either.left(blocked), []]
      }
      const slot = { index: order[first.pos], probe: first.probe }
      return [Either.right({ slot, order, pos: first.pos }), [admitted(core, slot, false, true)]]
    }
  )
  return Effect.flatMap(decided, (chosen): Effect.Effect<Admission> => {
    if (Either.isLeft(chosen)) return Effect.succeed(Either.left(chosen.left))
    const { order, pos, slot } = chosen.right
    return Effect.as(Ref.set(request.walk, { order, pos, tries: 1, attempts: [] }), Either.right(slot))
  })
}

/** Admits the request to the next admissible candidate after the one tried last, counting a failover. */
const admitNext = <A>(request: Request<A>): Effect.Effect<Admission> => {
  const { core } = request
  const admit = (now: number, walk: Walk) =>
    core.store.modify(core.names, (snapshot) => {
      const found = Order.firstAdmissible(core.members, snapshot, walk.order, walk.pos + 1, circuitOn(core), now)
      if (found === undefined) return [undefined, []] as const
      const slot = { index: walk.order[found.pos], probe: found.probe }
      return [{ slot, pos: found.pos }, [admitted(core, slot, true, false)]] as const
    })
  return Effect.flatMap(Ref.get(request.walk), (walk) =>
    Effect.flatMap(admit(nowOf(request), walk), (next): Effect.Effect<Admission> => {
      if (next === undefined) return Effect.succeed(Either.left(none))
      return Effect.as(
        Ref.update(request.walk, (w) => ({ ...w, pos: next.pos, tries: w.tries + 1 })),
        Either.right(next.slot)
      )
    })
  )
}

/** A retry on the same deployment: the caller's own schedule, so it is not subject to admission again. */
const readmit = <A>(request: Request<A>, slot: Slot): Effect.Effect<Admission> =>
  Effect.zipRight(
    Effect.zipRight(
      request.core.store.write([admitted(request.core, { index: slot.index, probe: false }, false, false)]),
      Ref.update(request.walk, (w) => ({ ...w, tries: w.tries + 1 }))
    ),
    Effect.succeed(Either.right({ index: slot.index, probe: false }))
  )

/** Whether another call may start now: under `maxAttempts`, and `wait` millis from now before the deadline. */
const budgetLeft = <A>(request: Request<A>, wait: number) =>
  Effect.map(
    Ref.get(request.walk),
    (walk) => walk.tries < request.core.config.maxAttempts && nowOf(request) + wait < request.deadlineAt
  )

const retryAfterOf = (error: E): Duration.Duration =>
  error._tag === "RateLimited" && error.retryAfter !== undefined ? error.retryAfter : Duration.zero

/** The user's schedule, waiting at least each error's Retry-After, and stopping where the budget ends. */
const retrySchedule = <A>(request: Request<A>, schedule: Schedule.Schedule<unknown, E>) =>
  schedule.pipe(
    Schedule.intersect(Schedule.identity<E>().pipe(Schedule.addDelay(retryAfterOf))),
    Schedule.delays,
    // A wait that would outlive the deadline is better spent on another deployment.
    Schedule.checkEffect((_, delay) => budgetLeft(request, Duration.toMillis(delay)))
  )

/** Runs the request on the deployment `admit` picks, retried there by the user's schedule. */
const onDeployment = <A>(request: Request<A>, admit: Effect.Effect<Admission>) => {
  const schedule = request.core.config.retry
  if (schedule === undefined) return attempt(request, admit)
  return Effect.flatMap(Ref.make<Slot | undefined>(undefined), (chosen) => {
    const again = Effect.flatMap(Ref.get(chosen), (slot) =>
      slot === undefined
        ? Effect.tap(admit, (admission) => (Either.isRight(admission) ? Ref.set(chosen, admission.right) : Effect.void))
        : readmit(request, slot)
    )
    return Effect.retry(attempt(request, again), {
      schedule: retrySchedule(request, schedule),
      while: LiterLlmError.isTransient
    })
  })
}

/** The backup of a hedge had nobody to ask. Not an object, so it is compared as itself (`Effect.fail` hands an
 * object on wrapped with the current span). */
const NoBackup: unique symbol = Symbol.for("effect-liter-llm/Router/NoBackup")

/**
 * Hedging: when the first call has not answered after `delay` (or has already failed), the next candidate is asked
 * too; the first success wins and `Effect.race` interrupts the other, which counts as an interruption.
 */
const hedged = <A>(request: Request<A>, admit: Effect.Effect<Admission>, delay: number) =>
  Effect.flatMap(Deferred.make<void>(), (failed) => {
    const primary = Effect.tapError(onDeployment(request, admit), () => Deferred.succeed(failed, undefined))
    const backup = Effect.raceFirst(Effect.sleep(Duration.millis(delay)), Deferred.await(failed)).pipe(
      Effect.zipRight(budgetLeft(request, 0)),
      Effect.flatMap((ok) => (ok ? onDeployment(request, admitNext(request)) : Effect.succeed(Either.left(none)))),
      // Nobody to ask: fail quietly, and the race waits for the primary alone.
      Effect.flatMap(
        Either.match({ onLeft: () => Effect.fail(NoBackup), onRight: (a) => Effect.succeed(Either.right(a)) })
      )
    )
    return Effect.race(primary, backup).pipe(
      Effect.catchAllCause((cause) => {
        const failures = Chunk.toReadonlyArray(Cause.failures(cause)).filter((e): e is E => e !== NoBackup)
        if (failures.length === 0)
          return Effect.failCause(Cause.map(cause, () => new LiterLlmError.AllDeploymentsFailed({ attempts: [] })))
        return Effect.fail(failures.find((e) => !LiterLlmError.shouldFailover(e)) ?? failures[0])
      })
    )
  })

const giveUp = <A>(request: Request<A>, error: E) =>
  request.core.config.failover
    ? Effect.flatMap(Ref.get(request.walk), (walk) =>
        Effect.fail(new LiterLlmError.AllDeploymentsFailed({ attempts: walk.attempts }))
      )
    : Effect.fail(error)

/** Tries the deployment `admit` picks; a transient failure moves on to the next candidate. */
const tryFrom = <A>(
  request: Request<A>,
  admit: Effect.Effect<Admission>,
  onBlocked: (blocked: Blocked) => Effect.Effect<A, E>
): Effect.Effect<A, E> => {
  const delay = request.hedge ? request.core.config.hedgeDelay : undefined
  const first = delay === undefined ? onDeployment(request, admit) : hedged(request, admit, delay)
  return first.pipe(
    Effect.catchIf(LiterLlmError.shouldFailover, (error) => Effect.map(next(request, error), Either.right)),
    Effect.flatMap((result) => (Either.isLeft(result) ? onBlocked(result.left) : Effect.succeed(result.right)))
  )
}

const next = <A>(request: Request<A>, error: E): Effect.Effect<A, E> => {
  const { failover, maxAttempts } = request.core.config
  if (!failover) return Effect.fail(error)
  const onward = tryFrom(request, admitNext(request), () => giveUp(request, error))
  // Without a cap on calls or a deadline there is always budget left: no need to look.
  if (maxAttempts === Number.POSITIVE_INFINITY && request.deadlineAt === Number.POSITIVE_INFINITY) return onward
  return Effect.flatMap(budgetLeft(request, 0), (ok) => (ok ? onward : giveUp(request, error)))
}

const unavailable = (blocked: Blocked, n: number) => {
  const retryAfter = blocked.reopen === undefined ? undefined : Duration.millis(blocked.reopen)
  const why =
    blocked.full === 0 ? `all ${n} circuit(s) are open` : `${blocked.full} of ${n} deployment(s) are at maxConcurrency`
  return new LiterLlmError.NoDeploymentAvailable({
    retryAfter,
    message: `no deployment can take the request: ${why}; retry ${
      retryAfter === undefined ? "shortly" : `after ${Duration.format(retryAfter)}`
    }, or set waitForAvailable with a deadline to wait inside the router`
  })
}

/** How to route one request. */
export interface RouteOptions<A> {
  /** What a call does on the deployment it was admitted to. */
  readonly run: Runner<A>
  /** The size of the request, for cost-based ordering. */
  readonly cost: Order.CostInput | undefined
  /** Whether the router's `hedge` applies (not to streams, whose first chunk is their answer). */
  readonly hedge: boolean
}

const fresh: Walk = { order: [], pos: 0, tries: 0, attempts: [] }

/** Routes one request. */
export const route = <A>(core: Core, { cost, hedge, run }: RouteOptions<A>): Effect.Effect<A, E> =>
  Clock.clockWith((clock) =>
    Effect.flatMap(Ref.make(fresh), (walk) => {
      const { config, members } = core
      const began = clock.unsafeCurrentTimeMillis()
      const deadlineAt = config.deadline === undefined ? Number.POSITIVE_INFINITY : began + config.deadline
      const request: Request<A> = { core, clock, run, hedge, walk, deadlineAt }
      const blocked = (now: number) => (blocked: Blocked) => {
        const wait = blocked.reopen
        if (config.waitForAvailable && wait !== undefined && now + wait < deadlineAt) {
          return Effect.zipRight(
            Effect.sleep(Duration.millis(wait)),
            Effect.suspend(() => start(nowOf(request)))
          )
        }
        return Effect.fail(unavailable(blocked, members.length))
      }
      const walkFrom = (input: Order.Input) => tryFrom(request, choose(request, input), blocked(input.now))
      // Only what the strategy needs is gathered: a draw for weighted random, health where deployments report it.
      function start(now: number): Effect.Effect<A, E> {
        if (!config.needsDraw && !core.healthChecked) return walkFrom({ now, draw: 0, cost, unhealthy: undefined })
        return Effect.flatMap(
          Effect.zipWith(
            config.needsDraw ? Random.next : Effect.succeed(0),
            core.healthChecked ? Members.unhealthy(members) : Effect.succeed(undefined),
            (draw, unhealthy) => ({ now, draw, cost, unhealthy })
          ),
          walkFrom
        )
      }
      return start(began)
    })
  )
