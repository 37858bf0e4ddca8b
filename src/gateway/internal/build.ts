/**
 * From a decoded config to the services the server needs: the router of every group's deployments, the middleware
 * around it, and the access control of the keys.
 *
 * - Each deployment is its provider's client (the registry by name — anthropic and gemini natively —, or
 *   `openai-compatible` at its `baseUrl`), under its own rate limit when it has `rpm`/`tpm`, under `Telemetry`
 *   labelled with its name: the per-deployment requests, errors, latency, tokens and cost `/metrics` exports.
 * - The router sends a request to the deployments of the group its `model` names; each deployment sends its own
 *   `model` upstream (default: the group name). The other router options are passed by their names.
 * - `middleware` wraps the whole router, through `LlmClient` (its order: cache innermost, then health, rate limit,
 *   budget). Prices for budgets: each deployment's `pricing` by its model, and by its group's name (the group's
 *   first priced deployment), so a budget that sees only public names still finds them; else `Pricing`.
 * - Stores are taken from the context: memory, or Redis when the gateway provides it. A deployment's windows are
 *   filed under its name in a shared store, so two deployments of one upstream model keep separate windows.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Deployment from "../../Deployment.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import * as LlmClient from "../../LlmClient.js"
import * as LlmService from "../../LlmService.js"
import type * as Pricing from "../../Pricing.js"
import * as RateLimit from "../../RateLimit.js"
import * as Router from "../../Router.js"
import * as Strategy from "../../Strategy.js"
import * as Telemetry from "../../Telemetry.js"
import * as OpenAiCompatible from "../../providers/OpenAiCompatible.js"
import * as Provider from "../../providers/Provider.js"
import * as Access from "../Access.js"
import type * as Config from "../Config.js"
import * as Keys from "./keys.js"
import { rateLimitUnder } from "./scoped.js"

/** The strategy a file names. */
export const strategyOf = (router: Config.Config["router"]): Strategy.Strategy => {
  switch (router?.strategy ?? "roundRobin") {
    case "roundRobin":
      return Strategy.roundRobin()
    case "fallback":
      return Strategy.fallback()
    case "latency":
      return Strategy.latencyBased({ alpha: router?.alpha })
    case "cost":
      return Strategy.costBased()
    case "weighted":
      return Strategy.weightedRandom()
    case "leastBusy":
      return Strategy.leastBusy()
  }
}

/** Prices by model name and by group name, from the deployments that state one. */
export const pricesOf = (config: Config.Config): Record<string, Pricing.ModelPricing> => {
  const prices: Record<string, Pricing.ModelPricing> = {}
  for (const [group, list] of Object.entries(config.groups)) {
    for (const d of list) {
      if (d.pricing === undefined) continue
      prices[d.model ?? group] ??= d.pricing
      prices[group] ??= d.pricing
    }
  }
  return prices
}

/** The client of one deployment, before its middleware. */
const clientOf = (d: Config.DeploymentConfig) =>
  d.provider === "openai-compatible"
    ? OpenAiCompatible.layer({ baseUrl: d.baseUrl ?? "", apiKey: d.apiKey, timeout: d.timeout, provider: d.name })
    : Provider.layer(d.provider, { apiKey: d.apiKey, baseUrl: d.baseUrl, timeout: d.timeout })

/** A deployment's own rate limit, its windows under its name in the context's store (or its own memory). */
const deploymentLimit = (d: Config.DeploymentConfig) =>
  Layer.scoped(
    LlmService.LlmService,
    Effect.gen(function* () {
      const below = yield* LlmService.LlmService
      const shared = yield* Effect.serviceOption(RateLimit.Store)
      const store = Option.isSome(shared) ? shared.value : yield* RateLimit.memoryStore
      return yield* RateLimit.make({ rpm: d.rpm, tpm: d.tpm })(below).pipe(
        Effect.provideService(RateLimit.Store, rateLimitUnder(store, `deployment:${d.name}`))
      )
    })
  )

/** The deployments of every group, in file order. */
export const deploymentsOf = (config: Config.Config) =>
  Object.entries(config.groups).flatMap(([group, list]) =>
    list.map((d) => {
      let layer = clientOf(d)
      if (d.rpm !== undefined || d.tpm !== undefined) layer = deploymentLimit(d).pipe(Layer.provide(layer))
      const traced = Telemetry.layer({ deployment: d.name, provider: d.provider, pricing: d.pricing }).pipe(
        Layer.provide(layer)
      )
      return Deployment.make({
        name: d.name,
        group,
        model: d.model ?? group,
        layer: traced,
        pricing: d.pricing,
        weight: d.weight,
        priority: d.priority,
        tags: d.tags,
        maxConcurrency: d.maxConcurrency,
        params: d.params,
        caps: d.caps,
        dropParams: d.dropParams,
        headers: d.headers
      })
    })
  )

const retryOf = (retry: NonNullable<Config.Config["router"]>["retry"]) =>
  retry === undefined
    ? undefined
    : Schedule.exponential(retry.delay ?? Duration.millis(100)).pipe(Schedule.intersect(Schedule.recurs(retry.times)))

/** The router over every deployment, with its stats, and the config's middleware around it. */
export const routerLayer = (config: Config.Config) => {
  const r = config.router ?? {}
  const router = Router.layerWithStats({
    deployments: deploymentsOf(config),
    strategy: strategyOf(r),
    failover: r.failover,
    maxAttempts: r.maxAttempts,
    timeout: r.timeout,
    deadline: r.deadline,
    firstChunkTimeout: r.firstChunkTimeout,
    waitForAvailable: r.waitForAvailable,
    circuit: r.circuit,
    hedge: r.hedge,
    retry: retryOf(r.retry),
    fallbacks: r.fallbacks,
    contextWindowFallbacks: r.contextWindowFallbacks,
    contentPolicyFallbacks: r.contentPolicyFallbacks
  })
  const m = config.middleware ?? {}
  const prices = pricesOf(config)
  return LlmClient.layer({
    layer: router,
    cache: m.cache,
    healthCheck: m.healthCheck,
    rateLimit: m.rateLimit,
    budget: m.budget === undefined ? undefined : { ...m.budget, prices }
  }) as Layer.Layer<
    LlmService.LlmService | Router.Router,
    LiterLlmError.LiterLlmError,
    Layer.Layer.Context<typeof router>
  >
}

/** Whether callers must present a key. */
export const authenticated = (config: Config.Config): boolean =>
  config.masterKey !== undefined || (config.keys !== undefined && config.keys.length > 0)

/** The access control over the `LlmService` in context: the keys when the file has any, else open. */
export const accessLayer = (config: Config.Config) =>
  Layer.scoped(
    Access.Access,
    Effect.gen(function* () {
      const service = yield* LlmService.LlmService
      if (!authenticated(config)) return Access.open(service)
      return yield* Keys.make({ service, masterKey: config.masterKey, keys: config.keys, prices: pricesOf(config) })
    })
  )
