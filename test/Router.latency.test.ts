import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import { replyOf, request, scripted, scriptedRouter } from "./Router.kit.js"

/** Runs one request to completion, letting the TestClock run as far as needed. */
const timed = <A, E>(effect: Effect.Effect<A, E>, millis: number) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(millis)
    return yield* Fiber.join(fiber)
  })

describe("Router latency-based", () => {
  it.effect("the first sample seeds the EMA, later ones fold in with alpha 0.3", () =>
    Effect.gen(function* () {
      const { router } = yield* scriptedRouter(
        { a: [{ latency: 100 }, { latency: 200 }, { latency: 50 }] },
        { strategy: Strategy.latencyBased() }
      )
      const ema = () => Effect.map(router.stats, (s) => s.deployments[0].latencyMillis)
      expect(yield* ema()).toBeUndefined()
      yield* timed(router.service.chat(request), 100)
      expect(yield* ema()).toBe(100)
      yield* timed(router.service.chat(request), 200)
      expect(yield* ema()).toBeCloseTo(130, 6)
      yield* timed(router.service.chat(request), 50)
      expect(yield* ema()).toBeCloseTo(0.3 * 50 + 0.7 * 130, 6)
    }).pipe(Effect.scoped)
  )

  it.effect("the fastest deployment gets the traffic once all are measured", () =>
    Effect.gen(function* () {
      const { router } = yield* scriptedRouter(
        { slow: [{ latency: 80 }], fast: [{ latency: 10 }] },
        { strategy: Strategy.latencyBased() }
      )
      const replies: Array<unknown> = []
      for (let i = 0; i < 6; i++) replies.push(replyOf(yield* timed(router.service.chat(request), 80)))
      // Both unmeasured: probed in list order; then the fast one wins everything.
      expect(replies).toEqual(["slow", "fast", "fast", "fast", "fast", "fast"])
    }).pipe(Effect.scoped)
  )

  it.effect("an unmeasured deployment is probed first, but a burst does not pile onto it", () =>
    Effect.gen(function* () {
      const { router, a, b, fresh } = yield* scriptedRouter(
        { a: [{ latency: 10 }], b: [{ latency: 20 }], fresh: [{ latency: 10 }] },
        { strategy: Strategy.latencyBased() }
      )
      // Unmeasured deployments are probed one after another, in list order.
      for (let i = 0; i < 3; i++) yield* timed(router.service.chat(request), 20)
      expect([yield* a.calls, yield* b.calls, yield* fresh.calls]).toEqual([1, 1, 1])
      const c = yield* scripted("c", [{ latency: 10 }])
      const newcomer = yield* scripted("newcomer", [{ latency: 10 }])
      const router2 = yield* Router.make({
        deployments: [c.deployment, newcomer.deployment],
        strategy: Strategy.latencyBased()
      })
      yield* timed(router2.service.chat(request), 10) // measures c (list order)
      const burst = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 10 }, () => router2.service.chat(request)),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust(10)
      const replies = (yield* Fiber.join(burst)).map(replyOf)
      expect(replies.filter((r) => r === "newcomer")).toHaveLength(1)
      expect(replies.filter((r) => r === "c")).toHaveLength(9)
    }).pipe(Effect.scoped)
  )

  it.effect("a failed call does not make a deployment look fast", () =>
    Effect.gen(function* () {
      const { router } = yield* scriptedRouter(
        {
          a: [{ latency: 100 }, { error: new LiterLlmError.ServiceUnavailable() }],
          b: [{ error: new LiterLlmError.ServiceUnavailable() }, { latency: 50 }]
        },
        { strategy: Strategy.latencyBased(), circuit: false }
      )
      yield* timed(router.service.chat(request), 100) // a measured at 100
      // b's first call fails instantly, then a answers... but a fails instantly too; failover order covers it.
      const second = yield* Effect.either(timed(router.service.chat(request), 100))
      expect(second._tag).toBe("Left")
      const stats = yield* router.stats
      // Neither instant failure dragged its average below what it was (a) or below the slowest known (b).
      expect(stats.deployments[0].latencyMillis).toBeGreaterThanOrEqual(100)
      expect(stats.deployments[1].latencyMillis).toBeGreaterThanOrEqual(100)
    }).pipe(Effect.scoped)
  )

  it.effect("a deployment failing in 0 ms before anything is measured never ranks fastest", () =>
    Effect.gen(function* () {
      const { router, broken, a } = yield* scriptedRouter(
        { broken: [{ error: new LiterLlmError.ServiceUnavailable() }], a: [{ latency: 20 }], b: [{ latency: 30 }] },
        { strategy: Strategy.latencyBased(), circuit: false }
      )
      for (let i = 0; i < 30; i++) expect(replyOf(yield* timed(router.service.chat(request), 30))).not.toBe("broken")
      expect(yield* broken.calls).toBeLessThanOrEqual(2)
      expect(yield* a.calls).toBeGreaterThanOrEqual(28)
    }).pipe(Effect.scoped)
  )

  it.effect("a deployment that was slow once is re-probed later and wins traffic back", () =>
    Effect.gen(function* () {
      const { router } = yield* scriptedRouter(
        { flaky: [{ latency: 500 }, { latency: 5 }], steady: [{ latency: 50 }] },
        { strategy: Strategy.latencyBased({ reprobeAfter: "30 seconds" }) }
      )
      yield* timed(router.service.chat(request), 500) // flaky: 500 ms
      yield* timed(router.service.chat(request), 50) // steady: 50 ms
      for (let i = 0; i < 5; i++) expect(replyOf(yield* timed(router.service.chat(request), 50))).toBe("steady")
      yield* TestClock.adjust("30 seconds")
      // Both averages are now stale: flaky is probed (answers in 5 ms, reseeding its average), then steady is
      // re-measured, and from then on flaky has the traffic back.
      expect(replyOf(yield* timed(router.service.chat(request), 50))).toBe("flaky")
      expect((yield* router.stats).deployments[0].latencyMillis).toBe(5)
      expect(replyOf(yield* timed(router.service.chat(request), 50))).toBe("steady")
      for (let i = 0; i < 3; i++) expect(replyOf(yield* timed(router.service.chat(request), 50))).toBe("flaky")
    }).pipe(Effect.scoped)
  )
})
