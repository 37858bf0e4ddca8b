/**
 * Active health checks for an `LlmService`: a background fiber probes the service every `interval`, marks it
 * unhealthy after `unhealthyThreshold` failed probes in a row and healthy again after `healthyThreshold` good ones.
 * While unhealthy, every call fails at once with `ServiceUnavailable` — transient, so a router fails over to the
 * next deployment without waiting for a request to time out.
 *
 * ```ts
 * const checked = HealthCheck.layer({ interval: "30 seconds" }).pipe(Layer.provide(deployment))
 * // provides LlmService and HealthCheck.Health; the router reads Health to skip unhealthy deployments
 * ```
 *
 * Decisions:
 * - The probe is `listModels`, which costs nothing at every provider that has it. Where it fails with
 *   `EndpointNotSupported`, the probe becomes a one-token chat (`max_tokens: 1`) to `probeModel`, or to the model of
 *   the last chat request that went through the service; with neither known yet, the probe waits for traffic.
 * - Only transient failures (`LiterLlmError.isTransient`) and probe timeouts count against the service. An
 *   authentication or bad-request failure says nothing about availability (and failing over would not fix it), so
 *   it neither marks the service unhealthy nor resets the count of failures.
 * - The state starts `unknown`, and calls pass while unknown: a deployment is innocent until a probe says
 *   otherwise. The first successful probe makes it `healthy` at once; the healthy threshold applies to recovery.
 * - Health follows the probes only, not the traffic: the router's circuit breaker already reacts to failing calls,
 *   and a probe is the only signal that does not depend on callers.
 * - The fiber belongs to the layer's scope (`Effect.forkScoped`) and stops when it closes; all timing goes through
 *   `Clock` (`Schedule.spaced`, `Effect.timeout`), so `TestClock` drives it in tests.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as LlmService from "./LlmService.js"
import * as internal from "./internal/health.js"
import * as internalPiece from "./internal/middleware/healthCheck.js"
import * as Pipeline from "./internal/middleware/pipeline.js"

/**
 * How often to probe and when to change state.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Time between probes. Default 30 seconds. */
  readonly interval?: Duration.DurationInput | undefined
  /** Consecutive failed probes before the service is marked unhealthy. Default 3. */
  readonly unhealthyThreshold?: number | undefined
  /** Consecutive good probes before an unhealthy service is marked healthy again. Default 2. */
  readonly healthyThreshold?: number | undefined
  /** A probe that takes longer than this counts as failed. Default 10 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The model of the one-token chat probe, for services without `listModels`. */
  readonly probeModel?: string | undefined
}

/**
 * What a health-checked service knows about itself: status, consecutive probe results, time of the last probe.
 *
 * @since 0.1.0
 * @category models
 */
export type HealthState = internal.HealthState

/**
 * The tag under which a health-checked service exposes its state; `layer` provides it beside the `LlmService`.
 *
 * @since 0.1.0
 * @category tags
 */
export const Health = internal.DeploymentHealth

/**
 * The type of the {@link Health} tag.
 *
 * @since 0.1.0
 * @category tags
 */
export type Health = internal.DeploymentHealth

/**
 * The current health of the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const status: Effect.Effect<HealthState, never, Health> = Effect.flatMap(Health, (health) => health.state)

/**
 * A health-checked service and its health.
 *
 * @since 0.1.0
 * @category models
 */
export interface Checked {
  readonly service: LlmService.Service
  readonly health: Context.Tag.Service<Health>
}

/**
 * Starts probing `service` in a fiber of the current scope and returns the guarded service with its health.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (service: LlmService.Service, options: Options = {}): Effect.Effect<Checked, never, Scope.Scope> =>
  Effect.map(internalPiece.make(service, options), ({ health, piece }) => ({
    service: Pipeline.stack([piece], service),
    health
  }))

/**
 * Health-checks the `LlmService` below it, providing the guarded service and its {@link Health}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<LlmService.LlmService | Health, never, LlmService.LlmService> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const below = yield* LlmService.LlmService
      const checked = yield* make(below, options)
      return Context.make(LlmService.LlmService, checked.service).pipe(Context.add(Health, checked.health))
    })
  )
