/**
 * Redis going away never fails a call: absent at start, killed mid-run, or paused (SIGSTOP), each store serves from
 * local state within about the timeout, the layer logs one warning, and the shared state catches up when Redis
 * answers again. The servers have a password, and no log line may show it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Budget from "../../src/Budget.js"
import * as LlmCache from "../../src/LlmCache.js"
import * as RateLimit from "../../src/RateLimit.js"
import { Redis } from "../../src/redis/index.js"
import { build, eventually, type Logs, password, serverWithPassword, withLogs } from "./kit.js"

const scopes: ReadonlyArray<Budget.Scope> = [{ key: "global", limit: 1 }]
const limits: RateLimit.Limits = { window: Duration.minutes(1), requests: 2, tokens: undefined }
const entry = {
  _tag: "Embedding",
  response: { object: "list", model: "e", data: [], usage: { prompt_tokens: 1, total_tokens: 1 } }
} as unknown as LlmCache.Entry

/** An effect and how long it took, in real millis. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const started = Date.now()
    const value = yield* effect
    return [value, Date.now() - started] as const
  })

/** The stores of one layer (one process). */
const storesOf = (
  context: Context.Context<Redis.Connection | RateLimit.Store | Budget.Store | LlmCache.CacheStore>
) => ({
  connection: Context.get(context, Redis.Connection),
  rateLimit: Context.get(context, RateLimit.Store),
  budget: Context.get(context, Budget.Store),
  cache: Context.get(context, LlmCache.CacheStore)
})

/** Each store answers locally, every call well within a few timeouts. */
const servedLocally = (stores: ReturnType<typeof storesOf>) =>
  Effect.gen(function* () {
    const [first, t1] = yield* timed(stores.rateLimit.acquire("m", limits, 1))
    const [second, t2] = yield* timed(stores.rateLimit.acquire("m", limits, 1))
    const [third, t3] = yield* timed(stores.rateLimit.acquire("m", limits, 1))
    expect([first._tag, second._tag, third._tag]).toEqual(["Admitted", "Admitted", "Refused"])
    const [reserved, t4] = yield* timed(stores.budget.reserve(scopes, 0.2, true))
    expect(reserved._tag).toBe("Reserved")
    if (reserved._tag === "Reserved") yield* stores.budget.settle(reserved.reservation, 0.25)
    const [, t5] = yield* timed(stores.cache.set("k", entry, Duration.minutes(1)))
    const [hit, t6] = yield* timed(stores.cache.get("k"))
    expect(Option.isSome(hit)).toBe(true)
    for (const took of [t1, t2, t3, t4, t5, t6]) expect(took).toBeLessThan(400)
  })

/** Another process reading what reached Redis, with a generous timeout: it observes, it is not under test. */
const observer = (options: Redis.Options) => Effect.map(build({ ...options, timeout: "2 seconds" }), storesOf)

const noSecrets = (logs: Logs, plainUrl: string) => {
  const text = logs.lines.join("\n")
  expect(text).not.toContain(password)
  expect(text).not.toContain(plainUrl)
}

describe("Redis stores when Redis fails", () => {
  it.scopedLive("absent at start: the layer builds, calls are served locally, local spend reaches Redis once", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const { server, options } = yield* serverWithPassword({ absent: true })
        const stores = storesOf(yield* build(options))
        expect((yield* stores.connection.status).state).toBe("unavailable")
        yield* servedLocally(stores)
        expect(yield* stores.budget.spent).toEqual({ global: 0.25 })
        yield* server.restart
        // the next reservation finds Redis back, and writes the outage's spend first
        yield* eventually(
          "Redis to be used again",
          Effect.map(stores.connection.status, (s) => s.state === "connected").pipe(
            Effect.tap(() => stores.budget.reserve(scopes, 0.01, true))
          )
        )
        const other = yield* observer(options)
        expect((yield* other.budget.spent)["global"]).toBeCloseTo(0.25, 12)
        expect(logs.count("WARN")).toBe(1)
        noSecrets(logs, server.plainUrl)
      })
    )
  )

  // Killed (SIGKILL, restarted empty: no persistence) or paused (SIGSTOP, resumed with what it was sent meanwhile):
  // either way the calls give up after the timeout, and once Redis answers again it holds every cost exactly once.
  // `spent` is what Redis holds then: the outage's local calls ($0.25), plus the $0.30 settled during the outage for a
  // reservation made on Redis before it — which a restarted, empty server no longer has, so it is not charged there
  // (a Redis reservation is charged only while open: that is what keeps a repeated settle from charging twice).
  for (const outage of [
    { name: "killed mid-run", stop: "kill", back: "restart", spent: 0.25 },
    { name: "paused", stop: "pause", back: "resume", spent: 0.55 }
  ] as const) {
    it.scopedLive(
      `${outage.name}: served locally within the timeout, one warning, nothing charged twice once Redis is back`,
      () =>
        withLogs((logs) =>
          Effect.gen(function* () {
            const { server, options } = yield* serverWithPassword()
            const stores = storesOf(yield* build(options))
            const before = yield* stores.budget.reserve(scopes, 0.3, true)
            if (before._tag !== "Reserved") return expect.unreachable()
            yield* server[outage.stop]
            // this settle meets a dead or paused server: it times out and waits in the local queue until Redis is back
            const [, settleTook] = yield* timed(stores.budget.settle(before.reservation, 0.3))
            expect(settleTook).toBeLessThan(400)
            yield* servedLocally(stores)
            expect((yield* stores.connection.status).state).toBe("unavailable")
            yield* server[outage.back]
            yield* eventually(
              "Redis to be used again",
              Effect.map(stores.connection.status, (s) => s.state === "connected").pipe(
                Effect.tap(() => stores.budget.reserve([{ key: "other", limit: undefined }], 0, true))
              )
            )
            const other = yield* observer(options)
            expect((yield* other.budget.spent)["global"]).toBeCloseTo(outage.spent, 12)
            // and nothing holds budget: the reservation made before the outage was settled, not left behind
            const left = yield* other.budget.reserve(scopes, 0.45, true)
            expect(left._tag).toBe("Reserved")
            expect(logs.count("WARN")).toBe(1)
            expect(logs.count("INFO")).toBe(1)
            noSecrets(logs, server.plainUrl)
          })
        )
    )
  }

  it.scopedLive("Redis.layer with a wrong password: served locally, and the password is in no log", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const { server } = yield* serverWithPassword()
        const wrong = `redis://:not-the-${password}@127.0.0.1:${server.port}`
        const stores = storesOf(yield* build({ url: Redacted.make(wrong), prefix: "x:" }))
        yield* servedLocally(stores)
        expect(Either.isLeft(yield* Effect.either(stores.connection.time))).toBe(true)
        expect(logs.count("WARN")).toBeGreaterThanOrEqual(1)
        expect(logs.lines.join("\n")).not.toContain(password)
      })
    )
  )
})
