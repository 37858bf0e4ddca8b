/**
 * Route facts: which deployment answered a request, in which group, after which attempts, at what cost. Read from
 * the request's walk once the answer (for a stream: its first chunk) is there, and written as attributes of the
 * operation's span, so what the caller gets and what a trace shows are the same facts.
 *
 * A stream's cost is known only at its end, from the usage on its last chunk: a stream that ends with usage is
 * reported a second time then, with the cost, to the same observer and span as the first report (captured when the
 * stream was routed, since the caller reads the rest of the stream in a context of its own).
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import type * as Chat from "../../Chat.js"
import * as Pricing from "../../Pricing.js"
import type { Core, Walk } from "./attempt.js"
import type { Member } from "./members.js"

/** One call of a request. */
export interface RouteAttempt {
  readonly deployment: string
  /** The tag of the error it ended with (`"Interrupted"` for a hedge's loser); absent for the call that answered. */
  readonly error?: string | undefined
  readonly duration: Duration.Duration
}

/** How a request was served. */
export interface Route {
  /** The deployment that answered. */
  readonly deployment: string
  /** Its group; undefined in a router without groups. */
  readonly group: string | undefined
  /** Every call, in the order they ended (the answering one included). */
  readonly attempts: ReadonlyArray<RouteAttempt>
  /**
   * USD at the answering deployment's prices, from the answer's usage (a transcription: its hours of audio where the
   * price data prices them so); undefined when either is unknown.
   */
  readonly cost?: number | undefined
}

/** The facts of a walk that ended with a chat answer; `usage` prices it at the answering deployment's prices. */
export const factsOf = (core: Core, walk: Walk, usage: Chat.Usage | undefined): Route =>
  factsPriced(core, walk, (member) =>
    usage === undefined || member.pricing === undefined ? undefined : Pricing.costOfUsage(member.pricing, usage)
  )

/** The facts of a walk that ended with an answer; `price` says what it cost at the deployment that answered. */
export const factsPriced = (core: Core, walk: Walk, price: (member: Member) => number | undefined): Route => {
  const attempts = walk.calls.map((c): RouteAttempt => ({
    deployment: core.names[c.index],
    ...(c.error === undefined ? {} : { error: c.error }),
    duration: Duration.millis(c.duration)
  }))
  const served = walk.calls.find((c) => c.error === undefined)
  const member = core.members[served?.index ?? 0]
  const group = core.groups.grouped ? member.group : undefined
  return { deployment: member.name, group, attempts, cost: price(member) }
}

/**
 * Who wants to hear of each route, through any middleware between it and the router (a gateway that serves a
 * caller's key-limited service still tells the client which deployment answered). Nobody by default.
 */
export class Observer extends Context.Reference<Observer>()("effect-liter-llm/Router/RouteObserver", {
  defaultValue: (): ((route: Route) => Effect.Effect<void>) | undefined => undefined
}) {}

/** The facts as attributes of the current span (the operation's), and to the observer in context. */
export const annotate = (route: Route): Effect.Effect<void> =>
  Effect.flatMap(Observer, (observe) =>
    observe === undefined ? annotateSpan(route) : Effect.zipRight(observe(route), annotateSpan(route))
  )

const attributesOf = (route: Route): Record<string, unknown> => ({
  "ell.route.deployment": route.deployment,
  ...(route.group === undefined ? {} : { "ell.route.group": route.group }),
  "ell.route.attempts": route.attempts.length,
  ...(route.cost === undefined ? {} : { "ell.route.cost": route.cost })
})

const annotateSpan = (route: Route): Effect.Effect<void> => Effect.annotateCurrentSpan(attributesOf(route))

/**
 * Reports to the observer and span of the context it was made in, wherever it later runs: how a stream's final
 * facts reach the same places as its first ones.
 */
export const reporter: Effect.Effect<(route: Route) => Effect.Effect<void>> = Effect.map(
  Effect.zip(Observer, Effect.option(Effect.currentSpan)),
  ([observe, span]) =>
    (route) => {
      const annotate = Option.match(span, {
        onNone: () => Effect.void,
        onSome: (s: Tracer.Span) =>
          Effect.sync(() => {
            for (const [key, value] of Object.entries(attributesOf(route))) s.attribute(key, value)
          })
      })
      return observe === undefined ? annotate : Effect.zipRight(observe(route), annotate)
    }
)

/** A failed request's attempts on the current span. */
export const annotateFailed = (walk: Walk): Effect.Effect<void> =>
  Effect.annotateCurrentSpan("ell.route.attempts", walk.calls.length)
