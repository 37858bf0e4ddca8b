/**
 * The health check as a pipeline piece (see `HealthCheck.ts` for what it does and why). Its state is one plain
 * record, replaced whole by the probing fiber after each probe and read by calls: a read is a field access, and
 * JavaScript runs one fiber at a time, so nobody sees half a state.
 */
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import type * as HealthCheck from "../../HealthCheck.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import type { DeploymentHealth, HealthState } from "../health.js"
import { Answer, type Piece } from "./pipeline.js"

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
 * Starts probing `service` (the service itself: a cache or anything else stacked above it is not in the way) in a
 * fiber of the current scope, and returns the piece that refuses calls while it is unhealthy.
 */
export const make = (
  service: LlmService.Service,
  options: HealthCheck.Options = {}
): Effect.Effect<
  { readonly piece: Piece; readonly health: Context.Tag.Service<DeploymentHealth> },
  never,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const interval = Duration.decode(options.interval ?? "30 seconds")
    const timeout = Duration.decode(options.timeout ?? "10 seconds")
    const thresholds = {
      down: Math.max(1, options.unhealthyThreshold ?? 3),
      up: Math.max(1, options.healthyThreshold ?? 2)
    }
    let state = initial
    // Once listModels says it is unsupported, stop asking and probe with a chat.
    let useChatProbe = false
    let lastModel = options.probeModel

    const chatProbe = Effect.suspend(() => {
      if (lastModel === undefined) return Effect.succeed<Probe>("neutral")
      const ping: Chat.ChatCompletionRequest = {
        model: lastModel,
        messages: [{ role: "user", content: "ping" }],
        max_tokens: 1
      }
      return Effect.as(service.chat(ping), "healthy" as Probe)
    })

    const attempt: Effect.Effect<Probe, LiterLlmError.LiterLlmError> = Effect.suspend(() =>
      useChatProbe
        ? chatProbe
        : service.listModels.pipe(
            Effect.as<Probe>("healthy"),
            Effect.catchTag("EndpointNotSupported", () =>
              Effect.zipRight(
                Effect.sync(() => {
                  useChatProbe = true
                }),
                chatProbe
              )
            )
          )
    )

    const probe = attempt.pipe(
      Effect.timeoutOption(timeout),
      Effect.map(Option.getOrElse((): Probe => "unhealthy")),
      Effect.catchAll((error) => Effect.succeed<Probe>(LiterLlmError.isTransient(error) ? "unhealthy" : "neutral")),
      Effect.catchAllDefect(() => Effect.succeed<Probe>("unhealthy")),
      Effect.flatMap((result) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          state = step(state, result, at, thresholds)
        })
      )
    )

    yield* Effect.forkScoped(Effect.repeat(probe, Schedule.spaced(interval)))

    const unavailable = () =>
      new LiterLlmError.ServiceUnavailable({
        message:
          `the service failed its last ${state.consecutiveFailures} health probes and is marked unhealthy; ` +
          `calls are refused until ${thresholds.up} probe(s) in a row succeed (every ${Duration.format(interval)})`
      })
    const remember = (request: Chat.ChatCompletionRequest) => {
      if (options.probeModel === undefined) lastModel = request.model
    }

    const piece: Piece = {
      chat: {
        enter: (call) => {
          remember(call.request)
          return state.status === "unhealthy" ? new Answer(Exit.fail(unavailable())) : true
        }
      },
      embed: {
        enter: () => (state.status === "unhealthy" ? new Answer(Exit.fail(unavailable())) : true)
      },
      chatStream: (below) => (request) =>
        Stream.suspend(() => {
          remember(request)
          return state.status === "unhealthy" ? Stream.fail(unavailable()) : below(request)
        })
    }
    return { piece, health: { state: Effect.sync(() => state) } }
  })
