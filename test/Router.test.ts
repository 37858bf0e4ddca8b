import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as Deployment from "../src/Deployment.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import { counting, fake, fakeRouter, replyOf, request, response } from "./Router.kit.js"

describe("Router construction", () => {
  const ok = Deployment.make({ name: "a", layer: LlmTest.layer() })
  const fails = (options: Router.Options<Deployment.Deployment>) => Effect.scoped(Effect.flip(Router.make(options)))

  it.effect("rejects an empty deployment list", () =>
    Effect.gen(function* () {
      const error = yield* fails({ deployments: [], strategy: Strategy.roundRobin() })
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toMatch(/at least one deployment/)
    })
  )

  it.effect("rejects a weight count that differs from the deployments", () =>
    Effect.gen(function* () {
      const error = yield* fails({ deployments: [ok], strategy: Strategy.weightedRandom({ weights: [1, 2] }) })
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toMatch(/2 weight\(s\) for 1 deployment/)
    })
  )

  it.effect("rejects negative, NaN and infinite weights", () =>
    Effect.gen(function* () {
      for (const w of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        const error = yield* fails({ deployments: [ok], strategy: Strategy.weightedRandom({ weights: [w] }) })
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toMatch(/finite numbers of 0 or more/)
      }
      const viaDeployment = yield* fails({
        deployments: [Deployment.make({ name: "w", layer: LlmTest.layer(), weight: -2 })],
        strategy: Strategy.roundRobin()
      })
      expect(viaDeployment._tag).toBe("BadRequest")
    })
  )

  it.effect("rejects weights that sum to zero", () =>
    Effect.gen(function* () {
      const b = Deployment.make({ name: "b", layer: LlmTest.layer() })
      const error = yield* fails({ deployments: [ok, b], strategy: Strategy.weightedRandom({ weights: [0, 0] }) })
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toMatch(/sum to zero/)
    })
  )

  it.effect("builds each deployment layer once, however many requests", () =>
    Effect.gen(function* () {
      let builds = 0
      const counted = Layer.effect(
        LlmService.LlmService,
        Effect.map(
          Effect.sync(() => builds++),
          () => LlmService.make({ chat: () => Effect.succeed(response("counted")) })
        )
      )
      const router = yield* Router.make({
        deployments: [Deployment.make({ name: "c", layer: counted })],
        strategy: Strategy.roundRobin()
      })
      for (let i = 0; i < 5; i++) yield* router.service.chat(request)
      expect(builds).toBe(1)
    }).pipe(Effect.scoped)
  )
})

describe("Router round robin", () => {
  it.effect("n·k sequential calls give k each", () =>
    Effect.gen(function* () {
      const ds = yield* Effect.all([fake("a"), fake("b"), fake("c")])
      const router = yield* Router.make({ deployments: ds.map((d) => d.deployment), strategy: Strategy.roundRobin() })
      const replies: Array<unknown> = []
      for (let i = 0; i < 9; i++) replies.push(replyOf(yield* router.service.chat(request)))
      expect(replies).toEqual(["a", "b", "c", "a", "b", "c", "a", "b", "c"])
      expect(yield* Effect.all(ds.map((d) => d.test.calls))).toEqual([3, 3, 3])
    }).pipe(Effect.scoped)
  )

  it.effect("n·k concurrent calls give k each", () =>
    Effect.gen(function* () {
      const ds = yield* Effect.all([fake("a", { latency: "10 millis" }), fake("b", { latency: "10 millis" })])
      const router = yield* Router.make({ deployments: ds.map((d) => d.deployment), strategy: Strategy.roundRobin() })
      const fiber = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 50 }, () => router.service.chat(request)),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust("10 millis")
      const results = yield* Fiber.join(fiber)
      expect(results).toHaveLength(50)
      expect(yield* Effect.all(ds.map((d) => d.test.calls))).toEqual([25, 25])
    }).pipe(Effect.scoped)
  )
})

describe("Router round robin fairness", () => {
  it.effect.prop(
    "over n deployments, n·k calls (k at a time concurrently) give exactly k each",
    [FastCheck.integer({ min: 1, max: 6 }), FastCheck.integer({ min: 1, max: 12 })],
    ([n, k]) =>
      Effect.gen(function* () {
        const ds = yield* Effect.all(Array.from({ length: n }, (_, i) => counting(`d${i}`)))
        const router = yield* Router.make({ deployments: ds.map((d) => d.deployment), strategy: Strategy.roundRobin() })
        yield* Effect.all(
          Array.from({ length: n * k }, () => router.service.chat(request)),
          { concurrency: k }
        )
        expect(yield* Effect.all(ds.map((d) => d.calls))).toEqual(Array.from({ length: n }, () => k))
      }).pipe(Effect.scoped),
    { fastCheck: { numRuns: 30 } }
  )
})

describe("Router fallback", () => {
  it.effect("orders by priority, then list order", () =>
    Effect.gen(function* () {
      const a = yield* fake("a", {}, { priority: 2 })
      const b = yield* fake("b", {}, { priority: 1 })
      const c = yield* fake("c", {}, { priority: 1 })
      const router = yield* Router.make({
        deployments: [a, b, c].map((d) => d.deployment),
        strategy: Strategy.fallback()
      })
      expect(replyOf(yield* router.service.chat(request))).toBe("b")
      expect(yield* c.test.calls).toBe(0)
    }).pipe(Effect.scoped)
  )

  it.effect("advances on transient errors", () =>
    Effect.gen(function* () {
      const { router } = yield* fakeRouter(
        { a: { fail: new LiterLlmError.ServiceUnavailable() }, b: { fail: new LiterLlmError.RateLimited() }, c: {} },
        { circuit: false }
      )
      expect(replyOf(yield* router.service.chat(request))).toBe("c")
      const stats = yield* router.stats
      expect(stats.failovers).toBe(2)
      expect(stats.deployments.map((d) => [d.requests, d.failures, d.successes])).toEqual([
        [1, 1, 0],
        [1, 1, 0],
        [1, 0, 1]
      ])
    }).pipe(Effect.scoped)
  )

  it.effect("a non-transient error propagates unchanged and the rest are never called", () =>
    Effect.gen(function* () {
      const original = new LiterLlmError.BadRequest({ message: "no" })
      const { router, c } = yield* fakeRouter({
        a: { fail: new LiterLlmError.ServerError() },
        b: { fail: original },
        c: {}
      })
      const error = yield* Effect.flip(router.service.chat(request))
      // Effect's `fail` inside a span hands on a proxy carrying the span, so the error is compared by value and class.
      expect(error).toStrictEqual(original)
      expect(error).toBeInstanceOf(LiterLlmError.BadRequest)
      expect(yield* c.test.calls).toBe(0)
    }).pipe(Effect.scoped)
  )

  it.effect("exhaustion fails with AllDeploymentsFailed listing every attempt in order", () =>
    Effect.gen(function* () {
      const { router } = yield* fakeRouter({
        a: { fail: new LiterLlmError.ServiceUnavailable(), latency: "5 millis" },
        b: { fail: new LiterLlmError.Timeout(), latency: "7 millis" }
      })
      const fiber = yield* Effect.fork(Effect.flip(router.service.chat(request)))
      yield* TestClock.adjust("5 millis")
      yield* TestClock.adjust("7 millis")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("AllDeploymentsFailed")
      if (error._tag !== "AllDeploymentsFailed") return
      expect(error.attempts.map((x) => [x.deployment, x.error._tag, Duration.toMillis(x.duration)])).toEqual([
        ["a", "ServiceUnavailable", 5],
        ["b", "Timeout", 7]
      ])
    }).pipe(Effect.scoped)
  )

  it.effect("failover: false returns the deployment's own error", () =>
    Effect.gen(function* () {
      const { router, b } = yield* fakeRouter(
        { a: { fail: new LiterLlmError.ServiceUnavailable() }, b: {} },
        { failover: false }
      )
      const error = yield* Effect.flip(router.service.chat(request))
      expect(error._tag).toBe("ServiceUnavailable")
      expect(yield* b.test.calls).toBe(0)
    }).pipe(Effect.scoped)
  )

  it.effect("a router is a deployment of another router", () =>
    Effect.gen(function* () {
      const inner = Router.layer({
        deployments: [
          Deployment.make({ name: "x", layer: LlmTest.layer({ fail: new LiterLlmError.ServerError() }) }),
          Deployment.make({ name: "y", layer: LlmTest.layer({ fail: new LiterLlmError.ServerError() }) })
        ],
        strategy: Strategy.roundRobin()
      })
      const outer = yield* Router.make({
        deployments: [
          Deployment.make({ name: "group", layer: inner }),
          Deployment.make({ name: "last", layer: LlmTest.layer({ reply: "last" }) })
        ],
        strategy: Strategy.fallback()
      })
      expect(replyOf(yield* outer.service.chat(request))).toBe("last")
      const stats = yield* outer.stats
      expect(stats.deployments[0].failures).toBe(1)
    }).pipe(Effect.scoped)
  )

  it.effect("Router.layer provides LlmService and layerWithStats the stats", () =>
    Effect.gen(function* () {
      const result = yield* LlmService.chat(request)
      expect(replyOf(result)).toBe("only")
      const stats = yield* Router.stats
      expect(stats.deployments[0].successes).toBe(1)
    }).pipe(
      Effect.provide(
        Router.layerWithStats({
          deployments: [Deployment.make({ name: "only", layer: LlmTest.layer({ reply: "only" }) })],
          strategy: Strategy.roundRobin()
        })
      )
    )
  )

  it.effect("the layer fails to build with BadRequest", () =>
    Effect.gen(function* () {
      const result = yield* Effect.either(
        Layer.build(Router.layer({ deployments: [], strategy: Strategy.fallback() })).pipe(Effect.scoped)
      )
      expect(Either.isLeft(result) && result.left._tag).toBe("BadRequest")
    })
  )

  it.effect("two routers over the same deployments never share state", () =>
    Effect.gen(function* () {
      const deployments = [
        Deployment.make({ name: "a", layer: LlmTest.layer({ reply: "a" }) }),
        Deployment.make({ name: "b", layer: LlmTest.layer({ reply: "b" }) })
      ]
      const one = yield* Router.make({ deployments, strategy: Strategy.roundRobin() })
      const two = yield* Router.make({ deployments, strategy: Strategy.roundRobin() })
      expect(replyOf(yield* one.service.chat(request))).toBe("a")
      expect(replyOf(yield* one.service.chat(request))).toBe("b")
      expect(replyOf(yield* two.service.chat(request))).toBe("a")
      expect((yield* two.stats).deployments.map((d) => d.requests)).toEqual([1, 0])
    }).pipe(Effect.scoped)
  )

  it.effect("embed and listModels are routed and failed over like chat", () =>
    Effect.gen(function* () {
      const router = yield* Router.make({
        deployments: [
          Deployment.make({ name: "down", layer: LlmTest.layer({ fail: new LiterLlmError.ServiceUnavailable() }) }),
          Deployment.make({ name: "up", layer: LlmTest.layer({ model: "up-model", dimensions: 4 }) })
        ],
        strategy: Strategy.fallback(),
        circuit: false
      })
      const embedding = yield* router.service.embed({ model: "e", input: "hello" })
      expect(embedding.data[0].embedding).toHaveLength(4)
      const models = yield* router.service.listModels
      expect(models.data.map((m) => m.id)).toEqual(["up-model"])
      expect((yield* router.stats).deployments.map((d) => d.failures)).toEqual([2, 0])
    }).pipe(Effect.scoped)
  )
})
