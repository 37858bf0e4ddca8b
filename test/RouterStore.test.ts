import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import * as Deployment from "../src/Deployment.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as Router from "../src/Router.js"
import * as RouterStore from "../src/RouterStore.js"
import * as Strategy from "../src/Strategy.js"
import { replyOf, request, response, scripted, scriptedRouter } from "./Router.kit.js"
import { recordingTracer } from "./support/tracing.js"

const rules: RouterStore.Rules = { circuit: undefined, alpha: 0.3, staleAfter: Number.POSITIVE_INFINITY }

describe("RouterStore", () => {
  it("evolve: an admission and its settling leave the books balanced", () => {
    const admitted = RouterStore.evolve(
      RouterStore.initial,
      { _tag: "Admitted", deployment: "a", probe: false, failover: false, turn: true },
      0
    )
    expect([admitted.requests, admitted.inFlight]).toEqual([1, 1])
    const settled = RouterStore.evolve(
      admitted,
      {
        _tag: "Settled",
        deployment: "a",
        at: 10,
        duration: 10,
        probe: false,
        outcome: { _tag: "Success", latency: 10 },
        rules
      },
      0
    )
    expect([settled.requests, settled.inFlight, settled.successes, settled.latency]).toEqual([1, 0, 1, 10])
  })

  it("evolve: a first transient failure takes the slowest known average as its floor and marks the deployment", () => {
    const failed = RouterStore.evolve(
      { ...RouterStore.initial, inFlight: 1, requests: 1 },
      {
        _tag: "Settled",
        deployment: "a",
        at: 5,
        duration: 0,
        probe: false,
        outcome: { _tag: "Failure", transient: true, retryAfter: undefined },
        rules
      },
      120
    )
    expect([failed.latency, failed.failing, failed.failures, failed.inFlight]).toEqual([120, true, 1, 0])
  })

  it.effect("routers given one store share what they learn", () =>
    Effect.gen(function* () {
      const down = yield* scripted("down", [{ error: new LiterLlmError.ServiceUnavailable() }])
      const up = yield* scripted("up", [{}])
      const deployments = [down.deployment, up.deployment]
      const options = {
        deployments,
        strategy: Strategy.fallback(),
        circuit: { failures: 1, cooldown: "1 minute" as const }
      }
      const one = yield* Router.make(options)
      const two = yield* Router.make(options)
      expect(replyOf(yield* one.service.chat(request))).toBe("up") // trips "down"'s circuit, in the shared store
      expect(replyOf(yield* two.service.chat(request))).toBe("up")
      expect(yield* down.calls).toBe(1)
      expect((yield* two.stats).deployments.map((d) => [d.name, d.circuit, d.requests])).toEqual([
        ["down", "open", 1],
        ["up", "closed", 2]
      ])
      const store = yield* RouterStore.RouterStore
      expect((yield* store.snapshot(["up"])).deployments[0].successes).toBe(2)
    }).pipe(Effect.provide(RouterStore.layerMemory), Effect.scoped)
  )

  it.effect("the stats name the store: memory by default, or what a store's status reports", () =>
    Effect.gen(function* () {
      const up = yield* scripted("up", [{}])
      const own = yield* Router.make({ deployments: [up.deployment], strategy: Strategy.fallback() })
      expect((yield* own.stats).store).toEqual({ kind: "memory" })
      const memory = yield* RouterStore.makeMemory
      const status: RouterStore.StoreStatus = { kind: "redis", state: "unavailable", since: 5, outages: 2 }
      const shared = yield* Router.make({ deployments: [up.deployment], strategy: Strategy.fallback() }).pipe(
        Effect.provideService(RouterStore.RouterStore, { ...memory, status: Effect.succeed(status) })
      )
      expect((yield* shared.stats).store).toEqual(status)
    }).pipe(Effect.scoped)
  )

  it.effect(
    "each call is a Router.attempt span under the operation's span, with deployment, outcome and its duration",
    () =>
      Effect.gen(function* () {
        const spans: Array<Tracer.Span> = []
        const recording = yield* recordingTracer(spans)
        const { router } = yield* scriptedRouter({
          down: [{ error: new LiterLlmError.ServiceUnavailable(), latency: 5 }],
          up: [{}]
        })
        const call = router.service.chat(request).pipe(Effect.withSpan("caller"), Effect.withTracer(recording))
        const fiber = yield* Effect.fork(call)
        yield* TestClock.adjust(5)
        expect(replyOf(yield* Fiber.join(fiber))).toBe("up")
        const byName = (name: string) => spans.filter((s) => s.name === name)
        const [operation] = byName("Router.chat")
        expect(Option.getOrUndefined(operation.parent)?.spanId).toBe(byName("caller")[0].spanId)
        const attempts = byName("Router.attempt")
        expect(
          attempts.map((s) => [
            s.attributes.get("deployment"),
            s.attributes.get("outcome"),
            s.status._tag === "Ended" ? Number(s.status.endTime - s.status.startTime) / 1e6 : undefined
          ])
        ).toEqual([
          ["down", "ServiceUnavailable", 5],
          ["up", "success", 0]
        ])
        for (const s of attempts) expect(Option.getOrUndefined(s.parent)?.spanId).toBe(operation.spanId)
        expect(spans.every((s) => s.status._tag === "Ended")).toBe(true)
      }).pipe(Effect.scoped)
  )

  it.effect(
    "a deployment's own spans are children of the operation's span, and the caller's span is current afterwards",
    () =>
      Effect.gen(function* () {
        const spans: Array<Tracer.Span> = []
        const recording = yield* recordingTracer(spans)
        // Each deployment's call makes a span of its own, as an HTTP client or a Telemetry layer would.
        const traced = (name: string, answer: Effect.Effect<unknown, LiterLlmError.LiterLlmError>) =>
          Deployment.make({
            name,
            layer: Layer.succeed(
              LlmService.LlmService,
              LlmService.make({
                chat: () => Effect.as(answer, response(name)).pipe(Effect.withSpan(`upstream ${name}`))
              })
            )
          })
        const router = yield* Router.make({
          deployments: [traced("down", Effect.fail(new LiterLlmError.ServiceUnavailable())), traced("up", Effect.void)],
          strategy: Strategy.fallback()
        })
        const [reply, current] = yield* Effect.zip(router.service.chat(request), Effect.currentSpan).pipe(
          Effect.withSpan("caller"),
          Effect.withTracer(recording)
        )
        expect(replyOf(reply)).toBe("up")
        expect(current.name).toBe("caller")
        const [operation] = spans.filter((s) => s.name === "Router.chat")
        expect(
          spans
            .filter((s) => s.name !== "caller")
            .map((s) => [s.name, Option.getOrUndefined(s.parent)?.spanId === operation.spanId])
        ).toEqual([
          ["Router.chat", false],
          ["Router.attempt", true],
          ["upstream down", true],
          ["Router.attempt", true],
          ["upstream up", true]
        ])
        expect(spans.every((s) => s.status._tag === "Ended")).toBe(true)
      }).pipe(Effect.scoped)
  )
})
