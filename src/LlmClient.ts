/**
 * The managed client: one deployment (or a whole router) wrapped in the middleware you configure, stacked in the
 * order of liter-llm's tower client. Every piece is off unless its option is given.
 *
 * ```ts
 * const client = LlmClient.layer({
 *   layer: OpenAiCompatible.layer({ baseUrl, apiKey }),
 *   cache: { ttl: "10 minutes" },
 *   rateLimit: { rpm: 500 },
 *   budget: { globalLimit: 20 },
 *   hooks: [{ onRequest: audit }],
 *   healthCheck: { interval: "30 seconds" },
 *   telemetry: { provider: "openai", deployment: "eu-1" }
 * })
 * // Layer<LlmService | Budget | HealthCheck.Health, …>
 * ```
 *
 * The stack, from the caller inwards (liter-llm lists it innermost first: Cache, Health, Cooldown, RateLimit,
 * CostTracking, Budget, Hooks, Tracing):
 *
 * 1. **Telemetry** (tracing, metrics and cost tracking) is outermost, so every call has a span — including calls a
 *    hook or the budget refuses, which then carry `error.type` — and the span's duration is what the caller waited.
 *    liter-llm has cost tracking as its own layer between the rate limit and the budget; here it is part of
 *    `Telemetry`. It sees the same calls in either place: the calls refused in between (by hooks, budget or rate
 *    limit) cost nothing.
 * 2. **Hooks** come next, so they see everything that reaches the service's logic: cache hits (an audit log or a
 *    response guardrail still applies to an answer from the cache), and `onError` sees budget and rate-limit
 *    refusals. A request a hook rejects goes no further: it reserves no budget and takes no rate-limit slot.
 * 3. **Budget** before the rate limit: a call refused for money takes no rate-limit slot, and the reservation it
 *    would hold is never made.
 * 4. **Rate limit** before health: a rate limit describes what the provider accepts, so it counts every call that
 *    would go to it. (A call refused because the service is unhealthy still took its slot; that errs on the safe side.)
 * 5. Cooldown — liter-llm's circuit breaker — is not here: the router has it per deployment. Put `LlmClient`s into a
 *    router as deployments to get it.
 * 6. **Health check** outside the cache: while the service is unhealthy, calls fail at once with
 *    `ServiceUnavailable`, cached answers included, so that a router in front fails the whole deployment over
 *    rather than serving some requests from a sick one. The probes go to the service itself, past the cache.
 * 7. **Cache** innermost, next to the service: it stores exactly what the service answered, and its hits pass through
 *    everything above, observed like any other call.
 *
 * What passing through costs a cache hit: in liter-llm a cache hit is charged by the budget and counted by the rate
 * limiter as if it had gone to the provider. Here the cache reports a hit's `usage` as zero tokens — the call
 * consumed nothing from the provider — so the budget charges it nothing, the token rate limit and the token metrics
 * count nothing, and its cost is 0. A hit still takes one request slot of the rate limit (`rpm`): the limit is on
 * calls to the client. The span of a hit (chat, stream or embedding) is marked `liter_llm.cache.hit`: the telemetry
 * span, or without telemetry the caller's own span. A caller who needs the original token
 * counts of a cached answer should read them where the answer was first produced. (Callers that joined another
 * caller's in-flight call through the cache's single flight count as hits: they did not add to the provider's work.
 * When the first caller is interrupted and the cache restarts the call for those still waiting, that new call is the
 * provider's work done for them: the first of them to get the answer is charged for it, the others share it. Streams
 * are shared the same way: the caller who started one carries its usage; if it stopped reading before the usage chunk,
 * the first of the others to reach it is charged, and its span's `liter_llm.cache.hit` is set back to false.)
 *
 * How it runs: the pieces are not seven services nested in one another but stages of one pipeline, which a `chat` or
 * `embed` call goes through in a single frame — each piece admits (or refuses, or answers) the call on the way in and
 * settles it on the way out, in the order above, with the same guarantees each piece gives on its own: what a piece
 * reserved is settled exactly once on every exit, hooks and waits run with the caller's interruptibility, the rest
 * cannot be interrupted half-done. It behaves as the nested services would, and costs a fraction of their frames.
 * Streams go through the pieces' stream wrappers, nested in the same order. The health check probes the wrapped service
 * itself, past the cache.
 *
 * The layer also provides `Budget.Budget` when `budget` is set and `HealthCheck.Health` when `healthCheck` is set,
 * so a router built from `LlmClient`s skips unhealthy ones, and the application can read and reset the spend.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Budget from "./Budget.js"
import * as HealthCheck from "./HealthCheck.js"
import type * as Hooks from "./Hooks.js"
import type * as LiterLlmError from "./LiterLlmError.js"
import * as LlmCache from "./LlmCache.js"
import * as LlmService from "./LlmService.js"
import type * as RateLimit from "./RateLimit.js"
import type * as Telemetry from "./Telemetry.js"
import * as BudgetPiece from "./internal/middleware/budget.js"
import * as HealthPiece from "./internal/middleware/healthCheck.js"
import * as HooksPiece from "./internal/middleware/hooks.js"
import * as Pipeline from "./internal/middleware/pipeline.js"
import * as RateLimitPiece from "./internal/middleware/rateLimit.js"
import * as TelemetryPiece from "./internal/middleware/telemetry.js"

/**
 * The service to manage and the middleware to put around it; `true` turns a piece on with its defaults.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<E = never, R = never> {
  /** The service to wrap: a provider, a deployment, or a router. */
  readonly layer: Layer.Layer<LlmService.LlmService, E, R>
  readonly cache?: LlmCache.Options | true | undefined
  readonly healthCheck?: HealthCheck.Options | true | undefined
  readonly rateLimit?: RateLimit.Options | undefined
  readonly budget?: Budget.Options | undefined
  readonly hooks?: ReadonlyArray<Hooks.Hook> | undefined
  readonly telemetry?: Telemetry.Options | true | undefined
}

/**
 * What the client layer provides for these options: the service, plus `Budget.Budget` and `HealthCheck.Health` when
 * those pieces are on.
 *
 * @since 0.1.0
 * @category models
 */
export type Provides<O> =
  | LlmService.LlmService
  | (O extends { readonly budget: Budget.Options } ? Budget.Budget : never)
  | (O extends { readonly healthCheck: HealthCheck.Options | true } ? HealthCheck.Health : never)

const optionsOf = <A extends object>(value: A | true): A => (value === true ? ({} as A) : value)

/**
 * The managed client as a layer; see the module docs for the order of the pieces and why.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <O extends Options<any, any>>(
  options: O
): Layer.Layer<
  Provides<O>,
  Layer.Layer.Error<O["layer"]> | LiterLlmError.BadRequest,
  Layer.Layer.Context<O["layer"]>
> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      // What the wrapped layer provides besides the service (a router's stats, a deployment's own tags) stays.
      let context: Context.Context<never> = yield* Layer.build(options.layer as Layer.Layer<LlmService.LlmService>)
      const service = Context.get(context as Context.Context<LlmService.LlmService>, LlmService.LlmService)
      const pieces: Array<Pipeline.Piece> = [] // outermost first

      if (options.telemetry !== undefined) pieces.push(TelemetryPiece.make(optionsOf(options.telemetry)))
      if (options.hooks !== undefined && options.hooks.length > 0) pieces.push(HooksPiece.make(options.hooks))
      if (options.budget !== undefined) {
        const { budget, piece } = BudgetPiece.make(options.budget)
        pieces.push(piece)
        context = Context.add(context, Budget.Budget, budget)
      }
      if (options.rateLimit !== undefined) pieces.push(RateLimitPiece.make(options.rateLimit))
      if (options.healthCheck !== undefined) {
        const { health, piece } = yield* HealthPiece.make(service, optionsOf(options.healthCheck))
        pieces.push(piece)
        context = Context.add(context, HealthCheck.Health, health)
      }
      // The cache is innermost: it wraps the service itself, and the pieces above see its hits.
      const inner = options.cache === undefined ? service : yield* LlmCache.make(optionsOf(options.cache))(service)

      return Context.add(context, LlmService.LlmService, Pipeline.stack(pieces, inner)) as Context.Context<Provides<O>>
    })
  ) as Layer.Layer<
    Provides<O>,
    Layer.Layer.Error<O["layer"]> | LiterLlmError.BadRequest,
    Layer.Layer.Context<O["layer"]>
  >
