import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as LiterLlmError from "../src/LiterLlmError.js"
import { replyOf, request, scriptedRouter } from "./Router.kit.js"

const down = { error: new LiterLlmError.ServiceUnavailable() }

describe("Router retries, timeouts and deadlines", () => {
  it.effect("a deployment's retry schedule runs before failover", () =>
    Effect.gen(function* () {
      const { router, a, b } = yield* scriptedRouter(
        { a: [down, down, {}], b: [{}] },
        { retry: Schedule.recurs(2), circuit: false }
      )
      expect(replyOf(yield* router.service.chat(request))).toBe("a")
      expect([yield* a.calls, yield* b.calls]).toEqual([3, 0])
    }).pipe(Effect.scoped)
  )

  it.effect("when the schedule is spent the next deployment gets the request, with a fresh schedule", () =>
    Effect.gen(function* () {
      const { router, a, b } = yield* scriptedRouter(
        { a: [down], b: [down, {}] },
        { retry: Schedule.recurs(1), circuit: false }
      )
      expect(replyOf(yield* router.service.chat(request))).toBe("b")
      expect([yield* a.calls, yield* b.calls]).toEqual([2, 2])
    }).pipe(Effect.scoped)
  )

  it.effect("a RateLimited retryAfter is waited out, even when the schedule says less", () =>
    Effect.gen(function* () {
      const limited = new LiterLlmError.RateLimited({ retryAfter: Duration.seconds(3) })
      const { router, a } = yield* scriptedRouter(
        { a: [{ error: limited }, {}] },
        { retry: Schedule.spaced("100 millis"), circuit: false }
      )
      const fiber = yield* Effect.fork(router.service.chat(request))
      yield* TestClock.adjust("2999 millis")
      expect(yield* a.calls).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(replyOf(yield* Fiber.join(fiber))).toBe("a")
      expect(yield* a.calls).toBe(2)
    }).pipe(Effect.scoped)
  )

  it.effect("retries and failovers together never exceed maxAttempts", () =>
    Effect.gen(function* () {
      const { router, a, b, c } = yield* scriptedRouter(
        { a: [down], b: [down], c: [{}] },
        { retry: Schedule.recurs(1), maxAttempts: 3, circuit: false }
      )
      const error = yield* Effect.flip(router.service.chat(request))
      expect(error._tag).toBe("AllDeploymentsFailed")
      if (error._tag === "AllDeploymentsFailed")
        expect(error.attempts.map((x) => x.deployment)).toEqual(["a", "a", "b"])
      expect([yield* a.calls, yield* b.calls, yield* c.calls]).toEqual([2, 1, 0])
    }).pipe(Effect.scoped)
  )

  it.effect("the per-attempt timeout fails over with a Timeout attempt", () =>
    Effect.gen(function* () {
      const { router, a } = yield* scriptedRouter(
        { a: [{ latency: 5000 }], b: [{ latency: 10 }] },
        { timeout: "1 second" }
      )
      const fiber = yield* Effect.fork(router.service.chat(request))
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("10 millis")
      expect(replyOf(yield* Fiber.join(fiber))).toBe("b")
      expect(yield* a.interrupted).toBe(1)
      const stats = (yield* router.stats).deployments
      expect([stats[0].failures, stats[0].inFlight]).toEqual([1, 0])
    }).pipe(Effect.scoped)
  )

  it.effect("the overall deadline bounds every attempt together", () =>
    Effect.gen(function* () {
      const { router } = yield* scriptedRouter(
        { a: [{ latency: 600, error: new LiterLlmError.ServerError() }], b: [{ latency: 600 }] },
        { deadline: "1 second" }
      )
      const fiber = yield* Effect.fork(Effect.flip(router.service.chat(request)))
      yield* TestClock.adjust("600 millis")
      yield* TestClock.adjust("400 millis")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("AllDeploymentsFailed")
      if (error._tag === "AllDeploymentsFailed") {
        expect(error.attempts.map((x) => [x.deployment, x.error._tag, Duration.toMillis(x.duration)])).toEqual([
          ["a", "ServerError", 600],
          ["b", "Timeout", 400]
        ])
      }
    }).pipe(Effect.scoped)
  )
})

describe("Router hedging", () => {
  it.effect("a slow first deployment is hedged; the first success wins and the other is interrupted", () =>
    Effect.gen(function* () {
      const { router, slow, quick } = yield* scriptedRouter(
        { slow: [{ latency: 1000 }], quick: [{ latency: 50 }] },
        { hedge: { delay: "200 millis" } }
      )
      const fiber = yield* Effect.fork(router.service.chat(request))
      yield* TestClock.adjust("199 millis")
      expect(yield* quick.calls).toBe(0)
      yield* TestClock.adjust("1 millis")
      expect(yield* quick.calls).toBe(1)
      yield* TestClock.adjust("50 millis")
      expect(replyOf(yield* Fiber.join(fiber))).toBe("quick")
      expect(yield* slow.interrupted).toBe(1)
      const stats = (yield* router.stats).deployments
      expect(stats.map((d) => [d.successes, d.failures, d.interruptions, d.inFlight])).toEqual([
        [0, 0, 1, 0],
        [1, 0, 0, 0]
      ])
    }).pipe(Effect.scoped)
  )

  it.effect("a fast answer is never hedged", () =>
    Effect.gen(function* () {
      const { router, b } = yield* scriptedRouter(
        { a: [{ latency: 100 }], b: [{}] },
        { hedge: { delay: "200 millis" } }
      )
      const fiber = yield* Effect.fork(router.service.chat(request))
      yield* TestClock.adjust("100 millis")
      expect(replyOf(yield* Fiber.join(fiber))).toBe("a")
      yield* TestClock.adjust("1 second")
      expect(yield* b.calls).toBe(0)
    }).pipe(Effect.scoped)
  )

  it.effect("a primary that fails before the delay hands over at once", () =>
    Effect.gen(function* () {
      const { router } = yield* scriptedRouter({ a: [down], b: [{ latency: 10 }] }, { hedge: { delay: "1 second" } })
      const fiber = yield* Effect.fork(router.service.chat(request))
      yield* TestClock.adjust("10 millis")
      expect(replyOf(yield* Fiber.join(fiber))).toBe("b")
    }).pipe(Effect.scoped)
  )
})
