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
 *    rather than serving some requests from a sick one.
 * 7. **Cache** innermost, next to the service: it stores exactly what the service answered, and its hits pass through
 *    everything above, observed like any other call.
 *
 * A cache hit answers with zero usage and marks the current span `liter_llm.cache.hit` (see `LlmCache`): the budget
 * charges it nothing, the token rate limit, token metrics and cost count nothing, and telemetry does not estimate a
 * replayed stream abandoned before its usage chunk. A hit still takes one request slot (`rpm`): that limit is on
 * calls to the client. (In liter-llm a hit is charged and counted as if it had gone to the provider.)
 *
 * How it runs: a fold of the public layers — `LlmCache.layer`, `HealthCheck.layer`, `RateLimit.layer`,
 * `Budget.layer`, `Hooks.layer`, `Telemetry.layer` — each fed the one inside it with `Layer.provideMerge`, nothing
 * else; a piece behaves here exactly as it does alone. Whatever the wrapped layer provides besides the service (a
 * router's `Router.Router`) stays provided, with `Budget.Budget` when `budget` is set and `HealthCheck.Health` when
 * `healthCheck` is set; the type says so. (The health check's probes run under `LlmCache.bypass`, so
 * the cache below it never answers them: they reach the service.)
 *
 * @since 0.1.0
 */
import * as Layer from "effect/Layer"
import * as Budget from "./Budget.js"
import * as HealthCheck from "./HealthCheck.js"
import * as Hooks from "./Hooks.js"
import type * as LiterLlmError from "./LiterLlmError.js"
import * as LlmCache from "./LlmCache.js"
import type * as LlmService from "./LlmService.js"
import * as RateLimit from "./RateLimit.js"
import * as Telemetry from "./Telemetry.js"

/**
 * The service to manage and the middleware to put around it; `true` turns a piece on with its defaults.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<ROut = LlmService.LlmService, E = never, R = never> {
  /** The service to wrap: a provider, a deployment, or a router (whatever else it provides stays provided). */
  readonly layer: Layer.Layer<ROut | LlmService.LlmService, E, R>
  readonly cache?: LlmCache.Options | true | undefined
  readonly healthCheck?: HealthCheck.Options | true | undefined
  readonly rateLimit?: RateLimit.Options | undefined
  readonly budget?: Budget.Options | undefined
  readonly hooks?: ReadonlyArray<Hooks.Hook> | undefined
  readonly telemetry?: Telemetry.Options | true | undefined
}

type Pieces = "cache" | "healthCheck" | "rateLimit" | "budget" | "hooks" | "telemetry"

/**
 * What the client layer provides for these options: what the wrapped layer provides, plus `Budget.Budget` and
 * `HealthCheck.Health` when those pieces are on.
 *
 * @since 0.1.0
 * @category models
 */
export type Provides<O extends Options<any, any, any>> =
  | Layer.Layer.Success<O["layer"]>
  | LlmService.LlmService
  | (O extends { readonly budget: Budget.Options } ? Budget.Budget : never)
  | (O extends { readonly healthCheck: HealthCheck.Options | true } ? HealthCheck.Health : never)

/**
 * How building the client layer can fail: as the wrapped layer, or with `BadRequest` for a piece's options.
 *
 * @since 0.1.0
 * @category models
 */
export type Errors<O extends Options<any, any, any>> =
  | Layer.Layer.Error<O["layer"]>
  | ([Exclude<O[Pieces & keyof O], undefined>] extends [never] ? never : LiterLlmError.BadRequest)

/** A piece as the layer that wraps what is inside it, innermost first; pieces left out are not there. */
const pieces = (options: Options<any, any, any>) => {
  const defaults = <A extends object>(value: A | true): A => (value === true ? ({} as A) : value)
  const layers: Array<Layer.Layer<LlmService.LlmService, LiterLlmError.BadRequest, LlmService.LlmService>> = []
  if (options.cache !== undefined) layers.push(LlmCache.layer(defaults(options.cache)))
  if (options.healthCheck !== undefined) layers.push(HealthCheck.layer(defaults(options.healthCheck)))
  if (options.rateLimit !== undefined) layers.push(RateLimit.layer(options.rateLimit))
  if (options.budget !== undefined) layers.push(Budget.layer(options.budget))
  if (options.hooks !== undefined && options.hooks.length > 0) layers.push(Hooks.layer(options.hooks))
  if (options.telemetry !== undefined) layers.push(Telemetry.layer(defaults(options.telemetry)))
  return layers
}

/**
 * The managed client as a layer; see the module docs for the order of the pieces and why.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <O extends Options<any, any, any>>(
  options: O
): Layer.Layer<Provides<O>, Errors<O>, Layer.Layer.Context<O["layer"]>> =>
  // Each piece is fed what is built inside it and keeps it provided, so its own LlmService replaces the one below
  // and every other tag (a router's stats, a budget, a health) stays.
  pieces(options).reduce<Layer.Layer<any, any, any>>(
    (inside, piece) => Layer.provideMerge(piece, inside),
    options.layer
  )
