/**
 * The router: many deployments behind one `LlmService`, each request ordered by a {@link Strategy}, failed over on
 * transient errors, guarded by a per-deployment circuit breaker, and streamed safely.
 *
 * Decisions, and what they fix in liter-llm's seed router (`src/tower/router.rs`, as DESIGN.md describes it):
 * - Every strategy fails over on transient errors (the seed only did for Fallback): a strategy is an ordering, not a
 *   single pick; `failover: false` restores single-shot calls. Giving up reports every attempt in
 *   `AllDeploymentsFailed`; non-transient errors are the caller's and return at once, unchanged. Deployments are
 *   layers built once, in the router's scope (`ExecutionPlan` provides one per attempt); a router is a deployment too.
 * - Latency EMA (alpha 0.3) without the seed's traps: unmeasured deployments get one probe at a time, a failure
 *   never looks fast (it ranks behind every success), and a stale average is re-probed after `reprobeAfter`.
 *   Cost-based compares this request's expected cost (the seed's was fallback in disguise).
 * - Circuit breaker on by default (count or rate; cooldown max(cooldown, Retry-After), growing by `backoff` up to
 *   `maxCooldown`; one half-open probe); all open → `NoDeploymentAvailable` with the earliest reopening, or a wait
 *   with `waitForAvailable`. Unhealthy deployments (`HealthCheck`) are tried last, not dropped: a probe can be stale.
 *   `maxConcurrency` skips a full deployment, never queues on it.
 * - `retry` runs per deployment before failing over, honouring Retry-After; retries, failovers and hedges never start
 *   more than `maxAttempts` calls, nothing starts after `deadline`. `hedge` asks a second candidate when the first is
 *   slow or failed; the loser is interrupted (an interruption, not a failure).
 * - Streams fail over only before the first chunk (under `firstChunkTimeout`; that wait is the latency sample); a
 *   later failure ends the stream with `Streaming`, so output is never repeated or mixed.
 * - Bad input never reaches a deployment: bad options fail the build with a `BadRequest` naming the option, and each
 *   request is checked before a deployment is picked. The in-flight slot and any probe are always given back, also
 *   on interruption. `listModels` is routed like any call, so a health check of a router sees if any deployment is up.
 * - Model groups: deployments with a `group` serve that public model name; a request goes to its model's group, and
 *   on to `fallbacks` groups once its own has nobody left (at once to `contextWindowFallbacks` /
 *   `contentPolicyFallbacks` on those errors), each group once, within one `maxAttempts` and `deadline`.
 * - Per-request routing ({@link withRouting}) and route observers ({@link observeRoutes}) travel in
 *   `Context.Reference`s read per call, so they work deep in an app and through any middleware. `chatWithRoute` on
 *   {@link Router} tells which deployment answered, after which attempts, at what cost; so do the `Router.chat` span's
 *   attributes (`ell.route.deployment`, `.group`, `.attempts`, `.cost`).
 *
 * State lives behind {@link RouterStore.RouterStore} (the one in context, else a memory store of its own): a request
 * is admitted in one store step and settles in `Effect.onExit` of its call. Each call is a `Router.attempt` span
 * under the operation's span (`Router.chat`, …), which stays current, so deployments' own spans are its children.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Chat from "./Chat.js"
import type * as Deployment from "./Deployment.js"
import type * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import type * as RouterStore from "./RouterStore.js"
import type * as Strategy from "./Strategy.js"
import * as Core from "./internal/router/core.js"
import type * as RouterOptions from "./internal/router/options.js"
import * as RouteFacts from "./internal/router/route.js"
import * as Steering from "./internal/router/routing.js"
import { Routing } from "./internal/router/routing.js"
import { operationsOf } from "./internal/router/service.js"
import type * as RouterStream from "./internal/router/stream.js"
import * as Stats from "./internal/router/stats.js"

/**
 * The circuit-breaker policy: when a deployment's circuit opens, for how long, and how that grows per trip.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitOptions extends RouterOptions.CircuitOptions {}

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
  /** Groups to try, in order, once a group has nobody left: `{ "gpt-4o": ["claude-sonnet"] }`. */
  readonly fallbacks?: Readonly<Record<string, ReadonlyArray<string>>> | undefined
  /** Groups to move to at once when a deployment says the prompt is too long (`ContextWindowExceeded`). */
  readonly contextWindowFallbacks?: Readonly<Record<string, ReadonlyArray<string>>> | undefined
  /** Groups to move to at once when a deployment refuses the content (`ContentPolicy`). */
  readonly contentPolicyFallbacks?: Readonly<Record<string, ReadonlyArray<string>>> | undefined
  /** Tags used instead of a request's `tags` (see {@link withRouting}) where no deployment of a group has them. */
  readonly defaultTags?: ReadonlyArray<string> | undefined
}

/**
 * Routing settings for the calls inside an effect (see {@link withRouting}).
 *
 * @since 0.2.0
 * @category routing
 */
export interface RoutingSettings extends Steering.Settings {}

/**
 * The reference carrying the routing settings; for a stream, `Stream.provideService(stream, Router.Routing, settings)`.
 *
 * @since 0.2.0
 * @category routing
 */
export { Routing }

/**
 * Routes the calls inside `effect` with `settings`: `only` / `exclude` deployments by name, try `order` first, only
 * deployments with all `tags`, and this request's own `maxAttempts` and `timeout`. Nested settings win field by
 * field. A name the router does not have, or tags no deployment carries, fail the call with `BadRequest`. The first
 * router on the way takes the settings; a router serving as its deployment does not see them.
 *
 * @since 0.2.0
 * @category routing
 */
export const withRouting =
  (settings: RoutingSettings) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(Routing, (outer) => Effect.provideService(effect, Routing, Steering.merge(outer, settings)))

/**
 * Runs `effect` telling `onRoute` how each routed call inside it was served (for a stream: once its first chunk
 * arrived, without cost, and again when it ends with usage, with the cost), through any middleware between the
 * caller and the router. For a stream, provide {@link RouteObserver} to it with `Stream.provideService`.
 *
 * @since 0.2.0
 * @category routing
 */
export const observeRoutes =
  (onRoute: (route: Route) => Effect.Effect<void>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(effect, RouteObserver, onRoute)

/**
 * The reference {@link observeRoutes} provides: a function told of each route, or `undefined`.
 *
 * @since 0.2.0
 * @category routing
 */
export const RouteObserver = RouteFacts.Observer

/**
 * One call of a routed request: its deployment, its error's tag (none for the call that answered), its duration.
 *
 * @since 0.2.0
 * @category models
 */
export interface RouteAttempt extends RouteFacts.RouteAttempt {}

/**
 * How a request was served: the deployment, its group, every attempt, and the cost at that deployment's prices.
 *
 * @since 0.2.0
 * @category models
 */
export interface Route extends RouteFacts.Route {}

/**
 * A stream whose first chunk has arrived (it comes first in `stream`), and its route (no cost: that is known only at
 * the end, from the last chunk's usage, and then reported to the route observer and span of the call).
 *
 * @since 0.2.0
 * @category models
 */
export interface RoutedStream extends RouterStream.Routed {}

/**
 * What the router knows about one deployment.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeploymentStats extends Stats.DeploymentStats {}

/**
 * A snapshot of the router: per deployment, in list order, plus how many times a request moved to another deployment,
 * and the state of its store (`store`: memory, or Redis connected / unavailable).
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
  /** `chat`, with how the request was served. */
  readonly chatWithRoute: (
    request: Chat.ChatCompletionRequest
  ) => Effect.Effect<
    { readonly response: Chat.ChatCompletionResponse; readonly route: Route },
    LiterLlmError.LiterLlmError
  >
  /** `chatStream`, resolved once the first chunk has arrived; the upstream lives in the current scope. */
  readonly chatStreamWithRoute: (
    request: Chat.ChatCompletionRequest
  ) => Effect.Effect<RoutedStream, LiterLlmError.LiterLlmError, Scope.Scope>
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
  Effect.map(Core.make(options), (core) => ({ ...operationsOf(core), stats: Stats.snapshot(core) }))

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

/**
 * `chat` through the router provided by {@link layerWithStats}, with how the request was served.
 *
 * @since 0.2.0
 * @category accessors
 */
export const chatWithRoute = (request: Chat.ChatCompletionRequest) =>
  Effect.flatMap(Router, (router) => router.chatWithRoute(request))

/**
 * `chatStream` through the router provided by {@link layerWithStats}, once its first chunk has arrived.
 *
 * @since 0.2.0
 * @category accessors
 */
export const chatStreamWithRoute = (request: Chat.ChatCompletionRequest) =>
  Effect.flatMap(Router, (router) => router.chatStreamWithRoute(request))
