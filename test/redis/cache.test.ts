import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Chat from "../../src/Chat.js"
import * as LlmCache from "../../src/LlmCache.js"
import * as LlmTest from "../../src/LlmTest.js"
import { Redis } from "../../src/redis/index.js"
import * as CacheStore from "../../src/redis/internal/cache.js"
import * as RedisServer from "../support/redisServer.js"
import { build, eventually, withLogs } from "./kit.js"

const secretPrompt = "my confidential prompt text"
const request: Chat.ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: secretPrompt }] }

const twoLayers = Effect.gen(function* () {
  const server = yield* RedisServer.start()
  const options: Redis.Options = { url: server.url, prefix: "cache-test:", timeout: "2 seconds" }
  const a = yield* build(options)
  const b = yield* build(options)
  return { server, a, b, connection: Context.get(a, Redis.Connection) }
})

const entry = {
  _tag: "Chat" as const,
  response: {
    id: "r1",
    object: "chat.completion",
    created: 1,
    model: "m",
    choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
  }
} as Extract<LlmCache.Entry, { _tag: "Chat" }>

describe("Redis LlmCache.CacheStore", () => {
  it.scopedLive("a response cached through one connection is a hit through the other, streams too", () =>
    Effect.gen(function* () {
      const { a, b } = yield* twoLayers
      const belowA = yield* LlmTest.make({ reply: "from A" })
      const belowB = yield* LlmTest.make({ reply: "from B" })
      const cachedA = yield* LlmCache.make()(belowA.service).pipe(Effect.provide(a))
      const cachedB = yield* LlmCache.make()(belowB.service).pipe(Effect.provide(b))
      const first = yield* cachedA.chat(request)
      const second = yield* cachedB.chat(request)
      expect(second.choices[0]?.message.content).toBe("from A")
      expect(second.usage?.total_tokens).toBe(0)
      expect(second.id).toBe(first.id)
      expect(yield* belowB.calls).toBe(0)
      const streamed = yield* Stream.runCollect(cachedA.chatStream(request))
      const replayed = yield* Stream.runCollect(cachedB.chatStream(request))
      expect(Chunk.size(replayed)).toBe(Chunk.size(streamed))
      expect(yield* belowB.calls).toBe(0)
    })
  )

  it.scopedLive("entries live their TTL; keys are digests under the prefix, each with a TTL", () =>
    Effect.gen(function* () {
      const { a, b, connection } = yield* twoLayers
      const storeA = Context.get(a, LlmCache.CacheStore)
      const storeB = Context.get(b, LlmCache.CacheStore)
      const key = yield* LlmCache.keyOf("chat", request)
      const withExtra = {
        ...entry,
        response: { ...entry.response, system_fingerprint: "fp", provider_extra: { a: 1 } }
      }
      yield* storeA.set(key, withExtra, Duration.seconds(1))
      // what was stored comes back whole, fields the schemas do not name included
      expect(yield* storeB.get(key)).toEqual(Option.some(withExtra))
      const keys = yield* connection.run((redis) => redis.keys("*"))
      expect(keys.sort()).toEqual(["cache-test:cache-index", `cache-test:cache:${key}`])
      expect(keys.join(" ")).not.toContain("confidential")
      for (const k of keys) expect(yield* connection.run((redis) => redis.pttl(k))).toBeGreaterThan(0)
      yield* eventually("the entry to expire", Effect.map(storeB.get(key), Option.isNone))
    })
  )

  it.scopedLive("a malformed value is a miss, and a warning names its key, not its content", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const { b, connection } = yield* twoLayers
        const store = Context.get(b, LlmCache.CacheStore)
        const key = yield* LlmCache.keyOf("chat", request)
        yield* connection.run((redis) => redis.set(`cache-test:cache:${key}`, "{not json", "PX", 60_000))
        expect(yield* store.get(key)).toEqual(Option.none())
        yield* connection.run((redis) =>
          redis.set(`cache-test:cache:${key}`, JSON.stringify({ _tag: "Chat", response: 42 }), "PX", 60_000)
        )
        expect(yield* store.get(key)).toEqual(Option.none())
        expect(logs.count("WARN")).toBe(2)
        expect(logs.lines.join("\n")).toContain(key)
        expect(logs.lines.join("\n")).not.toContain("42")
      })
    )
  )

  it.scopedLive("bounded: at most maxEntries entries, and no entry over the size cap", () =>
    Effect.gen(function* () {
      const { connection } = yield* twoLayers
      const store = yield* CacheStore.make(connection, { maxEntries: 3, maxValueBytes: 2000 })
      for (let i = 0; i < 5; i++) yield* store.set(`k${i}`, entry, Duration.seconds(10 + i))
      const keys = yield* connection.run((redis) => redis.keys("cache-test:cache:*"))
      expect(keys.sort()).toEqual(["cache-test:cache:k2", "cache-test:cache:k3", "cache-test:cache:k4"])
      const big = { ...entry, response: { ...entry.response, id: "x".repeat(5000) } } as LlmCache.Entry
      yield* store.set("big", big, Duration.seconds(10))
      expect(Option.isNone(yield* store.get("big"))).toBe(true)
    })
  )
})
