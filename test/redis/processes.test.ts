/**
 * Many processes act as one: two real OS processes (`worker.ts`), each with its own router and middleware, share one
 * real redis-server through `Redis.layer`, and call one loopback upstream this test runs. One test per promise of
 * issue 14. The processes start once for the file and are rebuilt per test on a fresh key prefix. Real processes
 * cannot share a `TestClock`: the layer excludes the test services, so every test here runs on the live clock (as
 * `it.live` would) and polls, bounded, where a process must catch up.
 */
import { expect, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import * as RedisServer from "../support/redisServer.js"
import type { Config } from "./worker.js"
import { spawnWorker, type Worker } from "./workers.js"

/** How the upstream answers each deployment (by the first segment of the path). */
type Behaviour = Readonly<Record<string, FakeUpstream.Script>>

class Rig extends Context.Tag("test/Rig")<
  Rig,
  {
    readonly server: RedisServer.RedisServer
    readonly upstream: FakeUpstream.Service
    readonly a: Worker
    readonly b: Worker
    readonly behave: (behaviour: Behaviour) => Effect.Effect<void>
    /** Requests the upstream received for `deployment` since the test's setup. */
    readonly calls: (deployment: string) => Effect.Effect<number>
    /** Rebuilds both workers on a fresh prefix. */
    readonly setup: (config: Omit<Config, "redisUrl" | "prefix" | "upstream">) => Effect.Effect<void>
  }
>() {}

const usage = { promptTokens: 2, completionTokens: 10 }

const rig = Layer.scoped(
  Rig,
  Effect.gen(function* () {
    const server = yield* RedisServer.start()
    const behaviour = yield* Ref.make<Behaviour>({})
    const upstream = yield* Effect.orDie(FakeUpstream.make())
    const [a, b] = yield* Effect.all([spawnWorker, spawnWorker], { concurrency: 2 })
    const since = yield* Ref.make(0)
    const tests = yield* Ref.make(0)
    const deploymentOf = (url: string) => url.split("/")[1] ?? ""
    yield* upstream.setScript((request) => {
      const name = deploymentOf(request.url)
      const script = Effect.runSync(Ref.get(behaviour))[name] ?? {}
      return { reply: name, usage, ...script }
    })
    return {
      server,
      upstream,
      a,
      b,
      behave: (next) => Ref.set(behaviour, next),
      calls: (deployment) =>
        Effect.zipWith(
          upstream.requests,
          Ref.get(since),
          (requests, from) => requests.slice(from).filter((r) => deploymentOf(r.url) === deployment).length
        ),
      setup: (config) =>
        Effect.gen(function* () {
          const prefix = `p${yield* Ref.updateAndGet(tests, (n) => n + 1)}:`
          const full = { ...config, redisUrl: server.plainUrl, prefix, upstream: upstream.url }
          yield* Effect.all([a.send({ op: "setup", config: full }), b.send({ op: "setup", config: full })], {
            concurrency: 2
          })
          yield* Ref.set(since, (yield* upstream.requests).length)
        })
    }
  })
)

const replies = (tally: Record<string, number>, name: string) => tally[`reply:${name}`] ?? 0
const errors = (tally: Record<string, number>, tag: string) => tally[`error:${tag}`] ?? 0

/** Polls `check` every 50 ms until it holds, at most `tries` times; gives how long it took (ms). */
const within = (what: string, check: Effect.Effect<boolean>, tries: number) =>
  Effect.gen(function* () {
    const start = Date.now()
    for (let i = 0; i < tries; i++) {
      if (yield* check) return Date.now() - start
      yield* Effect.sleep(Duration.millis(50))
    }
    return yield* Effect.dieMessage(`${what}: not within ${tries} polls`)
  })

layer(rig, { timeout: Duration.minutes(2), excludeTestServices: true })("two router processes on one Redis", (it) => {
  it.effect(
    "a circuit opened by one is honoured by the other within 1 s; one probe at a time; success closes it everywhere",
    () =>
      Effect.gen(function* () {
        const { a, b, behave, calls, setup } = yield* Rig
        yield* behave({ flaky: { status: 503 } })
        yield* setup({
          deployments: ["flaky", "backup"],
          strategy: "fallback",
          circuit: { failures: 1, cooldown: "2 seconds" }
        })
        expect(replies(yield* a.send({ op: "chat", n: 1, concurrency: 1 }), "backup")).toBe(1)
        const circuitOf = (w: Worker) => Effect.map(w.send({ op: "stats" }), (s) => s.deployments[0].circuit as string)
        const took = yield* within(
          "B sees the circuit open",
          Effect.map(circuitOf(b), (c) => c === "open"),
          20
        )
        expect(took).toBeLessThan(1000)
        expect(replies(yield* b.send({ op: "chat", n: 5, concurrency: 5 }), "backup")).toBe(5)
        expect(yield* calls("flaky")).toBe(1)
        // Recovered but slow: every request of the burst below decides while the probe is still out.
        yield* behave({ flaky: { latency: "600 millis" } })
        yield* within(
          "the cooldown ends",
          Effect.map(circuitOf(b), (c) => c === "half-open"),
          80
        )
        const [fromA, fromB] = yield* Effect.all(
          [a.send({ op: "chat", n: 5, concurrency: 5 }), b.send({ op: "chat", n: 5, concurrency: 5 })],
          { concurrency: 2 }
        )
        expect(replies(fromA, "flaky") + replies(fromB, "flaky")).toBe(1)
        expect(replies(fromA, "backup") + replies(fromB, "backup")).toBe(9)
        expect(yield* calls("flaky")).toBe(2)
        const closed = (w: Worker) => Effect.map(circuitOf(w), (c) => c === "closed")
        expect(
          yield* within(
            "both see it closed",
            Effect.zipWith(closed(a), closed(b), (x, y) => x && y),
            20
          )
        ).toBeLessThan(1000)
      })
  )

  it.effect("latency averages are shared: a deployment measured slow by one ranks slow in the other", () =>
    Effect.gen(function* () {
      const { a, b, behave, calls, setup } = yield* Rig
      // Far slower than anything a busy machine adds to "quick".
      yield* behave({ slow: { latency: "1 second" } })
      yield* setup({ deployments: ["slow", "quick"], strategy: "latency" })
      // A measures both (each unmeasured deployment is tried first once).
      yield* a.send({ op: "chat", n: 6, concurrency: 1 })
      expect(yield* calls("slow")).toBe(1)
      const slowIn = (w: Worker) => Effect.map(w.send({ op: "stats" }), (s) => s.deployments[0].latencyMillis as number)
      yield* within(
        "B knows the average",
        Effect.map(slowIn(b), (ms) => ms >= 900),
        20
      )
      // B never measured "slow" itself, yet sends it nothing.
      const fromB = yield* b.send({ op: "chat", n: 5, concurrency: 1 })
      expect(replies(fromB, "quick")).toBe(5)
      expect(yield* calls("slow")).toBe(1)
    })
  )

  it.effect("rpm 60 shared: two processes firing 200 at once admit at most 60", () =>
    Effect.gen(function* () {
      const { a, b, setup } = yield* Rig
      yield* setup({ deployments: ["one"], strategy: "fallback", rateLimit: { rpm: 60 } })
      const [fromA, fromB] = yield* Effect.all(
        [a.send({ op: "chat", n: 100, concurrency: 100 }), b.send({ op: "chat", n: 100, concurrency: 100 })],
        { concurrency: 2 }
      )
      const admitted = replies(fromA, "one") + replies(fromB, "one")
      expect(admitted).toBeLessThanOrEqual(60)
      expect(admitted).toBeGreaterThanOrEqual(50)
      expect(errors(fromA, "RateLimited") + errors(fromB, "RateLimited")).toBe(200 - admitted)
    })
  )

  it.effect("tpm shared and corrected at settle: calls estimated large but answered small keep being admitted", () =>
    Effect.gen(function* () {
      const { a, b, behave, setup } = yield* Rig
      // Each call is estimated at over 500 tokens (max_tokens 500) and uses 12: without the correction, two calls
      // would nearly fill the window of 1500.
      yield* setup({ deployments: ["one"], strategy: "fallback", rateLimit: { tpm: 1500 } })
      const [fromA, fromB] = yield* Effect.all(
        [
          a.send({ op: "chat", n: 10, concurrency: 1, maxTokens: 500 }),
          b.send({ op: "chat", n: 10, concurrency: 1, maxTokens: 500 })
        ],
        { concurrency: 2 }
      )
      expect(replies(fromA, "one") + replies(fromB, "one")).toBe(20)
      // 240 tokens used: room for two more calls estimated at 500+, whoever asks. Slow answers keep both
      // reservations in place while the whole burst is decided.
      yield* behave({ one: { latency: "1 second" } })
      const [burstA, burstB] = yield* Effect.all(
        [
          a.send({ op: "chat", n: 10, concurrency: 10, maxTokens: 500 }),
          b.send({ op: "chat", n: 10, concurrency: 10, maxTokens: 500 })
        ],
        { concurrency: 2 }
      )
      expect(replies(burstA, "one") + replies(burstB, "one")).toBe(2)
      expect(errors(burstA, "RateLimited") + errors(burstB, "RateLimited")).toBe(18)
    })
  )

  it.effect("a hard budget of $1 shared: spend plus reservations never pass it; soft mode only counts", () =>
    Effect.gen(function* () {
      const { a, b, setup } = yield* Rig
      // Each call costs (2 + 10 tokens) × $5000 / 1M = $0.06.
      yield* setup({ deployments: ["one"], strategy: "fallback", budget: { globalLimit: 1 } })
      const [fromA, fromB] = yield* Effect.all(
        [
          a.send({ op: "chat", n: 20, concurrency: 20, maxTokens: 10 }),
          b.send({ op: "chat", n: 20, concurrency: 20, maxTokens: 10 })
        ],
        { concurrency: 2 }
      )
      const answered = replies(fromA, "one") + replies(fromB, "one")
      const spend = (yield* a.send({ op: "spend" })).global as number
      expect(spend).toBeLessThanOrEqual(1 + 1e-9)
      expect(spend).toBeCloseTo(answered * 0.06, 9)
      expect(answered).toBeGreaterThan(0)
      expect(errors(fromA, "BudgetExceeded") + errors(fromB, "BudgetExceeded")).toBe(40 - answered)
      expect(((yield* b.send({ op: "spend" })).global as number) - spend).toBeCloseTo(0, 9)

      yield* setup({ deployments: ["one"], strategy: "fallback", budget: { globalLimit: 1, enforcement: "soft" } })
      const [softA, softB] = yield* Effect.all(
        [
          a.send({ op: "chat", n: 20, concurrency: 20, maxTokens: 10 }),
          b.send({ op: "chat", n: 20, concurrency: 20, maxTokens: 10 })
        ],
        { concurrency: 2 }
      )
      expect(replies(softA, "one") + replies(softB, "one")).toBe(40)
      expect((yield* b.send({ op: "spend" })).global).toBeCloseTo(40 * 0.06, 9)
    })
  )

  it.effect("a response cached by one process is a hit in the other, until its TTL", () =>
    Effect.gen(function* () {
      const { a, b, calls, setup } = yield* Rig
      yield* setup({ deployments: ["one"], strategy: "fallback", cache: { ttl: "1 second" } })
      const written = Date.now()
      expect(replies(yield* a.send({ op: "chat", n: 1, concurrency: 1 }), "one")).toBe(1)
      expect(replies(yield* b.send({ op: "chat", n: 1, concurrency: 1 }), "one")).toBe(1)
      expect(yield* calls("one")).toBe(1)
      // Then B asks every 50 ms: the first miss comes once the second is over, not before.
      yield* within(
        "the entry expires",
        Effect.zipRight(
          b.send({ op: "chat", n: 1, concurrency: 1 }),
          Effect.map(calls("one"), (n) => n === 2)
        ),
        60
      )
      expect(Date.now() - written).toBeGreaterThanOrEqual(1000)
    })
  )
})
