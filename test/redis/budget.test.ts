import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Budget from "../../src/Budget.js"
import type * as Chat from "../../src/Chat.js"
import * as LlmTest from "../../src/LlmTest.js"
import { Redis } from "../../src/redis/index.js"
import * as BudgetStore from "../../src/redis/internal/budget.js"
import * as RedisServer from "../support/redisServer.js"
import { build, eventually } from "./kit.js"

const global = (limit: number | undefined): ReadonlyArray<Budget.Scope> => [
  { key: "global", limit },
  { key: "model:m", limit: undefined }
]

/** Two processes' worth of budget stores on one server (a generous timeout: these tests are about exactness). */
const twoStores = Effect.gen(function* () {
  const server = yield* RedisServer.start()
  const options: Redis.Options = { url: server.url, prefix: "budget-test:", timeout: "2 seconds" }
  const a = yield* build(options)
  const b = yield* build(options)
  return { server, a, b, storeA: Context.get(a, Budget.Store), storeB: Context.get(b, Budget.Store) }
})

describe("Redis Budget.Store", () => {
  it.scopedLive("hard $1 shared by two connections: 200 concurrent reservations never pass it", () =>
    Effect.gen(function* () {
      const { storeA, storeB } = yield* twoStores
      const admissions = yield* Effect.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? storeA : storeB).reserve(global(1), 0.03, true)),
        { concurrency: "unbounded" }
      )
      const reserved = admissions.filter((a) => a._tag === "Reserved")
      expect(reserved).toHaveLength(33)
      const refused = admissions.find((a) => a._tag === "Refused")
      expect(refused?.over).toMatchObject({ scope: "global", limit: 1 })
      yield* Effect.forEach(
        reserved,
        (a, i) => (i % 2 === 0 ? storeA : storeB).settle(a._tag === "Reserved" ? a.reservation : undefined!, 0.03),
        { concurrency: "unbounded" }
      )
      const spent = yield* storeB.spent
      expect(spent["global"]).toBeCloseTo(0.99, 10)
      expect(spent["global"]!).toBeLessThanOrEqual(1)
      expect(spent["model:m"]).toBeCloseTo(0.99, 10)
    })
  )

  it.scopedLive("each call settles at its real cost, once; soft mode only counts", () =>
    Effect.gen(function* () {
      const { storeA, storeB } = yield* twoStores
      const first = yield* storeA.reserve(global(1), 0.6, true)
      // 0.6 reserved by a call in flight: 0.6 more would pass the limit
      expect((yield* storeB.reserve(global(1), 0.6, true))._tag).toBe("Refused")
      if (first._tag !== "Reserved") return expect.unreachable()
      yield* storeA.settle(first.reservation, 0.1)
      yield* storeA.settle(first.reservation, 0.1)
      expect((yield* storeB.spent)["global"]).toBeCloseTo(0.1, 12)
      const second = yield* storeB.reserve(global(1), 0.6, true)
      expect(second._tag).toBe("Reserved")
      // soft: over the limit, reserved anyway, with the limit it passes
      const soft = yield* storeA.reserve(global(1), 0.6, false)
      expect(soft._tag).toBe("Reserved")
      expect(soft.over).toMatchObject({ scope: "global", limit: 1 })
    })
  )

  it.scopedLive("a crashed process's reservation expires; a call that outlives it is still charged", () =>
    Effect.gen(function* () {
      const { a, storeB } = yield* twoStores
      const shortLived = yield* BudgetStore.make(Context.get(a, Redis.Connection), { reservationTtl: 200 })
      const held = yield* shortLived.reserve(global(1), 0.9, true)
      expect((yield* storeB.reserve(global(1), 0.2, true))._tag).toBe("Refused")
      yield* eventually(
        "the reservation to expire",
        Effect.map(storeB.reserve(global(1), 0.2, true), (r) => r._tag === "Reserved")
      )
      if (held._tag !== "Reserved") return expect.unreachable()
      yield* shortLived.settle(held.reservation, 0.5)
      yield* shortLived.settle(held.reservation, 0.5)
      expect((yield* storeB.spent)["global"]).toBeCloseTo(0.5, 12)
    })
  )

  it.scopedLive("reset zeroes the shared spend; keys are under the prefix, each with a TTL", () =>
    Effect.gen(function* () {
      const { a, storeA, storeB } = yield* twoStores
      const r = yield* storeA.reserve(global(5), 1, true)
      if (r._tag !== "Reserved") return expect.unreachable()
      yield* storeA.settle(r.reservation, 2)
      expect(yield* storeB.spent).toEqual({ global: 2, "model:m": 2 })
      yield* storeB.reset
      expect(yield* storeA.spent).toEqual({})
      const connection = Context.get(a, Redis.Connection)
      const keys = yield* connection.run((redis) => redis.keys("*"))
      expect(keys.length).toBeGreaterThan(0)
      for (const key of keys) {
        expect(key.startsWith("budget-test:budget:")).toBe(true)
        expect(yield* connection.run((redis) => redis.pttl(key))).toBeGreaterThan(0)
      }
    })
  )

  it.scopedLive("Budget.layer on two Redis layers: one spend, and the limit refuses in the other process", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoStores
      const request: Chat.ChatCompletionRequest = { model: "priced", messages: [{ role: "user", content: "hi" }] }
      const options: Budget.Options = {
        globalLimit: 0.01,
        prices: { priced: { inputPerMillion: 1000, outputPerMillion: 1000 } }
      }
      const below = (yield* LlmTest.make({ usage: { prompt_tokens: 5, completion_tokens: 5 } })).service
      const serviceA = yield* Budget.make(options)(below).pipe(Effect.provide(a))
      const serviceB = yield* Budget.make(options)(below).pipe(Effect.provide(b))
      yield* serviceA.chat({ ...request, max_tokens: 1 })
      const spend = yield* Budget.view(Context.get(b, Budget.Store)).spend
      expect(spend.global).toBeCloseTo(0.01, 12)
      const refused = yield* Effect.either(serviceB.chat({ ...request, max_tokens: 1 }))
      expect(Either.isLeft(refused) && refused.left._tag).toBe("BudgetExceeded")
    })
  )
})
