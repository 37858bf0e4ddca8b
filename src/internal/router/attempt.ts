/**
 * One call on one deployment. Admission and the registration of its settling happen in one uninterruptible step, and
 * only the call itself is interruptible (as the caller's is): whatever the exit — success, failure, defect or
 * interruption — the in-flight slot and any half-open probe are given back, in one settling event, and a failure is
 * added to the request's attempt list. Each call is a span under the router's, with its deployment, outcome and
 * duration.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Tracer from "effect/Tracer"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as RouterStore from "../../RouterStore.js"
import type { Groups } from "./groups.js"
import type { Member } from "./members.js"
import type { Config } from "./options.js"
import type { Order } from "./order.js"

/** A built router: what every request reads. */
export interface Core {
  readonly members: ReadonlyArray<Member>
  readonly names: ReadonlyArray<string>
  readonly config: Config
  readonly store: RouterStore.Service
  readonly order: Order
  /** Some deployment has a health check (unhealthy ones are tried last). */
  readonly healthChecked: boolean
  readonly groups: Groups
}

/** One call as the request's route reports it: a failure's tag, or none for the call that answered. */
export interface CallRecord {
  readonly index: number
  readonly error: string | undefined
  readonly duration: number
}

/** One request's walk through the candidates. */
export interface Walk {
  readonly order: ReadonlyArray<number>
  /** Position in `order` of the deployment tried last. */
  readonly pos: number
  /** Calls started (first tries, retries, failovers, hedges): bounded by `maxAttempts`. */
  readonly tries: number
  readonly attempts: ReadonlyArray<LiterLlmError.Attempt>
  /** Every call that ended (and the one that answered), in order: the route's facts. */
  readonly calls: ReadonlyArray<CallRecord>
  /** The group being walked, the groups still to visit, and those visited. */
  readonly group: number
  readonly pending: ReadonlyArray<number>
  readonly visited: ReadonlyArray<number>
}

/** A deployment the request was admitted to. */
export interface Slot {
  readonly index: number
  readonly probe: boolean
}

/** Why nobody could take the request: when the first circuit reopens, and how many deployments are full. */
export interface Blocked {
  readonly reopen: number | undefined
  readonly full: number
  /** How many candidates were looked at. */
  readonly candidates: number
}

/** An admission: a slot, or why there is none. */
export type Admission = Either.Either<Slot, Blocked>

/** One request in flight through the router. */
export interface InFlight {
  readonly core: Core
  /** The `Clock` of the request's fiber, read where a time is needed rather than through an effect per read. */
  readonly clock: Clock.Clock
  readonly walk: Ref.Ref<Walk>
  readonly deadlineAt: number
  /** The request's own `maxAttempts` and `timeout` (its routing settings, else the router's). */
  readonly maxAttempts: number
  readonly timeout: number | undefined
}

/** Where one call runs: the request, its slot, when it started, its span, and the mask's `restore`. */
export interface Call {
  readonly request: InFlight
  readonly slot: Slot
  readonly start: number
  readonly span: Tracer.Span
  readonly restore: <X, E, R>(effect: Effect.Effect<X, E, R>) => Effect.Effect<X, E, R>
}

/** What a call does on the deployment it was admitted to; it settles the call through {@link ended} or `settle`. */
export type Runner<A> = (call: Call) => Effect.Effect<A, LiterLlmError.LiterLlmError>

/** A request in flight and what each of its calls does. */
export interface Request<A> extends InFlight {
  readonly run: Runner<A>
  readonly hedge: boolean
}

/** The time budget of a call starting at `start`: the attempt's limit, cut short by the request's deadline. */
export const limitOf = (request: InFlight, start: number, perAttempt: number | undefined): number =>
  Math.min(perAttempt ?? Number.POSITIVE_INFINITY, request.deadlineAt - start)

/** `effect` failing with `Timeout` after `limit` millis (none when infinite). */
export const within = <A>(
  effect: Effect.Effect<A, LiterLlmError.LiterLlmError>,
  limit: number,
  name: string,
  what: string
): Effect.Effect<A, LiterLlmError.LiterLlmError> => {
  if (limit === Number.POSITIVE_INFINITY) return effect
  const millis = Math.max(0, limit)
  return Effect.timeoutFail(effect, {
    duration: Duration.millis(millis),
    onTimeout: () =>
      new LiterLlmError.Timeout({
        provider: name,
        message: `deployment "${name}" gave no ${what} within ${Duration.format(
          Duration.millis(millis)
        )}; the router moves on to the next deployment (raise timeout or deadline if this is expected)`
      })
  })
}

/** How a call ended, for the store and the request's attempt list. */
export type Verdict = {
  readonly outcome: RouterStore.Outcome
  readonly error?: LiterLlmError.LiterLlmError
}

const success: Verdict = { outcome: { _tag: "Success", latency: undefined } }
const interrupted: Verdict = { outcome: { _tag: "Interrupted" } }

/** How an exit counts for the deployment (`latency`: the sample a success gives), and the error to report. */
export const judge = (exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>, latency: number | undefined): Verdict => {
  if (Exit.isSuccess(exit)) return latency === undefined ? success : { outcome: { _tag: "Success", latency } }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    const retryAfter =
      error._tag === "RateLimited" && error.retryAfter !== undefined ? Duration.toMillis(error.retryAfter) : undefined
    return { outcome: { _tag: "Failure", transient: LiterLlmError.isTransient(error), retryAfter }, error }
  }
  if (Cause.isInterruptedOnly(exit.cause)) return interrupted
  const error = new LiterLlmError.InternalError({
    message: "a deployment died with a defect",
    cause: Cause.squash(exit.cause)
  })
  return { outcome: { _tag: "Failure", transient: false, retryAfter: undefined }, error }
}

/**
 * A used-up quota is not transient for the caller (nothing is retried on that deployment), but for the circuit it is
 * a failure with a long Retry-After: the circuit opens at once, for at least `quotaCooldown` whatever the cooldown
 * policy says, and the next probe after it finds out whether the quota is back. Said in the outcome's existing
 * fields, so every store applies it without knowing about quotas.
 */
const quotaAware = (verdict: Verdict, quotaCooldown: number): Verdict =>
  verdict.error?._tag === "QuotaExceeded"
    ? { outcome: { _tag: "Failure", transient: true, retryAfter: quotaCooldown }, error: verdict.error }
    : verdict

/**
 * Writes how a call that started at `start` ended at `at`: the store, and a failure to the request's attempt list.
 * `verdict` gets the call's duration (a success's latency sample).
 */
export const settle = (
  request: InFlight,
  slot: Slot,
  start: number,
  at: number,
  verdict: (duration: number) => Verdict
): Effect.Effect<void> => {
  const duration = at - start
  const { config, names, store } = request.core
  const { error, outcome } = quotaAware(verdict(duration), config.quotaCooldown)
  const deployment = names[slot.index]
  const write = store.write([
    { _tag: "Settled", deployment, at, duration, probe: slot.probe, outcome, rules: config.rules }
  ])
  if (error === undefined) {
    if (outcome._tag !== "Interrupted") return write
    const record = { index: slot.index, error: "Interrupted", duration }
    return Effect.zipRight(
      Ref.update(request.walk, (w) => ({ ...w, calls: [...w.calls, record] })),
      write
    )
  }
  const attempt = { deployment, error, duration: Duration.millis(duration) }
  const record = { index: slot.index, error: error._tag, duration }
  return Effect.zipRight(
    Ref.update(request.walk, (w) => ({ ...w, attempts: [...w.attempts, attempt], calls: [...w.calls, record] })),
    write
  )
}

const outcomeName = (exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>): string => {
  if (Exit.isSuccess(exit)) return "success"
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) ? failure.value._tag : Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "defect"
}

/** Marks the call's span with its outcome (the span ends with the attempt). */
export const mark = (call: Call, exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>): void =>
  call.span.attribute("outcome", outcomeName(exit))

/** A request-response call has just ended: its outcome on the span, then settled. */
const ended = ({ request, slot, start, span }: Call, exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>) => {
  span.attribute("outcome", outcomeName(exit))
  return settle(request, slot, start, request.clock.unsafeCurrentTimeMillis(), (duration) => judge(exit, duration))
}

/** Runs a request-response operation: the call under its time limit, settled on exit. */
export const call =
  <A>(op: (member: Member) => Effect.Effect<A, LiterLlmError.LiterLlmError>): Runner<A> =>
  (call) => {
    const { request, restore, slot, start } = call
    const member = request.core.members[slot.index]
    const limited = within(op(member), limitOf(request, start, request.timeout), member.name, "answer")
    return Effect.onExit(restore(limited), (exit) => ended(call, exit))
  }

/**
 * Admits with `admit` and runs the request there, as one `Router.attempt` span (deployment, probe, outcome; its own
 * start and end give the duration) under the operation's span — which stays the current span, so the deployment's
 * own spans are its children too: one change of the current span per request rather than one per attempt. Left when
 * nobody could be admitted (nothing ran).
 */
export const attempt = <A>(
  request: Request<A>,
  admit: Effect.Effect<Admission>
): Effect.Effect<Either.Either<A, Blocked>, LiterLlmError.LiterLlmError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(admit, (admission): Effect.Effect<Either.Either<A, Blocked>, LiterLlmError.LiterLlmError> => {
      if (Either.isLeft(admission)) return Effect.succeed(Either.left(admission.left))
      const slot = admission.right
      const member = request.core.members[slot.index]
      return Effect.useSpan("Router.attempt", slot.probe ? member.probeSpan : member.span, (span) => {
        const start = request.clock.unsafeCurrentTimeMillis()
        return Effect.flatMap(request.run({ request, slot, start, span, restore }), (a) => {
          // The call that answered (for a stream: whose first chunk arrived), with how long that took.
          const record = {
            index: slot.index,
            error: undefined,
            duration: request.clock.unsafeCurrentTimeMillis() - start
          }
          return Effect.as(
            Ref.update(request.walk, (w) => ({ ...w, calls: [...w.calls, record] })),
            Either.right(a)
          )
        })
      })
    })
  )
