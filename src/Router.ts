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
 *   failures only ever raise the average, and a stale average is re-probed (after `reprobeAfter`) and reseeded.
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
 * - Interruption: a request runs uninterruptibly from admission, with only its waits and deployment calls
 *   interruptible; interrupting the caller interrupts the call, and the in-flight slot and any half-open probe are
 *   always given back.
 * - `listModels` is routed like any call (the first available deployment answers), so a health check of a router
 *   sees whether any of its deployments is up.
 *
 * All state — counters, round-robin cursor, latency, circuits — lives in one record made when the layer is built: no
 * two routers share anything, and each request's choice and admission is a single atomic update of it. The record
 * is plain and mutable rather than held in a `Ref` (a deliberate exception to the project's Ref-for-state rule):
 * every update is a synchronous read-decide-write inside one fiber step, which JavaScript already makes atomic, and
 * it saves an effect and a copy per update on the hot path (see bench/results/router.md).
 *
 * Compared with `ExecutionPlan`: the order is the strategy's and follows live state rather than a fixed list; layers
 * are built once rather than per attempt; circuits and caps are checked at every step; the caller gets the whole
 * attempt history. The hot path is kept lean (precomputed orderings, monomorphic state records, one clock read per
 * call, admission and settling as plain updates inside steps the call takes anyway, one continuation that both
 * settles a call and recovers from its failure, no `Schedule` or `Stream` machinery unless configured): see
 * bench/router.bench.ts.
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
import type * as Embedding from "./Embedding.js"
import type * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import type * as Models from "./Models.js"
import type * as Strategy from "./Strategy.js"
import * as Attempt from "./internal/router/attempt.js"
import * as Build from "./internal/router/build.js"
import type { Engine } from "./internal/router/engine.js"
import * as Failover from "./internal/router/failover.js"
import * as Hedge from "./internal/router/hedge.js"
import * as Select from "./internal/router/select.js"
import * as Stats from "./internal/router/stats.js"
import * as RouterStream from "./internal/router/stream.js"
import { estimatePromptTokens, estimateTokens, expectedCompletionTokens } from "./internal/tokens.js"

/**
 * The circuit-breaker policy. A deployment's circuit opens after `failures` consecutive transient failures (default
 * 5), or — when `failureRate` is set — once at least `minRequests` (default 10) calls within `window` (default 1
 * minute) failed at that rate. It stays open max(`cooldown` (default 10 s), Retry-After), multiplied by `backoff`
 * (default 2) for each consecutive trip, up to `maxCooldown` (default 5 minutes); then one probe is let through.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitOptions extends Build.CircuitOptions {}

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

const chatCost = (request: Chat.ChatCompletionRequest): Select.CostInput => ({
  promptTokens: estimatePromptTokens(request),
  completionTokens: expectedCompletionTokens(request),
  model: request.model
})

const embedCost = (request: Embedding.EmbeddingRequest): Select.CostInput => {
  const input = request.input as unknown
  const text = typeof input === "string" ? input : JSON.stringify(input)
  return { promptTokens: estimateTokens(text), completionTokens: 0, model: request.model }
}

const serviceOf = (engine: Engine): LlmService.Service => {
  const needsCost = engine.config.needsCost
  const delay = engine.config.hedgeDelay
  // Built once per router: each request only brings its own `Run`.
  const plain = Failover.loop(engine, (run, index, probe, recover) =>
    Attempt.call(engine, run, index, probe, run.op, recover)
  )
  const hedged = delay === undefined ? plain : Failover.loop(engine, Hedge.hedged(engine, delay))
  return LlmService.make({
    provider: "router",
    chat: (request) =>
      Select.begin(
        engine,
        needsCost ? chatCost(request) : undefined,
        (service) => service.chat(request),
        hedged
      ) as Effect.Effect<Chat.ChatCompletionResponse, LiterLlmError.LiterLlmError>,
    chatStream: (request) => RouterStream.chatStream(engine, request, needsCost ? chatCost(request) : undefined),
    embed: (request) =>
      Select.begin(
        engine,
        needsCost ? embedCost(request) : undefined,
        (service) => service.embed(request),
        hedged
      ) as Effect.Effect<Embedding.EmbeddingResponse, LiterLlmError.LiterLlmError>,
    listModels: Effect.suspend(
      () =>
        Select.begin(engine, undefined, listModels, plain) as Effect.Effect<
          Models.ModelList,
          LiterLlmError.LiterLlmError
        >
    )
  })
}

const listModels = (service: LlmService.Service) => service.listModels

/**
 * Builds a router in the current scope: validates the options (failing with `BadRequest`), builds every
 * deployment's layer once, and returns the service with its stats.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <D extends Deployment.Deployment<any, any>>(
  options: Options<D>
): Effect.Effect<Service, LiterLlmError.BadRequest | Deployment.Error<D>, Deployment.Context<D> | Scope.Scope> =>
  Effect.map(Build.build(options), (engine) => ({
    service: serviceOf(engine),
    stats: Stats.snapshot(engine)
  }))

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
