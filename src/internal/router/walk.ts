/**
 * A request's walk through the candidates: choose and admit in one store step, run the call (retried on its
 * deployment by the user's schedule, hedged when asked), and on a transient error (or a used-up quota, which is
 * never retried on its deployment) move to the next admissible candidate — `Effect.catchIf(attempt, shouldFailover,
 * next)`. Any other error leaves at once, unchanged.
 * Retries, failovers and hedges together never start more than `maxAttempts` calls, and nothing starts after the
 * deadline; giving up reports every attempt as `AllDeploymentsFailed`.
 *
 * The walk goes through model groups (see groups.ts): the request's own group first, each group's candidates in the
 * strategy's order; when a group has nobody left to ask, the next group of the plan is entered, with the same call
 * budget, deadline and attempt list. A `ContextWindowExceeded` or `ContentPolicy` moves the request at once to the
 * group's fallbacks for that error, where there are any (else it leaves unchanged, as any non-transient error).
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as LiterLlmError from "../../LiterLlmError.js"
import {
  admitNext,
  both,
  budgetLeft,
  choose,
  inputOf,
  nextGroup,
  none,
  noCandidates,
  nowOf,
  readmit,
  type Routed
} from "./admit.js"
import {
  type Admission,
  attempt,
  type Blocked,
  type Core,
  type Request,
  type Runner,
  type Slot,
  type Walk
} from "./attempt.js"
import * as Groups from "./groups.js"
import type * as Order from "./order.js"
import * as Routing from "./routing.js"

type E = LiterLlmError.LiterLlmError

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
        Effect.fail(
          walk.attempts.length > 0 && walk.attempts.every((a) => a.error._tag === "EndpointNotSupported")
            ? noneSupports(walk.attempts)
            : new LiterLlmError.AllDeploymentsFailed({ attempts: walk.attempts })
        )
      )
    : Effect.fail(error)

/** Every deployment asked said it cannot do this operation: the caller's request cannot be served here. */
const noneSupports = (attempts: LiterLlmError.AllDeploymentsFailed["attempts"]) => {
  const first = attempts[0].error as LiterLlmError.EndpointNotSupported
  return new LiterLlmError.BadRequest({
    message: `no deployment of this router supports the operation "${first.endpoint}" (asked: ${attempts
      .map((a) => a.deployment)
      .join(", ")}); add a deployment whose provider serves it, or send the request elsewhere`
  })
}

/**
 * A deployment that cannot do the operation is skipped: the next candidate is asked, as after a transient failure,
 * but nothing about that deployment's health is learned from it (see `attempt.ts`).
 */
const skips = (error: E) => error._tag === "EndpointNotSupported"

/** An error that sends the request to other groups at once, rather than to the next deployment. */
const redirects = (error: E) => error._tag === "ContextWindowExceeded" || error._tag === "ContentPolicy"

/** Tries the deployment `admit` picks; a transient failure moves on to the next candidate. */
const tryFrom = <A>(
  request: Routed<A>,
  admit: Effect.Effect<Admission>,
  onBlocked: (blocked: Blocked) => Effect.Effect<A, E>
): Effect.Effect<A, E> => {
  const delay = request.hedge ? request.core.config.hedgeDelay : undefined
  const first = delay === undefined ? onDeployment(request, admit) : hedged(request, admit, delay)
  const onward = (error: E) => LiterLlmError.shouldFailover(error) || skips(error)
  const moves = request.core.groups.redirecting ? (error: E) => onward(error) || redirects(error) : onward
  return first.pipe(
    Effect.catchIf(moves, (error) =>
      Effect.map(onward(error) ? next(request, error) : redirect(request, error), Either.right)
    ),
    Effect.flatMap((result) => (Either.isLeft(result) ? onBlocked(result.left) : Effect.succeed(result.right)))
  )
}

const next = <A>(request: Routed<A>, error: E): Effect.Effect<A, E> => {
  const { failover } = request.core.config
  if (!failover) return Effect.fail(error)
  const fail = () => giveUp(request, error)
  const onward = tryFrom(request, admitNext(request), () => enterNext(request, none, fail))
  // Without a cap on calls or a deadline there is always budget left: no need to look.
  if (request.maxAttempts === Number.POSITIVE_INFINITY && request.deadlineAt === Number.POSITIVE_INFINITY) return onward
  return Effect.flatMap(budgetLeft(request, 0), (ok) => (ok ? onward : fail()))
}

/** A context-window or content-policy error: on to the group's fallbacks for it, if it has any. */
const redirect = <A>(request: Routed<A>, error: E): Effect.Effect<A, E> =>
  Effect.flatMap(
    Ref.modify(request.walk, (w) => {
      const { groups } = request.core
      const to = (error._tag === "ContextWindowExceeded" ? groups.contextWindow : groups.contentPolicy)[w.group]
      if (to === undefined) return [false, w] as const
      return [true, { ...w, pending: to.filter((g) => !w.visited.includes(g)) }] as const
    }),
    (moved) => (moved ? enterNext(request, none, () => Effect.fail(error)) : Effect.fail(error))
  )

/** Enters the next group of the plan (if the budget allows), and walks it; `otherwise` when none takes the request. */
const enterNext = <A>(
  request: Routed<A>,
  blocked: Blocked,
  otherwise: (blocked: Blocked) => Effect.Effect<A, E>
): Effect.Effect<A, E> =>
  Effect.flatMap(nextGroup(request), (next) => {
    if (next === undefined) return otherwise(blocked)
    return Effect.flatMap(budgetLeft(request, 0), (ok) =>
      ok
        ? Effect.flatMap(inputOf(request, nowOf(request), next.within), (input) =>
            tryFrom(request, choose(request, input), (more) => enterNext(request, both(blocked, more), otherwise))
          )
        : otherwise(blocked)
    )
  })

const unavailable = (blocked: Blocked) => {
  const n = blocked.candidates
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
  /** The group the request's model names (0 in a router without groups); undefined: any deployment (listModels). */
  readonly group: number | undefined
  /** The request's routing settings, checked; and as given, to word a refusal. */
  readonly steer: Routing.Steer | undefined
  readonly settings: Routing.Settings
}

/** A walk that has not started. */
export const fresh: Walk = { order: [], pos: 0, tries: 0, attempts: [], calls: [], group: 0, pending: [], visited: [] }

/** Routes one request, keeping its walk in `walk` (its attempts are the route's facts). */
export const routeIn = <A>(core: Core, options: RouteOptions<A>, walk: Ref.Ref<Walk>): Effect.Effect<A, E> =>
  Clock.clockWith((clock) => {
    const { config, groups, members } = core
    const { steer } = options
    const began = clock.unsafeCurrentTimeMillis()
    const deadlineAt = config.deadline === undefined ? Number.POSITIVE_INFINITY : began + config.deadline
    const request: Routed<A> = {
      core,
      clock,
      run: options.run,
      hedge: options.hedge,
      walk,
      deadlineAt,
      maxAttempts: steer?.maxAttempts ?? config.maxAttempts,
      timeout: steer?.timeout ?? config.timeout,
      cost: options.cost,
      steer
    }
    const own = options.group ?? 0
    const blocked = (now: number) => (blocked: Blocked) => {
      if (blocked === noCandidates) return Effect.fail(Routing.nothingLeft(groups, options.settings, own))
      const wait = blocked.reopen
      if (config.waitForAvailable && wait !== undefined && now + wait < deadlineAt) {
        return Effect.zipRight(
          Effect.sleep(Duration.millis(wait)),
          Effect.suspend(() => start(nowOf(request)))
        )
      }
      return Effect.fail(unavailable(blocked))
    }
    const anywhere = options.group === undefined
    const plan = anywhere ? {} : { group: own, pending: Groups.enqueue(groups, [], own, [own]), visited: [own] }
    const within = anywhere ? undefined : Routing.candidates(members, groups, steer, own)
    function start(now: number): Effect.Effect<A, E> {
      const begin = Ref.update(walk, (w) => ({ ...w, ...plan }))
      if (within !== undefined && within.length === 0) {
        return Effect.zipRight(begin, enterNext(request, noCandidates, blocked(now)))
      }
      const enter = (input: Order.Input) =>
        tryFrom(request, choose(request, input), (first) => enterNext(request, first, blocked(now)))
      if (!groups.grouped || anywhere) {
        // Without groups there is no plan to set: one step less on the way of every request.
        return Effect.flatMap(inputOf(request, now, within), enter)
      }
      return Effect.zipRight(begin, Effect.flatMap(inputOf(request, now, within), enter))
    }
    return start(began)
  })

/** Routes one request. */
export const route = <A>(core: Core, options: RouteOptions<A>): Effect.Effect<A, E> =>
  Effect.flatMap(Ref.make(fresh), (walk) => routeIn(core, options, walk))
