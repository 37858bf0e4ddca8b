import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"
import * as Deployment from "../../src/Deployment.js"
import * as LiterLlmError from "../../src/LiterLlmError.js"
import * as LlmTest from "../../src/LlmTest.js"
import * as Router from "../../src/Router.js"
import * as RouterStore from "../../src/RouterStore.js"
import * as Strategy from "../../src/Strategy.js"
import * as State from "../../src/redis/internal/routerState.js"
import { Redis } from "../../src/redis/index.js"
import * as RedisServer from "../support/redisServer.js"

import { admit, admitted, drain, failure, one, settled, skewed, state, storeOn, success } from "./routerStore.kit.js"

describe("Redis RouterStore", () => {
  it.scopedLive("two stores share counters and latency (not calls in flight): each sees the other's after a sync", () =>
    Effect.gen(function* () {
      const server = yield* RedisServer.start()
      const a = yield* storeOn(server)
      const b = yield* storeOn(server)
      const now = Date.now()
      yield* a.service.write([admitted("d"), settled("d", now, success(100))])
      yield* b.service.write([admitted("d"), settled("d", now, success(300))])
      // Both sync; whichever writes second finds the other's version and applies its events again on top.
      yield* Effect.all([a.sync, b.sync], { concurrency: 2 })
      yield* Effect.all([drain(a), drain(b)])
      yield* Effect.all([a.sync, b.sync])
      const [da, db] = [yield* one(a.service, "d"), yield* one(b.service, "d")]
      expect([da.requests, da.successes, da.inFlight]).toEqual([2, 2, 0])
      // Instants differ by the two offsets' measuring error (a round trip at most); everything else is equal.
      const counts = (d: RouterStore.DeploymentState) => [d.requests, d.successes, d.failures, d.latency, d.failing]
      expect(counts(db)).toEqual(counts(da))
      expect(Math.abs(db.sampledAt - da.sampledAt)).toBeLessThan(100)
      expect(da.latency).toBe(200) // 100 then 300 or 300 then 100, alpha 0.5
      expect((yield* a.service.snapshot(["d"])).turn).toBe(2)
      // Calls in flight are each process's own (a dead process's calls would otherwise count forever).
      yield* a.service.write([admitted("d")])
      yield* drain(a)
      yield* b.sync
      expect([(yield* one(a.service, "d")).inFlight, (yield* one(b.service, "d")).inFlight]).toEqual([1, 0])
      expect((yield* one(b.service, "d")).requests).toBe(3)
    })
  )

  it.scopedLive("many concurrent writers lose no update (compare-and-set on each key's version)", () =>
    Effect.gen(function* () {
      const server = yield* RedisServer.start()
      const stores = yield* Effect.all([storeOn(server), storeOn(server), storeOn(server)])
      yield* Effect.forEach(
        stores,
        (s) =>
          Effect.forEach(
            Array.from({ length: 20 }),
            () => Effect.zipRight(s.service.write([admitted("d"), settled("d", Date.now(), success(10))]), s.sync),
            { discard: true }
          ),
        { concurrency: "unbounded", discard: true }
      )
      yield* Effect.forEach(stores, drain, { discard: true })
      yield* Effect.forEach(stores, (s) => s.sync, { discard: true })
      for (const s of stores) expect((yield* one(s.service, "d")).requests).toBe(60)
    })
  )

  it.scopedLive(
    "the half-open probe is held by one process at a time, and its success closes the circuit for both",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisServer.start()
        const a = yield* storeOn(server)
        const b = yield* storeOn(server)
        // Trips at once with a cooldown that has already passed: the next request is the probe.
        const longAgo = Date.now() - 60_000
        yield* a.service.write([admitted("d"), settled("d", longAgo, failure)])
        yield* a.sync
        yield* b.sync
        expect((yield* one(b.service, "d")).circuit.state).toBe("open")
        // Two requests of A at once and one of B: exactly one probe between them.
        const decisions = yield* Effect.all(
          [
            a.service.modify(["d"], admit("d")),
            a.service.modify(["d"], admit("d")),
            b.service.modify(["d"], admit("d"))
          ],
          { concurrency: "unbounded" }
        )
        expect(decisions.filter((d) => d === "probe")).toHaveLength(1)
        expect(decisions.filter((d) => d === "blocked")).toHaveLength(2)
        const prober = decisions.indexOf("probe") < 2 ? a : b
        yield* prober.service.write([settled("d", Date.now(), success(20), true)])
        yield* prober.sync
        yield* a.sync
        yield* b.sync
        for (const s of [a, b]) {
          const d = yield* one(s.service, "d")
          expect([d.circuit.state, d.circuit.probing]).toEqual(["closed", false])
        }
        const lease = yield* a.connection.run((redis) => redis.exists("t:router:p:d"))
        expect(lease).toBe(0)
      })
  )

  it.scopedLive("a cooldown is stored on Redis time: hosts with skewed clocks agree when it ends", () =>
    Effect.gen(function* () {
      const server = yield* RedisServer.start()
      // A's clock runs an hour behind; B's is right.
      const a = yield* storeOn(server).pipe(Effect.withClock(skewed(-3_600_000)))
      const b = yield* storeOn(server)
      const aNow = yield* Effect.withClock(Clock.currentTimeMillis, skewed(-3_600_000))
      yield* a.service.write([admitted("d"), settled("d", aNow, failure)])
      yield* Effect.withClock(a.sync, skewed(-3_600_000))
      yield* b.sync
      const reopens = (yield* one(b.service, "d")).circuit.openUntil - Date.now()
      // Up to the two offsets' measuring errors (half a round trip each, on a busy machine).
      expect(Math.abs(reopens - 10_000)).toBeLessThan(250)
    })
  )

  it.scoped("under TestClock the offset holds: a cooldown ends when the test clock says, not the real one", () =>
    Effect.gen(function* () {
      // The server starts on the live clock (it polls for PING); the store runs on the test clock.
      const server = yield* TestServices.provideLive(RedisServer.start())
      const a = yield* storeOn(server)
      yield* a.service.write([admitted("d"), settled("d", 0, failure)]) // trips at test time 0 for 10 s
      yield* a.sync
      yield* a.sync
      expect(yield* a.service.modify(["d"], admit("d", 9_999))).toBe("blocked")
      yield* TestClock.adjust(Duration.seconds(10))
      yield* a.sync // measured again 10 s later by the test clock: kept, as Redis' clock moved by milliseconds
      const now = yield* Clock.currentTimeMillis
      expect((yield* one(a.service, "d")).circuit.openUntil).toBe(10_000)
      expect(yield* a.service.modify(["d"], admit("d", now))).toBe("probe")
    })
  )

  it.scopedLive("Redis killed: the store serves from its copy, shows unavailable, and resyncs when it is back", () =>
    Effect.gen(function* () {
      const server = yield* RedisServer.start()
      const a = yield* storeOn(server, "t:", 50)
      yield* a.service.write([admitted("d"), settled("d", Date.now(), success(10))])
      yield* a.sync
      yield* server.kill
      yield* a.service.write([admitted("d"), settled("d", Date.now(), success(10))])
      yield* a.sync
      expect((yield* one(a.service, "d")).requests).toBe(2)
      const down = yield* a.service.status!
      expect(down).toMatchObject({ kind: "redis", state: "unavailable", outages: 1 })
      yield* server.restart
      // The restarted server is empty: the events not yet written reach it; the lost history does not come back.
      for (let i = 0; i < 100 && state(yield* a.service.status!) === "unavailable"; i++) {
        yield* Effect.sleep(Duration.millis(30))
        yield* a.sync
      }
      expect(state(yield* a.service.status!)).toBe("connected")
      const b = yield* storeOn(server)
      expect((yield* one(b.service, "d")).requests).toBe(1)
    })
  )

  it.scopedLive("Redis absent at start: the store builds, routes on its copy, and writes it once Redis is up", () =>
    Effect.gen(function* () {
      const server = yield* RedisServer.start({ absent: true })
      const a = yield* storeOn(server, "t:", 50)
      expect(yield* a.service.modify(["d"], admit("d"))).toBe("closed")
      yield* a.service.write([settled("d", Date.now(), success(10))])
      expect(yield* a.service.status!).toMatchObject({ kind: "redis", state: "unavailable" })
      yield* server.restart
      yield* drain(a)
      const b = yield* storeOn(server)
      expect((yield* one(b.service, "d")).successes).toBe(1)
    })
  )

  it.scopedLive("a batch whose reply timed out but that Redis ran later is not applied twice", () =>
    Effect.gen(function* () {
      const server = yield* RedisServer.start()
      const a = yield* storeOn(server, "t:", 50)
      yield* a.sync
      yield* server.pause
      yield* a.service.write([admitted("d")])
      yield* a.sync // written to the socket, no answer within the timeout
      yield* server.resume // the paused server now runs it
      for (let i = 0; i < 100 && state(yield* a.service.status!) === "unavailable"; i++) {
        yield* Effect.sleep(Duration.millis(30))
        yield* a.sync
      }
      yield* a.sync
      const b = yield* storeOn(server)
      expect((yield* one(b.service, "d")).requests).toBe(1)
      expect((yield* one(a.service, "d")).requests).toBe(1)
    })
  )

  it.scopedLive("every key is under the prefix with a TTL; a malformed stored state counts as new and is logged", () =>
    Effect.gen(function* () {
      const server = yield* RedisServer.start()
      const lines: Array<string> = []
      const logger = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ message }) => lines.push(String(message)))
      )
      const a = yield* storeOn(server, "app1:")
      yield* a.service.write([admitted("d"), settled("d", Date.now() - 60_000, failure)])
      yield* a.sync
      expect(yield* a.service.modify(["d"], admit("d"))).toBe("probe")
      const keys = yield* a.connection.run((redis) => redis.keys("*"))
      expect(keys.length).toBeGreaterThanOrEqual(4)
      for (const key of keys) {
        expect(key.startsWith("app1:router:")).toBe(true)
        expect(yield* a.connection.run((redis) => redis.pttl(key))).toBeGreaterThan(0)
      }
      yield* a.connection.run((redis) => redis.hset("app1:router:d:e", "v", "3", "s", '{"requests":"many"}'))
      const b = yield* storeOn(server, "app1:").pipe(Effect.provide(logger))
      expect(yield* one(b.service, "e").pipe(Effect.provide(logger))).toEqual(RouterStore.initial)
      expect(lines.filter((l) => l.includes('deployment "e" is malformed'))).toHaveLength(1)
      // And it is overwritten by the next write.
      yield* b.service.write([admitted("e")])
      yield* b.sync
      expect(State.decode((yield* a.connection.run((redis) => redis.hget("app1:router:d:e", "s")))!)?.requests).toBe(1)
    })
  )

  it.scopedLive(
    "Redis.layer provides the store: a circuit one router opens is honoured by another, and stats say redis",
    () =>
      Effect.gen(function* () {
        const server = yield* RedisServer.start()
        const options = { url: server.url, prefix: "r:", timeout: "1 second" as const }
        const routerOn = Effect.gen(function* () {
          const context = yield* Layer.build(Redis.layer(options))
          return yield* Router.make({
            deployments: [
              Deployment.make({ name: "down", layer: LlmTest.layer({ fail: new LiterLlmError.ServiceUnavailable() }) }),
              Deployment.make({ name: "up", layer: LlmTest.layer({ reply: "up" }) })
            ],
            strategy: Strategy.fallback(),
            circuit: { failures: 1, cooldown: "1 minute" }
          }).pipe(Effect.provide(context))
        })
        const one = yield* routerOn
        const two = yield* routerOn
        const request = { model: "m", messages: [{ role: "user" as const, content: "hi" }] }
        yield* one.service.chat(request)
        // The other router learns of the open circuit within its refresh (100 ms); give it a bounded while.
        let state = "closed"
        for (let i = 0; i < 50 && state !== "open"; i++) {
          yield* Effect.sleep(Duration.millis(20))
          state = (yield* two.stats).deployments[0].circuit
        }
        expect(state).toBe("open")
        yield* two.service.chat(request)
        expect((yield* two.stats).deployments.map((d) => d.requests)).toEqual([1, 2])
        expect((yield* two.stats).store).toMatchObject({ kind: "redis", state: "connected", outages: 0 })
        expect(JSON.stringify(yield* two.stats)).not.toContain(Redacted.value(server.url))
      })
  )
})
