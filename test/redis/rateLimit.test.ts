import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Chat from "../../src/Chat.js"
import * as LlmTest from "../../src/LlmTest.js"
import * as RateLimit from "../../src/RateLimit.js"
import { Redis } from "../../src/redis/index.js"
import * as RedisServer from "../support/redisServer.js"
import { build } from "./kit.js"

const request: Chat.ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "hello" }] }
const minute = Duration.minutes(1)

/**
 * Two processes' worth of stores: two layers, two connections, one server. The timeout is generous: these tests are
 * about exactness, and a burst of 200 scripts on a loaded machine may take longer than the default 50 ms (the calls
 * past it would be served locally, which faults.test.ts covers).
 */
const twoStores = Effect.gen(function* () {
  const server = yield* RedisServer.start()
  const options: Redis.Options = { url: server.url, prefix: "rl-test:", timeout: "2 seconds" }
  const a = yield* build(options)
  const b = yield* build(options)
  return { server, a, b, storeA: Context.get(a, RateLimit.Store), storeB: Context.get(b, RateLimit.Store) }
})

describe("Redis RateLimit.Store", () => {
  it.scopedLive("200 concurrent acquires over two connections at rpm 60: exactly 60 admitted", () =>
    Effect.gen(function* () {
      const { storeA, storeB } = yield* twoStores
      const limits: RateLimit.Limits = { window: minute, requests: 60, tokens: undefined }
      const results = yield* Effect.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? storeA : storeB).acquire("gpt", limits, 10)),
        { concurrency: "unbounded" }
      )
      const admitted = results.filter((r) => r._tag === "Admitted")
      expect(admitted).toHaveLength(60)
      for (const refused of results.filter((r) => r._tag === "Refused")) {
        const wait = Duration.toMillis(refused.retryAfter)
        expect(wait).toBeGreaterThan(0)
        expect(wait).toBeLessThanOrEqual(60_000)
      }
      // another key has a window of its own
      expect((yield* storeB.acquire("other", limits, 10))._tag).toBe("Admitted")
    })
  )

  it.scopedLive("tpm: the estimate is reserved, and corrected to the real usage at settle, across connections", () =>
    Effect.gen(function* () {
      const { storeA, storeB } = yield* twoStores
      const limits: RateLimit.Limits = { window: minute, requests: undefined, tokens: 1000 }
      const first = yield* storeA.acquire("m", limits, 300)
      const second = yield* storeB.acquire("m", limits, 300)
      expect((yield* storeA.acquire("m", limits, 300))._tag).toBe("Admitted")
      const refused = yield* storeB.acquire("m", limits, 300)
      expect(refused._tag).toBe("Refused")
      if (first._tag !== "Admitted" || second._tag !== "Admitted") return expect.unreachable()
      // the first call used 100 tokens, not 300: 700 held, room for one more of 300
      yield* storeA.settle(first.ticket, 100)
      expect((yield* storeB.acquire("m", limits, 300))._tag).toBe("Admitted")
      expect((yield* storeB.acquire("m", limits, 1))._tag).toBe("Refused")
      // nonsense usage is ignored rather than freeing the window
      yield* storeB.settle(second.ticket, Number.NaN)
      yield* storeB.settle(second.ticket, -5)
      expect((yield* storeA.acquire("m", limits, 1))._tag).toBe("Refused")
    })
  )

  it.scopedLive("every key is under the prefix and has a TTL", () =>
    Effect.gen(function* () {
      const { a, storeA } = yield* twoStores
      yield* storeA.acquire("gpt-4o", { window: minute, requests: 5, tokens: 100 }, 10)
      const connection = Context.get(a, Redis.Connection)
      const keys = yield* connection.run((redis) => redis.keys("*"))
      expect(keys.sort()).toEqual(["rl-test:rl:gpt-4o:h", "rl-test:rl:gpt-4o:z"])
      for (const key of keys) {
        const ttl = yield* connection.run((redis) => redis.pttl(key))
        expect(ttl).toBeGreaterThan(0)
        expect(ttl).toBeLessThanOrEqual(120_000)
      }
    })
  )

  it.scopedLive("RateLimit.layer on two Redis layers: one shared window of rpm 2", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoStores
      const below = (yield* LlmTest.make()).service
      const serviceA = yield* RateLimit.make({ rpm: 2 })(below).pipe(Effect.provide(a))
      const serviceB = yield* RateLimit.make({ rpm: 2 })(below).pipe(Effect.provide(b))
      yield* serviceA.chat(request)
      yield* serviceB.chat(request)
      const third = yield* Effect.either(serviceA.chat(request))
      expect(Either.isLeft(third) && third.left._tag).toBe("RateLimited")
    })
  )
})
