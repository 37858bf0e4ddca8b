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
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as RouterStore from "../../RouterStore.js"
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
}

/** One request's walk through the candidates. */
export interface Walk {
  readonly order: ReadonlyArray<number>
  /** Position in `order` of the deployment tried last. */
  readonly pos: number
  /** Calls started (first tries, retries, failovers, hedges): bounded by `maxAttempts`. */
  readonly tries: number
  readonly attempts: ReadonlyArray<LiterLlmError.Attempt>
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
}

/** An admission: a slot, or why there is none. */
export type Admission = Either.Either<Slot, Blocked>

/** What a call does on the deployment it was admitted to, settling through `settle` whatever happens. */
export type Runner<A> = (
  request: InFlight,
  slot: Slot,
  start: number,
  restore: <X, E, R>(effect: Effect.Effect<X, E, R>) => Effect.Effect<X, E, R>
) => Effect.Effect<A, LiterLlmError.LiterLlmError>

/** One request in flight through the router. */
export interface InFlight {
  readonly core: Core
  readonly walk: Ref.Ref<Walk>
  readonly deadlineAt: number
}

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

/** How an exit counts for the deployment, and the error to report among the attempts. */
export const judge = (
  exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>,
  duration: number
): { readonly outcome: RouterStore.Outcome; readonly error?: LiterLlmError.LiterLlmError } => {
  if (Exit.isSuccess(exit)) return { outcome: { _tag: "Success", latency: duration } }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    const retryAfter =
      error._tag === "RateLimited" && error.retryAfter !== undefined ? Duration.toMillis(error.retryAfter) : undefined
    return { outcome: { _tag: "Failure", transient: LiterLlmError.isTransient(error), retryAfter }, error }
  }
  if (Cause.isInterruptedOnly(exit.cause)) return { outcome: { _tag: "Interrupted" } }
  const error = new LiterLlmError.InternalError({
    message: "a deployment died with a defect",
    cause: Cause.squash(exit.cause)
  })
  return { outcome: { _tag: "Failure", transient: false, retryAfter: undefined }, error }
}

/** Writes how a call ended: the request's attempt list, then the store. */
export const settle = (
  request: InFlight,
  slot: Slot,
  start: number,
  verdict: (duration: number) => ReturnType<typeof judge>
): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (at) => {
    const duration = at - start
    const { error, outcome } = verdict(duration)
    const deployment = request.core.names[slot.index]
    const event = {
      _tag: "Settled",
      deployment,
      at,
      duration,
      probe: slot.probe,
      outcome,
      rules: request.core.config.rules
    } as const
    const write = request.core.store.write([event])
    if (error === undefined) return write
    const attempt = { deployment, error, duration: Duration.millis(duration) }
    return Effect.zipRight(
      Ref.update(request.walk, (w) => ({ ...w, attempts: [...w.attempts, attempt] })),
      write
    )
  })

/** Runs a request-response operation: the call under its time limit, settled on exit. */
export const call =
  <A>(op: (member: Member) => Effect.Effect<A, LiterLlmError.LiterLlmError>): Runner<A> =>
  (request, slot, start, restore) => {
    const member = request.core.members[slot.index]
    const limited = within(op(member), limitOf(request, start, request.core.config.timeout), member.name, "answer")
    return Effect.onExit(restore(limited), (exit) => settle(request, slot, start, (duration) => judge(exit, duration)))
  }

const outcomeName = (exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>): string => {
  if (Exit.isSuccess(exit)) return "success"
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) ? failure.value._tag : Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "defect"
}

/**
 * Admits with `admit` and runs the request there, as one span. Left when nobody could be admitted (nothing ran).
 */
export const attempt = <A>(
  request: Request<A>,
  admit: Effect.Effect<Admission>
): Effect.Effect<Either.Either<A, Blocked>, LiterLlmError.LiterLlmError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(admit, (admission): Effect.Effect<Either.Either<A, Blocked>, LiterLlmError.LiterLlmError> => {
      if (Either.isLeft(admission)) return Effect.succeed(Either.left(admission.left))
      const slot = admission.right
      const attributes = { deployment: request.core.names[slot.index], probe: slot.probe }
      // `useSpan` hands over the span itself, so the outcome is set on it directly when the call ends.
      return Effect.useSpan("Router.attempt", { attributes, captureStackTrace: false }, (span) =>
        Effect.flatMap(Clock.currentTimeMillis, (start) =>
          // The span's own start and end give the duration.
          Effect.onExit(request.run(request, slot, start, restore), (exit) =>
            Effect.sync(() => span.attribute("outcome", outcomeName(exit)))
          )
        ).pipe(Effect.map(Either.right), Effect.withParentSpan(span))
      )
    })
  )
