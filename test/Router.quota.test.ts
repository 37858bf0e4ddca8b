import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import { fakeRouter, replyOf, request, scripted, scriptedRouter } from "./Router.kit.js"

const quota = { error: new LiterLlmError.QuotaExceeded({ provider: "acme", status: 429 }) }
const up = {}
const hour = 3_600_000

describe("Router: a used-up quota", () => {
  it.effect("is not retried on its deployment, fails over, and rests that deployment for an hour", () =>
    Effect.gen(function* () {
      const { router, a } = yield* scriptedRouter({ a: [quota, up], b: [up] }, { retry: Schedule.recurs(3) })
      expect(replyOf(yield* router.service.chat(request))).toBe("b")
      expect(yield* a.calls).toBe(1) // the retry schedule did not run on a quota
      const stats = (yield* router.stats).deployments[0]
      expect(stats.circuit).toBe("open")
      expect(stats.reopensAt).toBe(hour)

      yield* TestClock.adjust(hour - 1)
      expect(replyOf(yield* router.service.chat(request))).toBe("b")
      expect(yield* a.calls).toBe(1) // still resting one millisecond before the hour is up

      yield* TestClock.adjust(1)
      expect(replyOf(yield* router.service.chat(request))).toBe("a") // the probe finds the quota back
      expect((yield* router.stats).deployments[0].circuit).toBe("closed")
      expect(yield* a.calls).toBe(2)
    }).pipe(Effect.scoped)
  )

  it.effect("opens the circuit for quotaCooldown, past the cooldown policy's own limits", () =>
    Effect.gen(function* () {
      const { router, a, b } = yield* scriptedRouter(
        { a: [quota], b: [up] },
        { circuit: { failures: 5, cooldown: "1 second", maxCooldown: "10 seconds" }, quotaCooldown: "20 minutes" }
      )
      yield* router.service.chat(request) // one quota answer trips at once, though failures is 5
      expect((yield* router.stats).deployments[0].reopensAt).toBe(20 * 60_000)
      yield* TestClock.adjust("20 minutes")
      yield* router.service.chat(request) // the probe meets the quota again: another 20 minutes
      const now = yield* TestClock.currentTimeMillis
      expect((yield* router.stats).deployments[0].reopensAt).toBe(now + 20 * 60_000)
      expect(yield* a.calls).toBe(2)
      expect(yield* b.calls).toBe(2)
    }).pipe(Effect.scoped)
  )

  it.effect(
    "when every deployment is out of quota: every attempt reported, then NoDeploymentAvailable for the hour",
    () =>
      Effect.gen(function* () {
        const { router, a, b } = yield* scriptedRouter({ a: [quota], b: [quota] }, { strategy: Strategy.roundRobin() })
        const first = yield* Effect.flip(router.service.chat(request))
        expect(first._tag).toBe("AllDeploymentsFailed")
        if (first._tag === "AllDeploymentsFailed") {
          expect(first.attempts.map((x) => [x.deployment, x.error._tag])).toEqual([
            ["a", "QuotaExceeded"],
            ["b", "QuotaExceeded"]
          ])
        }
        yield* TestClock.adjust("10 minutes")
        const later = yield* Effect.flip(router.service.chat(request))
        expect(later._tag).toBe("NoDeploymentAvailable")
        if (later._tag === "NoDeploymentAvailable") expect(Duration.toMillis(later.retryAfter!)).toBe(50 * 60_000)
        expect([yield* a.calls, yield* b.calls]).toEqual([1, 1])
      }).pipe(Effect.scoped)
  )

  it.effect("a hedged request whose first deployment is out of quota asks the next at once", () =>
    Effect.gen(function* () {
      const { router } = yield* scriptedRouter(
        { a: [{ ...quota, latency: 10 }], b: [{ latency: 10 }] },
        { hedge: { delay: "1 second" } }
      )
      const fiber = yield* Effect.fork(router.service.chat(request))
      yield* TestClock.adjust(20) // well before the hedge's delay
      expect(replyOf(yield* Fiber.join(fiber))).toBe("b")
      expect((yield* router.stats).deployments[0].reopensAt).toBe(hour + 10)
    }).pipe(Effect.scoped)
  )

  it.effect("without failover the caller gets the QuotaExceeded itself", () =>
    Effect.gen(function* () {
      const { router, b } = yield* scriptedRouter({ a: [quota], b: [up] }, { failover: false })
      const error = yield* Effect.flip(router.service.chat(request))
      expect(error._tag).toBe("QuotaExceeded")
      expect(yield* b.calls).toBe(0)
    }).pipe(Effect.scoped)
  )

  it.effect("a stream whose deployment is out of quota fails over before the first chunk", () =>
    Effect.gen(function* () {
      const { router } = yield* fakeRouter({
        a: { fail: new LiterLlmError.QuotaExceeded() },
        b: { reply: "bbbb", chunks: 2 }
      })
      const chunks = yield* Stream.runCollect(router.service.chatStream(request))
      expect(
        Chunk.toReadonlyArray(chunks)
          .map((c) => c.choices[0]?.delta.content ?? "")
          .join("")
      ).toBe("bbbb")
      expect((yield* router.stats).deployments[0].reopensAt).toBe(hour)
    }).pipe(Effect.scoped)
  )

  it.effect("a quotaCooldown that is not a duration ≥ 0 fails the build, naming the option", () =>
    Effect.gen(function* () {
      const a = yield* scripted("a", [up])
      const inputs: ReadonlyArray<Duration.DurationInput> = [-5, Number.NaN, "-1 hour", "soon" as never]
      for (const quotaCooldown of inputs) {
        const error = yield* Effect.flip(
          Router.make({ deployments: [a.deployment], strategy: Strategy.fallback(), quotaCooldown })
        )
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain("quotaCooldown")
      }
    }).pipe(Effect.scoped)
  )

  it("is not transient, but a router fails over on it", () => {
    const error = new LiterLlmError.QuotaExceeded()
    expect(LiterLlmError.isTransient(error)).toBe(false)
    expect(LiterLlmError.shouldFailover(error)).toBe(true)
    expect(LiterLlmError.shouldFailover(new LiterLlmError.RateLimited())).toBe(true)
    expect(LiterLlmError.shouldFailover(new LiterLlmError.BadRequest())).toBe(false)
    expect(LiterLlmError.isLiterLlmError(error)).toBe(true)
  })
})

describe("Router: a Retry-After past the deadline", () => {
  const limited = (seconds: number) => ({
    error: new LiterLlmError.RateLimited({ retryAfter: Duration.seconds(seconds) })
  })

  it.effect("fails over at once instead of waiting, and is not retried on that deployment", () =>
    Effect.gen(function* () {
      const { router, a, b } = yield* scriptedRouter(
        { a: [limited(30), up], b: [up] },
        { retry: Schedule.recurs(3), deadline: "10 seconds" }
      )
      // No clock adjustment: b answers at time 0.
      expect(replyOf(yield* router.service.chat(request))).toBe("b")
      expect(yield* TestClock.currentTimeMillis).toBe(0)
      expect([yield* a.calls, yield* b.calls]).toEqual([1, 1])
    }).pipe(Effect.scoped)
  )

  it.effect("a Retry-After within the deadline is waited out on the same deployment", () =>
    Effect.gen(function* () {
      const { router, a, b } = yield* scriptedRouter(
        { a: [limited(3), up], b: [up] },
        { retry: Schedule.recurs(3), deadline: "10 seconds" }
      )
      const fiber = yield* Effect.fork(router.service.chat(request))
      yield* TestClock.adjust("3 seconds")
      expect(replyOf(yield* Fiber.join(fiber))).toBe("a")
      expect([yield* a.calls, yield* b.calls]).toEqual([2, 0])
    }).pipe(Effect.scoped)
  )

  it.effect("with nowhere else to go, the caller hears at once rather than after the deadline", () =>
    Effect.gen(function* () {
      const { router, a } = yield* scriptedRouter(
        { a: [limited(30), up] },
        { retry: Schedule.recurs(3), deadline: "10 seconds" }
      )
      const error = yield* Effect.flip(router.service.chat(request))
      expect(error._tag).toBe("AllDeploymentsFailed")
      expect(yield* TestClock.currentTimeMillis).toBe(0)
      expect(yield* a.calls).toBe(1)
    }).pipe(Effect.scoped)
  )
})
