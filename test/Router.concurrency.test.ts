import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import { fake, fakeRouter, request, scripted, scriptedRouter } from "./Router.kit.js"

describe("Router under concurrency", () => {
  it.effect("10,000 concurrent requests over 3 deployments, one flaky: each completes exactly once, stats add up", () =>
    Effect.gen(function* () {
      const ds = yield* Effect.all([fake("a"), fake("flaky", { failureRate: 0.5 }), fake("c")])
      const router = yield* Router.make({
        deployments: ds.map((d) => d.deployment),
        strategy: Strategy.roundRobin(),
        circuit: false
      })
      const n = 10_000
      let completions = 0
      const exits = yield* Effect.forEach(
        Array.from({ length: n }, (_, i) => i),
        () =>
          Effect.exit(
            Effect.ensuring(
              router.service.chat(request),
              Effect.sync(() => completions++)
            )
          ),
        { concurrency: "unbounded" }
      )
      expect(completions).toBe(n)
      const successes = exits.filter(Exit.isSuccess).length
      const failures = exits.filter(
        (e) => Exit.isFailure(e) && e.cause._tag === "Fail" && LiterLlmError.isLiterLlmError(e.cause.error)
      ).length
      expect(successes + failures).toBe(n)
      const stats = yield* router.stats
      const sum = (f: (d: Router.DeploymentStats) => number) => stats.deployments.reduce((s, d) => s + f(d), 0)
      expect(sum((d) => d.inFlight)).toBe(0)
      expect(sum((d) => d.successes)).toBe(successes)
      expect(sum((d) => d.requests)).toBe(sum((d) => d.successes + d.failures + d.interruptions))
      // Every failed attempt on the flaky deployment was followed by exactly one failover.
      expect(stats.failovers).toBe(stats.deployments[1].failures)
      expect(stats.deployments[1].failures).toBeGreaterThan(1000)
      expect(stats.deployments[1].failures).toBeLessThan(2300)
      // Every call started was either a request's first try or a failover.
      expect(sum((d) => d.requests)).toBe(n + stats.failovers)
    }).pipe(Effect.scoped, Effect.withRandom(Random.make(42)))
  )

  it.effect("interrupting the caller interrupts the deployment call and frees its slot", () =>
    Effect.gen(function* () {
      const { router, slow } = yield* scriptedRouter({ slow: [{ latency: 10_000 }] })
      const fibers = yield* Effect.all(Array.from({ length: 3 }, () => Effect.fork(router.service.chat(request))))
      yield* TestClock.adjust("1 second")
      expect((yield* router.stats).deployments[0].inFlight).toBe(3)
      yield* Effect.forEach(fibers, Fiber.interrupt)
      expect(yield* slow.interrupted).toBe(3)
      const stats = (yield* router.stats).deployments[0]
      expect([stats.inFlight, stats.interruptions, stats.failures]).toEqual([0, 3, 0])
    }).pipe(Effect.scoped)
  )

  it.effect("interrupting a streaming caller frees the slot too", () =>
    Effect.gen(function* () {
      const { router } = yield* fakeRouter({ a: { chunks: 4, chunkDelay: "1 second", reply: "abcdefgh" } })
      const fiber = yield* Effect.fork(Stream.runDrain(router.service.chatStream(request)))
      yield* TestClock.adjust("1500 millis")
      expect((yield* router.stats).deployments[0].inFlight).toBe(1)
      yield* Fiber.interrupt(fiber)
      const stats = (yield* router.stats).deployments[0]
      expect([stats.inFlight, stats.interruptions]).toEqual([0, 1])
    }).pipe(Effect.scoped)
  )

  it.effect("maxConcurrency is a hard cap: a full deployment is skipped", () =>
    Effect.gen(function* () {
      const a = yield* scripted("a", [{ latency: 100 }], { maxConcurrency: 2 })
      const b = yield* scripted("b", [{ latency: 100 }])
      const router = yield* Router.make({ deployments: [a.deployment, b.deployment], strategy: Strategy.fallback() })
      const fiber = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 5 }, () => router.service.chat(request)),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust(100)
      yield* Fiber.join(fiber)
      expect([yield* a.calls, yield* b.calls]).toEqual([2, 3])
    }).pipe(Effect.scoped)
  )

  it.effect("every deployment full: NoDeploymentAvailable saying so", () =>
    Effect.gen(function* () {
      const a = yield* scripted("a", [{ latency: 100 }], { maxConcurrency: 1 })
      const router = yield* Router.make({ deployments: [a.deployment], strategy: Strategy.fallback() })
      const busy = yield* Effect.fork(router.service.chat(request))
      yield* Effect.yieldNow()
      const error = yield* Effect.flip(router.service.chat(request))
      expect(error._tag).toBe("NoDeploymentAvailable")
      expect(error.message).toMatch(/maxConcurrency/)
      yield* TestClock.adjust(100)
      yield* Fiber.join(busy)
    }).pipe(Effect.scoped)
  )

  it.effect("an interrupted half-open probe frees the probe for the next request", () =>
    Effect.gen(function* () {
      const { router } = yield* scriptedRouter(
        { a: [{ error: new LiterLlmError.ServiceUnavailable() }, { latency: 10_000 }, {}] },
        { circuit: { failures: 1, cooldown: "1 second" } }
      )
      yield* Effect.flip(router.service.chat(request))
      yield* TestClock.adjust("1 second")
      const probe = yield* Effect.fork(router.service.chat(request))
      yield* TestClock.adjust("10 millis")
      yield* Fiber.interrupt(probe)
      expect((yield* router.stats).deployments[0].circuit).toBe("half-open")
      const next = yield* Effect.exit(router.service.chat(request))
      expect(Exit.isSuccess(next)).toBe(true)
      expect((yield* router.stats).deployments[0].circuit).toBe("closed")
    }).pipe(Effect.scoped)
  )

  it.effect("interrupting a request while it waits to retry leaves nothing in flight", () =>
    Effect.gen(function* () {
      const { router, a } = yield* scriptedRouter(
        { a: [{ error: new LiterLlmError.RateLimited({ retryAfter: Duration.seconds(5) }) }] },
        { retry: Schedule.recurs(3), circuit: false }
      )
      const fiber = yield* Effect.fork(router.service.chat(request))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const stats = (yield* router.stats).deployments[0]
      expect([stats.requests, stats.failures, stats.inFlight]).toEqual([1, 1, 0])
      yield* TestClock.adjust("10 seconds")
      expect(yield* a.calls).toBe(1)
    }).pipe(Effect.scoped)
  )
})
