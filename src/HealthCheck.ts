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
 *   `Clock` (`Schedule.spaced`, `Effect.timeout`), so `TestClock` drives it in tests. The state is a
 *   `SubscriptionRef`, written by the probing fiber and read by calls.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import * as HealthTag from "./internal/health.js"
import * as internal from "./internal/middleware/healthCheck.js"
import { PositiveDuration } from "./internal/middleware/options.js"
import * as Validate from "./internal/validate.js"

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
export type HealthState = HealthTag.HealthState

/**
 * The tag under which a health-checked service exposes its state; `layer` provides it beside the `LlmService`.
 *
 * @since 0.1.0
 * @category tags
 */
export const Health = HealthTag.DeploymentHealth

/**
 * The type of the {@link Health} tag.
 *
 * @since 0.1.0
 * @category tags
 */
export type Health = HealthTag.DeploymentHealth

/**
 * The current health of the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const status: Effect.Effect<HealthState, never, Health> = Effect.flatMap(Health, (health) => health.state)

const OptionsSchema = Schema.Struct({
  interval: Schema.optional(PositiveDuration),
  unhealthyThreshold: Schema.optional(Validate.PositiveInt),
  healthyThreshold: Schema.optional(Validate.PositiveInt),
  timeout: Schema.optional(PositiveDuration),
  probeModel: Schema.optional(Schema.String)
})

/** The guarded service and its health, after the options are checked. */
const checked = (options: Options, below: LlmService.Service) =>
  Effect.zipRight(Validate.options("HealthCheck.layer", OptionsSchema, options), internal.make(options, below))

/**
 * Starts probing the service below in a fiber of the current scope and returns it guarded: while unhealthy, calls
 * fail at once with `ServiceUnavailable`. Fails with `BadRequest` naming the option when a threshold is not a whole
 * number ≥ 1 or a duration is not one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make =
  (options: Options = {}) =>
  (below: LlmService.Service): Effect.Effect<LlmService.Service, LiterLlmError.BadRequest, Scope.Scope> =>
    Effect.map(checked(options, below), ({ service }) => service)

/**
 * Health-checks the `LlmService` below it, providing the guarded service and its {@link Health}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<LlmService.LlmService | Health, LiterLlmError.BadRequest, LlmService.LlmService> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const { health, service } = yield* checked(options, yield* LlmService.LlmService)
      return Context.make(LlmService.LlmService, service).pipe(Context.add(Health, health))
    })
  )
