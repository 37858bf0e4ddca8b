import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as Strategy from "../src/Strategy.js"
import { replyOf, request, scriptedRouter } from "./Router.kit.js"

const down = { error: new LiterLlmError.ServiceUnavailable() }
const up = {}

describe("Router circuit breaker", () => {
  it.effect("opens after consecutive transient failures; an open deployment receives nothing", () =>
    Effect.gen(function* () {
      const { router, a } = yield* scriptedRouter(
        { a: [down], b: [up] },
        { circuit: { failures: 3, cooldown: "10 seconds" } }
      )
      for (let i = 0; i < 6; i++) expect(replyOf(yield* router.service.chat(request))).toBe("b")
      expect(yield* a.calls).toBe(3)
      const stats = (yield* router.stats).deployments[0]
      expect(stats.circuit).toBe("open")
      expect(stats.trips).toBe(1)
      expect(stats.reopensAt).toBe(10_000)
    }).pipe(Effect.scoped)
  )

  it.effect("opens on a failure rate over a minimum number of requests", () =>
    Effect.gen(function* () {
      const { router, a } = yield* scriptedRouter(
        { a: [up, down, up, down, up] },
        { circuit: { failures: 100, failureRate: 0.5, minRequests: 4 } }
      )
      yield* router.service.chat(request)
      yield* Effect.flip(router.service.chat(request))
      yield* router.service.chat(request)
      expect((yield* router.stats).deployments[0].circuit).toBe("closed") // 1 of 3: below minRequests
      yield* Effect.flip(router.service.chat(request)) // 2 of 4 = 50%
      expect((yield* router.stats).deployments[0].circuit).toBe("open")
      const error = yield* Effect.flip(router.service.chat(request))
      expect(error._tag).toBe("NoDeploymentAvailable")
      expect(yield* a.calls).toBe(4)
    }).pipe(Effect.scoped)
  )

  it.effect("stays open for max(cooldown, Retry-After), then one probe closes it on success", () =>
    Effect.gen(function* () {
      const limited = new LiterLlmError.RateLimited({ retryAfter: Duration.seconds(30) })
      const { router, a } = yield* scriptedRouter(
        { a: [{ error: limited }, up] },
        { circuit: { cooldown: "10 seconds" } }
      )
      yield* Effect.flip(router.service.chat(request)) // a Retry-After trips at once
      yield* TestClock.adjust("29 seconds")
      const early = yield* Effect.flip(router.service.chat(request))
      expect(early._tag).toBe("NoDeploymentAvailable")
      if (early._tag === "NoDeploymentAvailable") expect(Duration.toMillis(early.retryAfter!)).toBe(1000)
      yield* TestClock.adjust("1 second")
      expect((yield* router.stats).deployments[0].circuit).toBe("half-open")
      expect(replyOf(yield* router.service.chat(request))).toBe("a")
      expect((yield* router.stats).deployments[0].circuit).toBe("closed")
      expect(yield* a.calls).toBe(2)
    }).pipe(Effect.scoped)
  )

  it.effect("the cooldown grows exponentially on repeated trips, up to the cap", () =>
    Effect.gen(function* () {
      const { router } = yield* scriptedRouter(
        { a: [down] },
        { circuit: { failures: 1, cooldown: "10 seconds", maxCooldown: "30 seconds", backoff: 2 } }
      )
      const reopens: Array<number> = []
      for (let trip = 0; trip < 4; trip++) {
        const now = yield* TestClock.currentTimeMillis
        yield* Effect.flip(router.service.chat(request)) // the (probe) call fails and trips
        const at = (yield* router.stats).deployments[0].reopensAt!
        reopens.push(at - now)
        yield* TestClock.adjust(at - now)
      }
      expect(reopens).toEqual([10_000, 20_000, 30_000, 30_000])
      expect((yield* router.stats).deployments[0].trips).toBe(4)
    }).pipe(Effect.scoped)
  )

  it.effect("half-open lets exactly one probe through", () =>
    Effect.gen(function* () {
      const { router, a } = yield* scriptedRouter(
        { a: [down, { latency: 100 }], b: [up] },
        { circuit: { failures: 1, cooldown: "1 second" } }
      )
      yield* router.service.chat(request) // a fails, trips; b answers
      yield* TestClock.adjust("1 second")
      const burst = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 5 }, () => router.service.chat(request)),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust(100)
      const replies = (yield* Fiber.join(burst)).map(replyOf)
      expect(replies.filter((r) => r === "a")).toHaveLength(1)
      expect(replies.filter((r) => r === "b")).toHaveLength(4)
      expect(yield* a.calls).toBe(2)
      expect((yield* router.stats).deployments[0].circuit).toBe("closed")
    }).pipe(Effect.scoped)
  )

  it.effect("a failed probe reopens the circuit", () =>
    Effect.gen(function* () {
      const { router, a } = yield* scriptedRouter({ a: [down] }, { circuit: { failures: 2, cooldown: "1 second" } })
      yield* Effect.flip(router.service.chat(request))
      yield* Effect.flip(router.service.chat(request))
      yield* TestClock.adjust("1 second")
      const probe = yield* Effect.flip(router.service.chat(request))
      expect(probe._tag).toBe("AllDeploymentsFailed")
      expect((yield* router.stats).deployments[0].circuit).toBe("open")
      expect(yield* a.calls).toBe(3)
    }).pipe(Effect.scoped)
  )

  it.effect("all open: NoDeploymentAvailable at once, with the earliest retryAfter", () =>
    Effect.gen(function* () {
      const { router, a, b } = yield* scriptedRouter(
        {
          a: [{ error: new LiterLlmError.RateLimited({ retryAfter: Duration.seconds(40) }) }],
          b: [{ error: new LiterLlmError.RateLimited({ retryAfter: Duration.seconds(25) }) }]
        },
        { strategy: Strategy.roundRobin() }
      )
      yield* Effect.flip(router.service.chat(request))
      const error = yield* Effect.flip(router.service.chat(request))
      expect(error._tag).toBe("NoDeploymentAvailable")
      if (error._tag === "NoDeploymentAvailable") expect(Duration.toMillis(error.retryAfter!)).toBe(25_000)
      expect([yield* a.calls, yield* b.calls]).toEqual([1, 1])
    }).pipe(Effect.scoped)
  )

  it.effect("waitForAvailable waits for the first to reopen when the deadline allows", () =>
    Effect.gen(function* () {
      const { router } = yield* scriptedRouter(
        { a: [{ error: new LiterLlmError.RateLimited({ retryAfter: Duration.seconds(5) }) }, up] },
        { circuit: { cooldown: "1 second" }, waitForAvailable: true, deadline: "1 minute" }
      )
      yield* Effect.flip(router.service.chat(request))
      const waiting = yield* Effect.fork(router.service.chat(request))
      yield* TestClock.adjust("4 seconds")
      expect(waiting.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      expect(replyOf(yield* Fiber.join(waiting))).toBe("a")
    }).pipe(Effect.scoped)
  )

  it.effect("waitForAvailable does not wait past the deadline", () =>
    Effect.gen(function* () {
      const { router } = yield* scriptedRouter(
        { a: [{ error: new LiterLlmError.RateLimited({ retryAfter: Duration.seconds(5) }) }, up] },
        { waitForAvailable: true, deadline: "2 seconds" }
      )
      yield* Effect.flip(router.service.chat(request))
      const error = yield* Effect.flip(router.service.chat(request))
      expect(error._tag).toBe("NoDeploymentAvailable")
    }).pipe(Effect.scoped)
  )

  it.effect("circuit: false never opens", () =>
    Effect.gen(function* () {
      const { router, a } = yield* scriptedRouter({ a: [down] }, { circuit: false })
      for (let i = 0; i < 20; i++) yield* Effect.flip(router.service.chat(request))
      expect(yield* a.calls).toBe(20)
      expect((yield* router.stats).deployments[0].circuit).toBe("closed")
    }).pipe(Effect.scoped)
  )

  it.effect("non-transient errors do not count against the circuit", () =>
    Effect.gen(function* () {
      const { router } = yield* scriptedRouter(
        { a: [{ error: new LiterLlmError.BadRequest() }] },
        { circuit: { failures: 2 } }
      )
      for (let i = 0; i < 5; i++) expect((yield* Effect.flip(router.service.chat(request)))._tag).toBe("BadRequest")
      expect((yield* router.stats).deployments[0].circuit).toBe("closed")
    }).pipe(Effect.scoped)
  )
})
