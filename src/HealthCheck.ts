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
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Chat from "./Chat.js"
import * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import * as internal from "./internal/health.js"
import { wrap } from "./internal/middleware/wrap.js"

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

type Probe = "healthy" | "unhealthy" | "neutral"

const initial: HealthState = {
  status: "unknown",
  consecutiveFailures: 0,
  consecutiveSuccesses: 0,
  lastProbeAt: undefined
}

/** The state after one probe. */
const step = (state: HealthState, probe: Probe, at: number, thresholds: { up: number; down: number }): HealthState => {
  if (probe === "neutral") return { ...state, lastProbeAt: at }
  if (probe === "healthy") {
    const successes = state.consecutiveSuccesses + 1
    const status =
      state.status === "unknown" || (state.status === "unhealthy" && successes >= thresholds.up)
        ? "healthy"
        : state.status
    return { status, consecutiveFailures: 0, consecutiveSuccesses: successes, lastProbeAt: at }
  }
  const failures = state.consecutiveFailures + 1
  return {
    status: failures >= thresholds.down ? "unhealthy" : state.status,
    consecutiveFailures: failures,
    consecutiveSuccesses: 0,
    lastProbeAt: at
  }
}

/**
 * Starts probing `service` in a fiber of the current scope and returns the guarded service with its health.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (service: LlmService.Service, options: Options = {}): Effect.Effect<Checked, never, Scope.Scope> =>
  Effect.gen(function* () {
    const interval = Duration.decode(options.interval ?? "30 seconds")
    const timeout = Duration.decode(options.timeout ?? "10 seconds")
    const thresholds = {
      down: Math.max(1, options.unhealthyThreshold ?? 3),
      up: Math.max(1, options.healthyThreshold ?? 2)
    }
    const state = yield* Ref.make(initial)
    // Once listModels says it is unsupported, stop asking and probe with a chat.
    const useChatProbe = yield* Ref.make(false)
    const lastModel = yield* Ref.make<string | undefined>(options.probeModel)

    const chatProbe = Effect.flatMap(Ref.get(lastModel), (model) => {
      if (model === undefined) return Effect.succeed<Probe>("neutral")
      const ping: Chat.ChatCompletionRequest = { model, messages: [{ role: "user", content: "ping" }], max_tokens: 1 }
      return Effect.as(service.chat(ping), "healthy" as Probe)
    })

    const attempt: Effect.Effect<Probe, LiterLlmError.LiterLlmError> = Effect.flatMap(Ref.get(useChatProbe), (chat) =>
      chat
        ? chatProbe
        : service.listModels.pipe(
            Effect.as<Probe>("healthy"),
            Effect.catchTag("EndpointNotSupported", () => Effect.zipRight(Ref.set(useChatProbe, true), chatProbe))
          )
    )

    const probe = attempt.pipe(
      Effect.timeoutOption(timeout),
      Effect.map(Option.getOrElse((): Probe => "unhealthy")),
      Effect.catchAll((error) => Effect.succeed<Probe>(LiterLlmError.isTransient(error) ? "unhealthy" : "neutral")),
      Effect.catchAllDefect(() => Effect.succeed<Probe>("unhealthy")),
      Effect.flatMap((result) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) => Ref.update(state, (s) => step(s, result, at, thresholds)))
      )
    )

    yield* Effect.forkScoped(Effect.repeat(probe, Schedule.spaced(interval)))

    const unavailable = Effect.map(
      Ref.get(state),
      (s) =>
        new LiterLlmError.ServiceUnavailable({
          message:
            `the service failed its last ${s.consecutiveFailures} health probes and is marked unhealthy; ` +
            `calls are refused until ${thresholds.up} probe(s) in a row succeed (every ${Duration.format(interval)})`
        })
    )
    const isUnhealthy = Effect.map(Ref.get(state), (s) => s.status === "unhealthy")
    const guard = <A>(call: Effect.Effect<A, LiterLlmError.LiterLlmError>) =>
      Effect.flatMap(isUnhealthy, (unhealthy) => (unhealthy ? Effect.flatMap(unavailable, Effect.fail) : call))
    const remember = (request: Chat.ChatCompletionRequest) =>
      options.probeModel === undefined ? Ref.set(lastModel, request.model) : Effect.void

    const guarded = wrap(service, {
      chat: (request) => Effect.zipRight(remember(request), guard(service.chat(request))),
      chatStream: (request) =>
        Stream.unwrap(
          Effect.zipRight(
            remember(request),
            Effect.map(isUnhealthy, (unhealthy) =>
              unhealthy ? Stream.fromEffect(Effect.flatMap(unavailable, Effect.fail)) : service.chatStream(request)
            )
          )
        ),
      embed: (request) => guard(service.embed(request))
    })
    return { service: guarded, health: { state: Ref.get(state) } }
  })

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
