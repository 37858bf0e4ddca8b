/**
 * A deployment is one place a request can go: a named `Layer` that provides `LlmService`, plus what the router needs
 * to choose between places — the group it serves, the model it sends upstream, its price, a weight, a priority, tags
 * and a concurrency cap — and what it changes in a request before sending it (`params`, `caps`, `dropParams`,
 * `headers`).
 *
 * `group` is the public model name: a router whose deployments have groups sends a request to the deployments of the
 * group its `model` names, and each of them replaces `model` by its own (`model`, else the group name), so callers
 * ask for "gpt-4o" while one deployment sends "gpt-4o-2024-11-20" to Azure and another "openai/gpt-4o" to a proxy.
 *
 * A deployment is a description, not a running service: the router builds each deployment's layer exactly once, in
 * the router's own scope, so state inside the layer (a connection pool, a cache, a health checker) lives exactly as
 * long as the router. Because a router is itself a `Layer<LlmService>`, a router can be a deployment of another router
 * (for example a fallback chain of latency-balanced groups).
 *
 * @since 0.1.0
 */
import type * as Layer from "effect/Layer"
import type * as LlmService from "./LlmService.js"
import type * as Pricing from "./Pricing.js"

/**
 * A named deployment of an LLM service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Deployment<out E = never, out R = never> {
  /** Unique name, shown in stats and in `AllDeploymentsFailed.attempts`. */
  readonly name: string
  /** The service behind the deployment; built once when the router is built. */
  readonly layer: Layer.Layer<LlmService.LlmService, E, R>
  /**
   * The public model name this deployment serves: in a router with groups, requests whose `model` is this name come
   * here (every deployment of such a router needs one). Default: none (a router without groups).
   */
  readonly group?: string | undefined
  /**
   * The model this deployment serves; used to look up its price when `pricing` is absent. In a router with groups it
   * is also what goes upstream as the request's `model` (default: the group name).
   */
  readonly model?: string | undefined
  /** Its own prices (USD per million tokens); wins over a lookup of `model`. */
  readonly pricing?: Pricing.ModelPricing | undefined
  /** Relative weight for `Strategy.weightedRandom` (default 1). */
  readonly weight?: number | undefined
  /** Order for `Strategy.fallback`: lower goes first (default 0); ties keep list order. */
  readonly priority?: number | undefined
  /** Labels, reported in stats; a request routed with `tags` (see `Router.withRouting`) goes only where all are. */
  readonly tags?: ReadonlyArray<string> | undefined
  /** At most this many requests in flight at once; a full deployment is skipped, not queued. */
  readonly maxConcurrency?: number | undefined
  /** Request fields this deployment forces, over the caller's (e.g. `{ temperature: 0 }`); `extra_body` is merged. */
  readonly params?: Readonly<Record<string, unknown>> | undefined
  /** Ceilings of numeric request fields: a larger value is lowered to this (e.g. `{ max_tokens: 1024 }`). */
  readonly caps?: Readonly<Record<string, number>> | undefined
  /** Request fields removed before the call, because this provider rejects them (e.g. `["parallel_tool_calls"]`). */
  readonly dropParams?: ReadonlyArray<string> | undefined
  /** Extra HTTP headers on this deployment's provider calls; never replacing its credentials. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * The error of building a deployment's layer.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Error<D> = D extends Deployment<infer E, infer _R> ? E : never

/**
 * The requirements of building a deployment's layer.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Context<D> = D extends Deployment<infer _E, infer R> ? R : never

/**
 * Describes a deployment. Nothing is built or validated here: the router checks weights and names when it is built,
 * so every construction problem surfaces in one place, as a typed `BadRequest`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <E = never, R = never>(options: Deployment<E, R>): Deployment<E, R> => ({ ...options })
