import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import type * as Chat from "../src/Chat.js"
import * as Deployment from "../src/Deployment.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmTest from "../src/LlmTest.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import { counting, fake, replyOf, request, scripted } from "./Router.kit.js"

describe("Strategy constructors", () => {
  it("latencyBased defaults to alpha 0.3 and a 30 second re-probe", () => {
    const s = Strategy.latencyBased()
    expect(s._tag === "LatencyBased" && [s.alpha, Duration.toMillis(s.reprobeAfter)]).toEqual([0.3, 30_000])
  })

  it.effect("an alpha outside (0, 1] is refused when the router is built", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Router.make({
          deployments: [Deployment.make({ name: "a", layer: LlmTest.layer() })],
          strategy: Strategy.latencyBased({ alpha: 1.5 })
        })
      )
      expect(error._tag).toBe("BadRequest")
    }).pipe(Effect.scoped)
  )
})

describe("Strategy.costBased", () => {
  // cheapIn: cheap prompt, dear output; cheapOut: the reverse.
  const cheapIn = { inputPerMillion: 0.1, outputPerMillion: 10 }
  const cheapOut = { inputPerMillion: 10, outputPerMillion: 0.1 }
  const long: Chat.ChatCompletionRequest = {
    model: "m",
    max_tokens: 10,
    messages: [{ role: "user", content: "x".repeat(40_000) }]
  }
  const chatty: Chat.ChatCompletionRequest = {
    model: "m",
    max_tokens: 4000,
    messages: [{ role: "user", content: "hi" }]
  }

  it.effect("picks the cheapest expected cost for this request's prompt size and max_tokens", () =>
    Effect.gen(function* () {
      const a = yield* fake("cheap-in", {}, { pricing: cheapIn })
      const b = yield* fake("cheap-out", {}, { pricing: cheapOut })
      const router = yield* Router.make({ deployments: [a.deployment, b.deployment], strategy: Strategy.costBased() })
      expect(replyOf(yield* router.service.chat(long))).toBe("cheap-in")
      expect(replyOf(yield* router.service.chat(chatty))).toBe("cheap-out")
    }).pipe(Effect.scoped)
  )

  it.effect("the expensive one takes over when the cheap one fails", () =>
    Effect.gen(function* () {
      const dear = yield* fake("dear", {}, { pricing: { inputPerMillion: 5, outputPerMillion: 15 } })
      const cheap = yield* fake(
        "cheap",
        { fail: new LiterLlmError.ServiceUnavailable() },
        { pricing: { inputPerMillion: 0.1, outputPerMillion: 0.4 } }
      )
      const router = yield* Router.make({
        deployments: [dear.deployment, cheap.deployment],
        strategy: Strategy.costBased()
      })
      expect(replyOf(yield* router.service.chat(request))).toBe("dear")
      expect(yield* cheap.test.calls).toBe(1)
    }).pipe(Effect.scoped)
  )

  it.effect("uses the price of a deployment's model when it has no pricing of its own", () =>
    Effect.gen(function* () {
      const big = yield* fake("big", {}, { model: "gpt-4o" })
      const mini = yield* fake("mini", {}, { model: "gpt-4o-mini" })
      const router = yield* Router.make({
        deployments: [big.deployment, mini.deployment],
        strategy: Strategy.costBased()
      })
      expect(replyOf(yield* router.service.chat(request))).toBe("mini")
    }).pipe(Effect.scoped)
  )

  it.effect("a deployment with neither pricing nor model is priced at the request's model", () =>
    Effect.gen(function* () {
      const dear = yield* fake("dear", {}, { pricing: { inputPerMillion: 100, outputPerMillion: 100 } })
      const plain = yield* fake("plain")
      const router = yield* Router.make({
        deployments: [dear.deployment, plain.deployment],
        strategy: Strategy.costBased()
      })
      expect(replyOf(yield* router.service.chat({ ...request, model: "gpt-4o-mini" }))).toBe("plain")
      // An unknown model has no price: it ranks after every priced deployment.
      expect(replyOf(yield* router.service.chat({ ...request, model: "no-such-model-xyz" }))).toBe("dear")
    }).pipe(Effect.scoped)
  )

  it.effect("ties are broken by latency, then list order", () =>
    Effect.gen(function* () {
      const price = { inputPerMillion: 1, outputPerMillion: 1 }
      const slow = yield* scripted("slow", [{ latency: 50 }], { pricing: price })
      const fast = yield* scripted("fast", [{ latency: 10 }], { pricing: price })
      const router = yield* Router.make({
        deployments: [slow.deployment, fast.deployment],
        strategy: Strategy.costBased()
      })
      const once = Effect.gen(function* () {
        const fiber = yield* Effect.fork(router.service.chat(request))
        yield* TestClock.adjust(50)
        return replyOf(yield* Fiber.join(fiber))
      })
      // Unmeasured first (in list order), then the faster of the equally priced ones keeps the traffic.
      const replies = []
      for (let i = 0; i < 4; i++) replies.push(yield* once)
      expect(replies).toEqual(["slow", "fast", "fast", "fast"])
    }).pipe(Effect.scoped)
  )
})

describe("Strategy.weightedRandom", () => {
  it.effect.prop(
    "10,000 picks over weights 1:2:3 match the proportions (chi-square)",
    [FastCheck.integer()],
    ([seed]) =>
      Effect.gen(function* () {
        const ds = yield* Effect.all([counting("a"), counting("b"), counting("c")])
        const router = yield* Router.make({
          deployments: ds.map((d) => d.deployment),
          strategy: Strategy.weightedRandom({ weights: [1, 2, 3] })
        })
        const n = 10_000
        for (let i = 0; i < n; i++) yield* router.service.chat(request)
        const observed = yield* Effect.all(ds.map((d) => d.calls))
        const expected = [n / 6, (2 * n) / 6, (3 * n) / 6]
        const chiSquare = observed.reduce((sum, o, i) => sum + (o - expected[i]) ** 2 / expected[i], 0)
        // 2 degrees of freedom: P(chi² > 13.82) = 0.001
        expect(chiSquare).toBeLessThan(13.82)
      }).pipe(Effect.scoped, Effect.withRandom(Random.make(seed))),
    { fastCheck: { numRuns: 4 } }
  )

  it.effect("the same seed gives the same picks", () =>
    Effect.gen(function* () {
      const picks = (seed: number) =>
        Effect.gen(function* () {
          const ds = yield* Effect.all([fake("a"), fake("b"), fake("c")])
          const router = yield* Router.make({
            deployments: ds.map((d) => d.deployment),
            strategy: Strategy.weightedRandom()
          })
          const out: Array<unknown> = []
          for (let i = 0; i < 20; i++) out.push(replyOf(yield* router.service.chat(request)))
          return out
        }).pipe(Effect.scoped, Effect.withRandom(Random.make(seed)))
      expect(yield* picks(7)).toEqual(yield* picks(7))
    })
  )

  it.effect("deployments' own weights are used when none are given; zero weight is only a fallback", () =>
    Effect.gen(function* () {
      const a = yield* fake("a", {}, { weight: 0 })
      const b = yield* fake("b", { fail: new LiterLlmError.ServerError() }, { weight: 1 })
      const router = yield* Router.make({
        deployments: [a.deployment, b.deployment],
        strategy: Strategy.weightedRandom(),
        circuit: false
      })
      for (let i = 0; i < 10; i++) expect(replyOf(yield* router.service.chat(request))).toBe("a")
      expect(yield* b.test.calls).toBe(10) // b always asked first, a only on failover
    }).pipe(Effect.withRandom(Random.make(1)), Effect.scoped)
  )
})

describe("Strategy.leastBusy", () => {
  it.effect("the next call goes to the deployment with the fewest requests in flight", () =>
    Effect.gen(function* () {
      const ds = yield* Effect.all([
        scripted("a", [{ latency: 100 }]),
        scripted("b", [{ latency: 100 }]),
        scripted("c", [{ latency: 100 }])
      ])
      const router = yield* Router.make({ deployments: ds.map((d) => d.deployment), strategy: Strategy.leastBusy() })
      const fibers = []
      for (let i = 0; i < 5; i++) fibers.push(yield* Effect.fork(router.service.chat(request)))
      yield* Effect.yieldNow()
      expect((yield* router.stats).deployments.map((d) => d.inFlight)).toEqual([2, 2, 1])
      const next = yield* Effect.fork(router.service.chat(request))
      yield* Effect.yieldNow()
      expect((yield* router.stats).deployments.map((d) => d.inFlight)).toEqual([2, 2, 2])
      yield* TestClock.adjust(100)
      expect(replyOf(yield* Fiber.join(next))).toBe("c")
      for (const f of fibers) yield* Fiber.join(f)
      expect((yield* router.stats).deployments.map((d) => d.inFlight)).toEqual([0, 0, 0])
    }).pipe(Effect.scoped)
  )
})
