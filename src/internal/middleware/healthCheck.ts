/**
 * The health check (see `HealthCheck.ts` for what it does and why): a fiber of the layer's scope probes the service
 * and keeps the state in a `SubscriptionRef`; calls read it and are refused while it says unhealthy.
 */
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type * as Chat from "../../Chat.js"
import type * as HealthCheck from "../../HealthCheck.js"
import { Bypass } from "../cache/bypass.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import type { DeploymentHealth, HealthState } from "../health.js"

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
 * Starts probing `below` (the service itself: a cache or anything else stacked above it is not in the way) in a
 * fiber of the current scope; returns the guarded service and its health.
 */
export const make = (
  options: HealthCheck.Options,
  below: LlmService.Service
): Effect.Effect<
  { readonly service: LlmService.Service; readonly health: Context.Tag.Service<DeploymentHealth> },
  never,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const interval = Duration.decode(options.interval ?? "30 seconds")
    const timeout = Duration.decode(options.timeout ?? "10 seconds")
    const thresholds = { down: options.unhealthyThreshold ?? 3, up: options.healthyThreshold ?? 2 }
    const state = yield* SubscriptionRef.make(initial)
    // Once listModels says it is unsupported, stop asking and probe with a chat.
    const chatOnly = yield* Ref.make(false)
    const lastModel = yield* Ref.make(options.probeModel)

    const chatProbe = Effect.flatMap(Ref.get(lastModel), (model) => {
      if (model === undefined) return Effect.succeed<Probe>("neutral")
      const ping: Chat.ChatCompletionRequest = { model, messages: [{ role: "user", content: "ping" }], max_tokens: 1 }
      return Effect.as(below.chat(ping), "healthy" as Probe)
    })
    const attempt = Effect.flatMap(Ref.get(chatOnly), (only) =>
      only
        ? chatProbe
        : below.listModels.pipe(
            Effect.as<Probe>("healthy"),
            Effect.catchTag("EndpointNotSupported", () => Effect.zipRight(Ref.set(chatOnly, true), chatProbe))
          )
    )
    // Only transient failures and timeouts count against the service: a bad key says nothing about availability.
    // A probe must reach the service itself, never an answer a cache below or above kept.
    const probe = attempt.pipe(
      Effect.provideService(Bypass, true),
      Effect.timeoutOption(timeout),
      Effect.map(Option.getOrElse((): Probe => "unhealthy")),
      Effect.catchAll((error) => Effect.succeed<Probe>(LiterLlmError.isTransient(error) ? "unhealthy" : "neutral")),
      Effect.catchAllDefect(() => Effect.succeed<Probe>("unhealthy")),
      Effect.flatMap((result) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) =>
          SubscriptionRef.update(state, (s) => step(s, result, at, thresholds))
        )
      )
    )
    yield* Effect.forkScoped(Effect.repeat(probe, Schedule.spaced(interval)))

    const unavailable = (s: HealthState) =>
      new LiterLlmError.ServiceUnavailable({
        message:
          `the service failed its last ${s.consecutiveFailures} health probes and is marked unhealthy; ` +
          `calls are refused until ${thresholds.up} probe(s) in a row succeed (every ${Duration.format(interval)})`
      })
    const healthy = Effect.flatMap(SubscriptionRef.get(state), (s) =>
      s.status === "unhealthy" ? Effect.fail(unavailable(s)) : Effect.void
    )
    const remember = (request: Chat.ChatCompletionRequest) =>
      options.probeModel === undefined ? Ref.set(lastModel, request.model) : Effect.void

    const service: LlmService.Service = {
      ...below,
      chat: (request) =>
        Effect.zipRight(
          remember(request),
          Effect.zipRight(
            healthy,
            Effect.suspend(() => below.chat(request))
          )
        ),
      embed: (request) =>
        Effect.zipRight(
          healthy,
          Effect.suspend(() => below.embed(request))
        ),
      chatStream: (request) =>
        Stream.unwrap(Effect.zipRight(remember(request), Effect.as(healthy, below.chatStream(request))))
    }
    return { service, health: { state: SubscriptionRef.get(state) } }
  })
