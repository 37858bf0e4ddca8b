/**
 * The router: many deployments behind one `LlmService`, each request ordered by a {@link Strategy}, failed over on
 * transient errors, guarded by a per-deployment circuit breaker, and streamed safely.
 *
 * ```ts
 * const router = Router.layer({
 *   deployments: [
 *     Deployment.make({ name: "primary", layer: OpenAiCompatible.layer({ baseUrl, apiKey }) }),
 *     Deployment.make({ name: "backup", layer: Anthropic.layer({ apiKey }) })
 *   ],
 *   strategy: Strategy.fallback(),
 *   timeout: "20 seconds"
 * })
 * ```
 *
 * Decisions, and what they fix in liter-llm's seed router (`src/tower/router.rs`, as DESIGN.md describes it):
 * - Every strategy fails over (the seed only did for Fallback): a strategy is an ordering, not a single pick.
 *   `failover: false` restores single-shot calls, returning the deployment's own error.
 * - Deployments are layers, built once when the router is built, in its scope (unlike `ExecutionPlan`, which provides
 *   a step's layer per attempt). A router layer is itself a valid deployment.
 * - Giving up reports every attempt (deployment, error, duration) in `AllDeploymentsFailed`; non-transient errors
 *   (bad request, auth, context window) are the caller's and return at once, unchanged.
 * - Latency EMA (alpha 0.3): the seed let unmeasured deployments absorb a whole burst, let fast failures look like
 *   fast answers, and starved a deployment that was slow once. Here unmeasured deployments get one probe at a time,
 *   failures only ever raise the average, a deployment whose last call failed ranks behind every one whose last call
 *   succeeded (also when nothing was measured yet), and a stale average is re-probed (after `reprobeAfter`).
 * - Cost-based really compares the expected cost of this request (the seed's was fallback in disguise).
 * - Circuit breaker on by default (count or failure rate; cooldown max(cooldown, Retry-After), growing by `backoff`
 *   per consecutive trip up to `maxCooldown`; one half-open probe). When every circuit is open the router fails
 *   fast with `NoDeploymentAvailable` and the earliest reopening, or waits for it with `waitForAvailable`.
 * - Health: deployments whose `HealthCheck` reports unhealthy are tried last — kept as a last resort, because a
 *   health probe can be stale and trying a suspect deployment beats failing without trying.
 * - `maxConcurrency` is a hard cap: a full deployment is skipped for this request, never queued on.
 * - `retry` is a schedule run per deployment before failing over; waits honour `Retry-After`; retries, failovers and
 *   hedges together never start more than `maxAttempts` calls, and nothing starts after `deadline`.
 * - Streams fail over only before the first chunk (pulled inside the attempt, under `firstChunkTimeout`); a later
 *   failure ends the stream with `Streaming` (the original error as `cause`), so output is never repeated or mixed.
 *   For streams, `deadline` bounds the wait for the first chunk, and that wait is the latency sample.
 * - `hedge` (chat and embed only): a second candidate is asked when the first is slow or has failed; the first
 *   success wins, the loser is interrupted and counted as an interruption, not a failure.
 * - Interruption: admission and the registration of its settling are one uninterruptible step, the call itself is
 *   interruptible; interrupting the caller interrupts the call, and the in-flight slot and any half-open probe are
 *   always given back.
 * - `listModels` is routed like any call (the first available deployment answers), so a health check of a router
 *   sees whether any of its deployments is up.
 * - Bad input never reaches a deployment: options out of range fail the build with a `BadRequest` naming the option,
 *   and each request is checked (`max_tokens`, `temperature`, …) before a deployment is picked.
 *
 * State — counters, round-robin turn, latency, circuits — lives behind {@link RouterStore.RouterStore}: the one in
 * the context when provided (shared with every router using it), else a memory store of this router's own. A request
 * chooses and is admitted in one store step, and settles in `Effect.onExit` of its call. Each call is a
 * `Router.attempt` span (deployment, probe, outcome, duration) under the operation's span (`Router.chat`, …), which
 * stays the current span: the deployments' own spans are its children too, beside the attempt they belong to (one
 * change of the current span per request, not one per attempt).
 *
 * Compared with `ExecutionPlan`: the order is the strategy's and follows live state rather than a fixed list; layers
 * are built once rather than per attempt; circuits and caps are checked at every step; the caller gets the whole
 * attempt history.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Deployment from "./Deployment.js"
import type * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import * as RouterStore from "./RouterStore.js"
import type * as Strategy from "./Strategy.js"
import type { Core } from "./internal/router/attempt.js"
import * as Members from "./internal/router/members.js"
import * as RouterOptions from "./internal/router/options.js"
import * as Order from "./internal/router/order.js"
import { serviceOf } from "./internal/router/service.js"
import * as Stats from "./internal/router/stats.js"

/**
 * The circuit-breaker policy. A deployment's circuit opens after `failures` consecutive transient failures (default
 * 5), or — when `failureRate` is set — once at least `minRequests` (default 10) calls within `window` (default 1
 * minute) failed at that rate. It stays open max(`cooldown` (default 10 s), Retry-After), multiplied by `backoff`
 * (default 2) for each consecutive trip, up to `maxCooldown` (default 5 minutes); then one probe is let through.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitOptions {
  /** Consecutive transient failures that open the circuit (default 5). */
  readonly failures?: number | undefined
  /** Also open when this fraction (0..1] of the calls in `window` failed… */
  readonly failureRate?: number | undefined
  /** …once the window holds at least this many calls (default 10). */
  readonly minRequests?: number | undefined
  /** The rolling window of `failureRate` (default 1 minute). */
  readonly window?: Duration.DurationInput | undefined
  /** How long the first trip keeps the circuit open (default 10 seconds); at least the Retry-After. */
  readonly cooldown?: Duration.DurationInput | undefined
  /** The longest cooldown, however many consecutive trips (default 5 minutes). */
  readonly maxCooldown?: Duration.DurationInput | undefined
  /** The cooldown's growth per consecutive trip (default 2). */
  readonly backoff?: number | undefined
}

/**
 * Router options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<D extends Deployment.Deployment<any, any>> {
  /** The deployments, in list order (which breaks ties for every strategy). */
  readonly deployments: ReadonlyArray<D>
  /** How to order deployments per request. */
  readonly strategy: Strategy.Strategy
  /** Try the next candidate on a transient error (default true). */
  readonly failover?: boolean | undefined
  /** The most calls one request may start, counting retries, failovers and hedges (default unbounded). */
  readonly maxAttempts?: number | undefined
  /** Time limit of each call; a call that runs out fails with `Timeout` and the router moves on. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Time limit of the whole request, across attempts (for streams: until the first chunk). */
  readonly deadline?: Duration.DurationInput | undefined
  /** Retries on the same deployment before failing over; waits are at least the error's Retry-After. */
  readonly retry?: Schedule.Schedule<unknown, LiterLlmError.LiterLlmError> | undefined
  /** Circuit-breaker policy; `false` turns it off. On by default. */
  readonly circuit?: false | CircuitOptions | undefined
  /**
   * How long a deployment that answered `QuotaExceeded` rests: its circuit opens at once, for at least this (default
   * 1 hour). With `circuit: false` nothing rests; the request is only failed over.
   */
  readonly quotaCooldown?: Duration.DurationInput | undefined
  /** When every circuit is open, wait for the first to reopen (if the deadline allows) instead of failing. */
  readonly waitForAvailable?: boolean | undefined
  /** How long a stream may take to produce its first chunk before the router fails over. */
  readonly firstChunkTimeout?: Duration.DurationInput | undefined
  /** For `chat` and `embed`: also ask the next candidate if the first has not answered after `delay`. */
  readonly hedge?: { readonly delay: Duration.DurationInput } | undefined
}

/**
 * What the router knows about one deployment.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeploymentStats extends Stats.DeploymentStats {}

/**
 * A snapshot of the router: per deployment, in list order, plus how many times a request moved to another deployment.
 *
 * @since 0.1.0
 * @category models
 */
export interface RouterStats extends Stats.Stats {
  readonly deployments: ReadonlyArray<DeploymentStats>
}

/**
 * A built router: the service and its introspection.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly service: LlmService.Service
  readonly stats: Effect.Effect<RouterStats>
}

/**
 * The tag of a built router, provided by {@link layerWithStats} next to the `LlmService`.
 *
 * @since 0.1.0
 * @category tags
 */
export class Router extends Context.Tag("effect-liter-llm/Router")<Router, Service>() {}

/**
 * Builds a router in the current scope: validates the options (failing with `BadRequest`), builds every
 * deployment's layer once, and returns the service with its stats. State goes to the `RouterStore` in the context,
 * else to a memory store of its own.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <D extends Deployment.Deployment<any, any>>(
  options: Options<D>
): Effect.Effect<Service, LiterLlmError.BadRequest | Deployment.Error<D>, Deployment.Context<D> | Scope.Scope> =>
  Effect.gen(function* () {
    const config = yield* RouterOptions.check(options)
    const members = yield* Members.build(options.deployments, config.weights)
    const store = yield* Effect.flatMap(
      Effect.serviceOption(RouterStore.RouterStore),
      Option.match({ onNone: () => RouterStore.makeMemory, onSome: Effect.succeed })
    )
    const core: Core = {
      members,
      names: members.map((m) => m.name),
      config,
      store,
      order: Order.compile(options.strategy, members, config.rules.circuit !== undefined, config.rules.staleAfter),
      healthChecked: Members.anyHealth(members)
    }
    return { service: serviceOf(core), stats: Stats.snapshot(core) }
  })

/**
 * A router as a layer providing `LlmService`; usable as a deployment of another router.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <D extends Deployment.Deployment<any, any>>(
  options: Options<D>
): Layer.Layer<LlmService.LlmService, LiterLlmError.BadRequest | Deployment.Error<D>, Deployment.Context<D>> =>
  Layer.scoped(
    LlmService.LlmService,
    Effect.map(make(options), (router) => router.service)
  )

/**
 * A router layer that also provides its stats under {@link Router}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithStats = <D extends Deployment.Deployment<any, any>>(
  options: Options<D>
): Layer.Layer<LlmService.LlmService | Router, LiterLlmError.BadRequest | Deployment.Error<D>, Deployment.Context<D>> =>
  Layer.scopedContext(
    Effect.map(make(options), (router) =>
      Context.make(LlmService.LlmService, router.service).pipe(Context.add(Router, router))
    )
  )

/**
 * The stats of the router provided by {@link layerWithStats}.
 *
 * @since 0.1.0
 * @category accessors
 */
export const stats: Effect.Effect<RouterStats, never, Router> = Effect.flatMap(Router, (router) => router.stats)
