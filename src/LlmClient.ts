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
 * limiter as if it had gone to the provider. Here the client can tell a hit from a miss (it watches whether the
 * service below the cache was reached) and reports a hit's `usage` as zero tokens — the call consumed nothing from
 * the provider — so the budget charges it nothing, the token rate limit and the token metrics count nothing, and its
 * cost is 0. A hit still takes one request slot of the rate limit (`rpm`): the limit is on calls to the client. The
 * span of a hit (chat, stream or embedding) is marked `liter_llm.cache.hit`. A caller who needs the original token
 * counts of a cached answer should read them where the answer was first produced. (Callers that joined another
 * caller's in-flight call through the cache's single flight count as hits: they did not add to the provider's work.)
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
import * as Hooks from "./Hooks.js"
import * as LlmCache from "./LlmCache.js"
import * as LlmService from "./LlmService.js"
import * as RateLimit from "./RateLimit.js"
import * as Telemetry from "./Telemetry.js"
import * as CacheHits from "./internal/telemetry/cacheHits.js"

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
): Layer.Layer<Provides<O>, Layer.Layer.Error<O["layer"]>, Layer.Layer.Context<O["layer"]>> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      // Built one piece at a time (not as one Layer.provide chain) so that what each piece provides besides the
      // service — Budget, Health, or anything the wrapped layer offers — survives the pieces stacked on top.
      let context: Context.Context<never> = yield* Layer.build(options.layer as Layer.Layer<LlmService.LlmService>)
      let service = Context.get(context as Context.Context<LlmService.LlmService>, LlmService.LlmService)
      const apply = <ROut, E2, R2>(piece: Layer.Layer<LlmService.LlmService | ROut, E2, LlmService.LlmService | R2>) =>
        Effect.gen(function* () {
          const built = yield* Layer.build(Layer.provide(piece, Layer.succeed(LlmService.LlmService, service)))
          service = Context.get(built as Context.Context<LlmService.LlmService>, LlmService.LlmService)
          context = Context.merge(context, built as Context.Context<never>)
        })

      if (options.cache !== undefined) {
        const hits = CacheHits.tracker()
        service = hits.markUpstream(service)
        yield* apply(LlmCache.layer(optionsOf(options.cache)))
        service = hits.zeroHits(service)
      }
      if (options.healthCheck !== undefined) yield* apply(HealthCheck.layer(optionsOf(options.healthCheck)))
      if (options.rateLimit !== undefined) yield* apply(RateLimit.layer(options.rateLimit))
      if (options.budget !== undefined) yield* apply(Budget.layer(options.budget))
      if (options.hooks !== undefined && options.hooks.length > 0) yield* apply(Hooks.layer(options.hooks))
      if (options.telemetry !== undefined) yield* apply(Telemetry.layer(optionsOf(options.telemetry)))

      return Context.add(context, LlmService.LlmService, service) as Context.Context<Provides<O>>
    })
  ) as Layer.Layer<Provides<O>, Layer.Layer.Error<O["layer"]>, Layer.Layer.Context<O["layer"]>>
