import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Chat from "../src/Chat.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmCache from "../src/LlmCache.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"
import { contentChunk } from "./support/chunks.js"

const request: Chat.ChatCompletionRequest = {
  model: "test-model",
  temperature: 0,
  messages: [{ role: "user", content: "what is 2 + 2?" }]
}
const other: Chat.ChatCompletionRequest = { ...request, messages: [{ role: "user", content: "and 3 + 3?" }] }

const chunkOf = (content: string) => contentChunk(content)

const cachedTest = (options: LlmTest.Options = {}, cache: LlmCache.Options = {}, store?: LlmCache.Store) =>
  Effect.gen(function* () {
    const test = yield* LlmTest.make(options)
    const built = LlmCache.make(cache)(test.service)
    const service = yield* store === undefined ? built : Effect.provideService(built, LlmCache.CacheStore, store)
    return { test, service }
  })

const zeroUsage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }

const captureWarnings = Effect.sync(() => {
  const lines: Array<string> = []
  const logger = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      if (logLevel.label === "WARN") lines.push(Array.isArray(message) ? String(message[0]) : String(message))
    })
  )
  return { lines, logger }
})

describe("LlmCache.bypass", () => {
  it.scoped("calls inside bypass are neither answered from nor written to the cache; streams too", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest({ reply: "fresh" })
      yield* service.chat(request)
      yield* LlmCache.bypass(service.chat(request))
      expect(yield* test.calls).toBe(2)
      // what the bypassed call answered was not stored over the first entry either: a plain call is a hit
      const hit = yield* service.chat(request)
      expect(hit.usage).toEqual(zeroUsage)
      expect(yield* test.calls).toBe(2)
      const streamed = yield* Stream.runCollect(
        service.chatStream(request).pipe(Stream.provideService(LlmCache.Bypass, true))
      )
      yield* Stream.runCollect(service.chatStream(request).pipe(Stream.provideService(LlmCache.Bypass, true)))
      expect(Chunk.size(streamed)).toBeGreaterThan(0)
      expect(yield* test.calls).toBe(4)
    })
  )
})

describe("LlmCache", () => {
  it.scoped("answers a repeated request from the cache", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest({ reply: "4" })
      const first = yield* service.chat(request)
      const second = yield* service.chat(request)
      // the provider did no work for the hit: it reports zero usage, so nothing above charges it
      expect(first.usage?.total_tokens).toBeGreaterThan(0)
      expect(second).toEqual({ ...first, usage: zeroUsage })
      expect(yield* test.calls).toBe(1)
      yield* service.chat(other)
      expect(yield* test.calls).toBe(2)
    })
  )

  it.effect("keys on the canonical request: key order, null fields, user and stream do not matter", () =>
    Effect.gen(function* () {
      const key = (operation: "chat" | "chatStream", request: Chat.ChatCompletionRequest) =>
        LlmCache.keyOf(operation, request)
      const reordered = {
        messages: [{ content: "what is 2 + 2?", role: "user" as const }],
        temperature: 0,
        model: "test-model",
        top_p: null,
        user: "alice",
        stream: false
      }
      expect(yield* key("chat", reordered)).toBe(yield* key("chat", request))
      expect(yield* key("chat", { ...request, temperature: 1 })).not.toBe(yield* key("chat", request))
      expect(yield* key("chatStream", request)).not.toBe(yield* key("chat", request))
      // a field named like an ignored one but nested inside the request is still part of the key
      expect(yield* key("chat", { ...request, extra_body: { user: "a" } })).not.toBe(
        yield* key("chat", { ...request, extra_body: { user: "b" } })
      )
    })
  )

  it.effect("a key is the SHA-256 of the canonical JSON: stable across versions, and no prompt text in it", () =>
    Effect.gen(function* () {
      const canonical = '{"messages":[{"content":"what is 2 + 2?","role":"user"}],"model":"test-model","temperature":0}'
      const digest = createHash("sha256").update(canonical).digest("base64url")
      const key = yield* LlmCache.keyOf("chat", { ...request, user: "alice", top_p: null })
      expect(key).toBe(`llm-cache:v1:chat:${digest}`)
      expect(key).not.toContain("what is")
    })
  )

  it.scoped("counts the ttl from the write, on the Clock", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest({ latency: "1 second" }, { ttl: "5 seconds" })
      const first = yield* Effect.fork(service.chat(request))
      yield* TestClock.adjust("1 second") // written at t = 1s, expires at t = 6s
      yield* Fiber.join(first)
      yield* TestClock.adjust("4500 millis") // t = 5.5s
      yield* service.chat(request)
      expect(yield* test.calls).toBe(1)
      yield* TestClock.adjust("500 millis") // t = 6s
      const refetch = yield* Effect.fork(service.chat(request))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(refetch)
      expect(yield* test.calls).toBe(2)
    })
  )

  it.scoped("long prompts: the same text hits, one character changed misses, for chat and streams", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest({ reply: "ok", chunks: 2 })
      const document = "A paragraph of a long document the model is asked about. ".repeat(300)
      const asking = (text: string): Chat.ChatCompletionRequest => ({
        model: "test-model",
        messages: [
          { role: "system", content: text },
          { role: "user", content: "summarise it" }
        ]
      })
      yield* service.chat(asking(document))
      // the same text, built anew (as a caller building its prompt again would)
      yield* service.chat(asking(["A paragraph of a long document the model is asked about. "].join("").repeat(300)))
      expect(yield* test.calls).toBe(1)
      const changed = document.slice(0, 9000) + "!" + document.slice(9001)
      yield* service.chat(asking(changed))
      expect(yield* test.calls).toBe(2)
      yield* service.chat(asking(changed))
      expect(yield* test.calls).toBe(2)
      const streamed = (text: string) => Stream.runCollect(service.chatStream(asking(text)))
      yield* streamed(document)
      yield* streamed(document)
      yield* streamed(changed)
      expect(yield* test.calls).toBe(4)
    })
  )

  it.scoped("evicts the least recently used entry at capacity", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest({}, { capacity: 2 })
      const third: Chat.ChatCompletionRequest = { ...request, messages: [{ role: "user", content: "third" }] }
      yield* service.chat(request) // A
      yield* service.chat(other) // B
      yield* service.chat(request) // hit A: now B is the least recently used
      yield* service.chat(third) // C evicts B
      expect(yield* test.calls).toBe(3)
      yield* service.chat(request)
      yield* service.chat(third)
      expect(yield* test.calls).toBe(3)
      yield* service.chat(other)
      expect(yield* test.calls).toBe(4)
    })
  )

  describe("distinct requests at once", () => {
    const asking = (content: string): Chat.ChatCompletionRequest => ({
      model: "m",
      messages: [{ role: "user", content }]
    })
    const a = asking("q562789")
    const b = asking("q779192")
    /** A deployment answering each request with its own question, after `latency`, counting its calls. */
    const echo = (latency: Duration.DurationInput) =>
      Effect.gen(function* () {
        const calls = yield* Ref.make<ReadonlyArray<string>>([])
        const service = LlmService.make({
          chatStream: (request) => {
            const content = String(request.messages[0]!.content)
            return Stream.fromEffect(
              Effect.as(
                Effect.zipRight(
                  Ref.update(calls, (all) => [...all, `stream ${content}`]),
                  Effect.sleep(latency)
                ),
                chunkOf(content)
              )
            )
          },
          chat: (request) => {
            const content = String(request.messages[0]!.content)
            return Effect.as(
              Effect.zipRight(
                Ref.update(calls, (all) => [...all, content]),
                Effect.sleep(latency)
              ),
              {
                id: content,
                object: "chat.completion",
                created: 0,
                model: request.model,
                choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }]
              } satisfies Chat.ChatCompletionResponse
            )
          }
        })
        return { calls, service: yield* LlmCache.make()(service) }
      })

    it.scoped("each gets its own answer from the memory", () =>
      Effect.gen(function* () {
        const { calls, service } = yield* echo("0 millis")
        expect((yield* service.chat(a)).id).toBe("q562789")
        expect((yield* service.chat(b)).id).toBe("q779192")
        expect((yield* service.chat(b)).id).toBe("q779192") // a hit
        expect((yield* service.chat(a)).id).toBe("q562789") // a hit
        expect(yield* Ref.get(calls)).toEqual(["q562789", "q779192"])
      })
    )

    it.scoped("concurrent calls do not share a flight", () =>
      Effect.gen(function* () {
        const { calls, service } = yield* echo("1 second")
        const fiber = yield* Effect.fork(
          Effect.all([service.chat(a), service.chat(b), service.chat(a)], { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("1 second")
        const answers = yield* Fiber.join(fiber)
        expect(answers.map((answer) => answer.id)).toEqual(["q562789", "q779192", "q562789"])
        // the second `a` joined the first; `b` ran on its own
        expect([...(yield* Ref.get(calls))].sort()).toEqual(["q562789", "q779192"])
      })
    )

    it.scoped("concurrent streams do not share a flight, and each is stored and replayed as its own", () =>
      Effect.gen(function* () {
        const { calls, service } = yield* echo("1 second")
        const contentOf = (request: Chat.ChatCompletionRequest) =>
          Effect.map(Stream.runCollect(service.chatStream(request)), (chunks) =>
            Chunk.toReadonlyArray(chunks)
              .map((chunk) => chunk.choices[0]?.delta.content ?? "")
              .join("")
          )
        const fiber = yield* Effect.fork(
          Effect.all([contentOf(a), contentOf(b), contentOf(a)], { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("1 second")
        expect(yield* Fiber.join(fiber)).toEqual(["q562789", "q779192", "q562789"])
        expect([...(yield* Ref.get(calls))].sort()).toEqual(["stream q562789", "stream q779192"])
        // both were stored, each under its own key
        expect(yield* Effect.all([contentOf(a), contentOf(b)])).toEqual(["q562789", "q779192"])
        expect((yield* Ref.get(calls)).length).toBe(2)
      })
    )
  })

  it.scoped("concurrent identical requests share one upstream call", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest({ latency: "1 second" })
      const fiber = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 50 }, () => service.chat(request)),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust("1 second")
      const responses = yield* Fiber.join(fiber)
      expect(new Set(responses.map((r) => r.id)).size).toBe(1)
      expect(yield* test.calls).toBe(1)
      expect((yield* test.requests).length).toBe(1)
    })
  )

  it.scoped("interrupting the first caller disturbs nobody: the others get the answer of the same upstream call", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest({ latency: "1 second", reply: "shared" })
      const leader = yield* Effect.fork(service.chat(request))
      yield* TestClock.adjust("100 millis")
      const follower = yield* Effect.fork(service.chat(request))
      const another = yield* Effect.fork(service.chat(request))
      yield* TestClock.adjust("400 millis")
      yield* Fiber.interrupt(leader) // t = 0.5s: the call goes on for the callers still waiting
      yield* Fiber.interrupt(another) // a waiting caller leaving disturbs nobody either
      yield* TestClock.adjust("499 millis")
      expect(follower.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis") // t = 1s: the one upstream call answers
      const response = yield* Fiber.join(follower)
      expect(response.choices[0]?.message.content).toBe("shared")
      // the one caller left to receive it carries its usage: the provider billed it
      expect(response.usage?.total_tokens).toBeGreaterThan(0)
      expect(yield* test.calls).toBe(1)
      expect((yield* test.requests).length).toBe(1)
      yield* service.chat(request)
      expect(yield* test.calls).toBe(1)
    })
  )

  it.scoped("an uncontended first caller that is interrupted leaves nothing running", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest({ latency: "1 second" })
      const leader = yield* Effect.fork(service.chat(request))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(leader)
      yield* TestClock.adjust("5 seconds")
      expect(yield* test.calls).toBe(0)
      expect((yield* test.requests).length).toBe(1)
    })
  )

  it.scoped("when every caller is interrupted the upstream call is interrupted and not cached", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest({ latency: "1 second" })
      const callers = yield* Effect.fork(Effect.all([service.chat(request), service.chat(request)], { concurrency: 2 }))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(callers)
      yield* TestClock.adjust("5 seconds")
      // the fake counts a call only after its latency: the upstream call never finished
      expect(yield* test.calls).toBe(0)
      const again = yield* Effect.fork(service.chat(request))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(again)
      expect(yield* test.calls).toBe(1)
    })
  )

  it.scoped("never caches errors; callers sharing a failed call all get its error", () =>
    Effect.gen(function* () {
      const unavailable = new LiterLlmError.ServiceUnavailable({ provider: "test" })
      const { service, test } = yield* cachedTest({ failures: [unavailable], latency: "1 second" })
      const fiber = yield* Effect.fork(
        Effect.all([Effect.either(service.chat(request)), Effect.either(service.chat(request))], { concurrency: 2 })
      )
      yield* TestClock.adjust("1 second")
      const [a, b] = yield* Fiber.join(fiber)
      expect(Either.isLeft(a) && Either.isLeft(b) && a.left === unavailable && b.left === unavailable).toBe(true)
      expect(yield* test.calls).toBe(1)
      const retry = yield* Effect.fork(service.chat(request))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(retry)
      yield* service.chat(request)
      expect(yield* test.calls).toBe(2)
    })
  )

  it.scoped("replays a completed stream chunk by chunk, with zero usage from its first chunk", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest({ reply: "a streamed answer", chunks: 3 })
      const first = Chunk.toReadonlyArray(yield* Stream.runCollect(service.chatStream(request)))
      const replayed = yield* Stream.runCollect(service.chatStream(request).pipe(Stream.rechunk(1), Stream.chunks))
      expect(first.length).toBe(4)
      expect(Chunk.toReadonlyArray(replayed).map((c) => Chunk.size(c))).toEqual([1, 1, 1, 1])
      // the same chunks, but the provider did no work: the first chunk already says so, and so does the usage chunk
      expect(first.at(-1)?.usage?.total_tokens).toBeGreaterThan(0)
      expect(Chunk.toReadonlyArray(replayed).flatMap((c) => Chunk.toReadonlyArray(c))).toEqual(
        first.map((chunk, i) => (i === 0 || i === first.length - 1 ? { ...chunk, usage: zeroUsage } : chunk))
      )
      expect(yield* test.calls).toBe(1)
      // a stream entry is not a chat entry
      yield* service.chat(request)
      expect(yield* test.calls).toBe(2)
    })
  )

  it.scoped("does not store a stream that failed or was not read to the end", () =>
    Effect.gen(function* () {
      const broken = yield* cachedTest({ chunks: 3, streamFailure: { afterChunks: 2 } })
      yield* Effect.flip(Stream.runDrain(broken.service.chatStream(request)))
      yield* Effect.flip(Stream.runDrain(broken.service.chatStream(request)))
      expect(yield* broken.test.calls).toBe(2)

      const partial = yield* cachedTest({ chunks: 3, chunkDelay: "1 second" })
      const first = yield* Effect.fork(Stream.runCollect(partial.service.chatStream(request).pipe(Stream.take(1))))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(first)
      const full = yield* Effect.fork(Stream.runCollect(partial.service.chatStream(request)))
      yield* TestClock.adjust("5 seconds")
      expect(Chunk.size(yield* Fiber.join(full))).toBe(4)
      expect(yield* partial.test.calls).toBe(2)
      yield* Stream.runDrain(partial.service.chatStream(request))
      expect(yield* partial.test.calls).toBe(2)
    })
  )

  it.scoped("concurrent identical streams share one upstream stream; a caller who stops early disturbs nobody", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest({ reply: "one two three", chunks: 3, chunkDelay: "1 second" })
      // Chunks at t = 0, 1, 2 s, usage at 3 s; the leader stops after two.
      const leader = yield* Effect.fork(Stream.runCollect(service.chatStream(request).pipe(Stream.take(2))))
      yield* TestClock.adjust("500 millis")
      const joiner = yield* Effect.fork(Stream.runCollect(service.chatStream(request)))
      yield* TestClock.adjust("1 second") // the leader has its two chunks and is gone
      expect(Chunk.size(yield* Fiber.join(leader))).toBe(2)
      yield* TestClock.adjust("5 seconds")
      const joined = Chunk.toReadonlyArray(yield* Fiber.join(joiner))
      // Every chunk from the first, from the one upstream call the leader started.
      expect(joined.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("one two three")
      expect(joined.at(-1)?.usage?.total_tokens).toBeGreaterThan(0) // the cache alone changes no usage
      expect(yield* test.calls).toBe(1)
      // It completed, so it was stored.
      yield* Stream.runDrain(service.chatStream(request))
      expect(yield* test.calls).toBe(1)
    })
  )

  it.scoped("a shared stream's failure reaches every reader; when every reader leaves, the upstream is stopped", () =>
    Effect.gen(function* () {
      const broken = yield* cachedTest({ chunks: 3, chunkDelay: "1 second", streamFailure: { afterChunks: 2 } })
      const both = yield* Effect.fork(
        Effect.all(
          [
            Effect.flip(Stream.runDrain(broken.service.chatStream(request))),
            Effect.flip(Stream.runDrain(broken.service.chatStream(request)))
          ],
          {
            concurrency: "unbounded"
          }
        )
      )
      yield* TestClock.adjust("10 seconds")
      const [a, b] = yield* Fiber.join(both)
      expect(a._tag).toBe(b._tag)
      expect(b.message).toBe(a.message)
      expect(yield* broken.test.calls).toBe(1)

      let stopped = 0
      const upstream = LlmService.make({
        provider: "test",
        chat: () => Effect.never,
        chatStream: () =>
          Stream.fromSchedule(Schedule.spaced("1 second")).pipe(
            Stream.map(() => chunkOf("tick")),
            Stream.ensuring(Effect.sync(() => void stopped++))
          )
      })
      const service = yield* LlmCache.make()(upstream)
      const readers = yield* Effect.fork(
        Effect.all([Stream.runDrain(service.chatStream(request)), Stream.runDrain(service.chatStream(request))], {
          concurrency: "unbounded"
        })
      )
      yield* TestClock.adjust("3 seconds")
      expect(stopped).toBe(0)
      yield* Fiber.interrupt(readers)
      expect(stopped).toBe(1)
    })
  )

  it.scoped("caches embeddings", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest()
      const a = yield* service.embed({ model: "embedder", input: ["x", "y"] })
      const b = yield* service.embed({ input: ["x", "y"], model: "embedder", user: "bob" })
      expect(b).toEqual({ ...a, usage: { prompt_tokens: 0, total_tokens: 0 } })
      expect(yield* test.calls).toBe(1)
    })
  )

  it.scoped("skips a failing or dying store with a warning and still serves the request", () =>
    Effect.gen(function* () {
      const { lines, logger } = yield* captureWarnings
      const failing: LlmCache.Store = {
        get: () => Effect.fail("connection refused"),
        set: () => Effect.die(new Error("store crashed"))
      }
      const { service, test } = yield* cachedTest({ reply: "still here" }, {}, failing)
      const response = yield* Effect.provide(service.chat(request), logger)
      yield* Effect.provide(Stream.runDrain(service.chatStream(request)), logger)
      expect(response.choices[0]?.message.content).toBe("still here")
      expect(yield* test.calls).toBe(2)
      expect(lines.filter((l) => l.includes("read an entry")).length).toBe(2)
      expect(lines.filter((l) => l.includes("write an entry")).length).toBe(2)
    })
  )

  it.scoped("with a store provided, callers of a request in flight join it without reading the store", () =>
    Effect.gen(function* () {
      const inner = yield* LlmCache.memoryStore()
      const reads = yield* Ref.make(0)
      const counting: LlmCache.Store = {
        ...inner,
        get: (key) =>
          Effect.zipRight(
            Ref.update(reads, (n) => n + 1),
            inner.get(key)
          )
      }
      const { service, test } = yield* cachedTest({ latency: "1 second" }, {}, counting)
      const fiber = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 5 }, () => service.chat(request)),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(yield* test.calls).toBe(1)
      expect(yield* Ref.get(reads)).toBe(1)
    })
  )

  it.effect("layer uses the CacheStore from context when one is provided, else its own memory", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const below = Layer.succeed(LlmService.LlmService, test.service)
      const written: Array<string> = []
      const recording = Layer.effect(
        LlmCache.CacheStore,
        Effect.map(LlmCache.memoryStore(), (store) => ({
          ...store,
          set: (key: string, entry: LlmCache.Entry, ttl: import("effect/Duration").Duration) =>
            Effect.zipRight(
              Effect.sync(() => written.push(`${key} for ${Duration.format(ttl)}`)),
              store.set(key, entry, ttl)
            )
        }))
      )
      const twice = Effect.zipRight(LlmService.chat(request), LlmService.chat(request))
      yield* Effect.provide(
        twice,
        LlmCache.layer({ ttl: "90 seconds" }).pipe(Layer.provide(Layer.merge(below, recording)))
      )
      expect(written).toEqual([`${yield* LlmCache.keyOf("chat", request)} for 1m 30s`])
      expect(yield* test.calls).toBe(1)
      yield* Effect.provide(twice, LlmCache.layer().pipe(Layer.provide(below)))
      expect(yield* test.calls).toBe(2)
      expect(Option.isNone(yield* Effect.flatMap(LlmCache.memoryStore(), (s) => s.get("absent")))).toBe(true)
    })
  )
})

describe("LlmCache with a shared store", () => {
  it.scoped("an entry of the wrong kind under a key is a miss, and is replaced by the answer", () =>
    Effect.gen(function* () {
      const store = yield* LlmCache.memoryStore()
      const key = yield* LlmCache.keyOf("chat", request)
      yield* store.set(key, { _tag: "ChatStream", chunks: [] }, Duration.minutes(1))
      const { service, test } = yield* cachedTest({ reply: "fresh" }, {}, store)
      expect((yield* service.chat(request)).choices[0]?.message.content).toBe("fresh")
      expect(yield* test.calls).toBe(1)
      expect(Option.map(yield* store.get(key), (entry) => entry._tag)).toEqual(Option.some("Chat"))
    })
  )

  it.scoped("two caches over one store: an answer stored by one is a hit in the other", () =>
    Effect.gen(function* () {
      const store = yield* LlmCache.memoryStore()
      const one = yield* cachedTest({ chunks: 2 }, {}, store)
      const other = yield* cachedTest({ chunks: 2 }, {}, store)
      yield* one.service.chat(request)
      yield* Stream.runDrain(one.service.chatStream(request))
      const hit = yield* other.service.chat(request)
      const replayed = yield* Stream.runCollect(other.service.chatStream(request))
      expect(hit.usage).toEqual(zeroUsage)
      expect(Chunk.size(replayed)).toBe(3)
      expect(yield* other.test.calls).toBe(0)
    })
  )
})

describe("LlmCache invariants", () => {
  it.effect.prop(
    "readers of one stream joining at any time, some leaving early: whole answers, each call's usage carried once",
    [
      FastCheck.integer({ min: 1, max: 4 }),
      FastCheck.array(
        FastCheck.record({
          start: FastCheck.integer({ min: 0, max: 6_000 }),
          take: FastCheck.option(FastCheck.nat(4))
        }),
        { minLength: 1, maxLength: 5 }
      )
    ],
    ([chunks, readers]) =>
      Effect.scoped(
        Effect.gen(function* () {
          const { service, test } = yield* cachedTest({ reply: "a b c d", chunks, chunkDelay: "1 second" })
          const fibers = yield* Effect.forEach(readers, ({ start, take }) => {
            const stream = take === null ? service.chatStream(request) : Stream.take(service.chatStream(request), take)
            return Effect.fork(Effect.zipRight(Effect.sleep(start), Stream.runCollect(stream)))
          })
          yield* TestClock.adjust("20 seconds")
          const results = yield* Effect.forEach(fibers, (fiber) => Effect.map(Fiber.join(fiber), Chunk.toReadonlyArray))
          const whole = results.filter((_, i) => readers[i]!.take === null)
          for (const got of whole) {
            expect(got.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("a b c d")
          }
          const carrying = results.filter((got) => got.some((c) => (c.usage?.total_tokens ?? 0) > 0)).length
          const calls = (yield* test.requests).length
          // each upstream call's usage reaches at most one reader (the provider bills it once)
          expect(carrying).toBeLessThanOrEqual(calls)
          // a new upstream call starts only once every reader of the one before has left before its end
          expect(calls).toBeLessThanOrEqual(readers.length)
          if (readers.every((r) => r.take === null)) {
            expect(calls).toBe(1)
            expect(carrying).toBe(1)
          }
          if (whole.length > 0) {
            // a complete read stored the stream: nothing goes upstream again
            yield* Stream.runDrain(service.chatStream(request))
            expect((yield* test.requests).length).toBe(calls)
          }
        })
      ),
    { fastCheck: { numRuns: 30 } }
  )
})

describe("LlmCache options", () => {
  const building = (options: LlmCache.Options) =>
    Effect.flip(Layer.build(LlmCache.layer(options).pipe(Layer.provide(LlmTest.layer()))))

  it.scoped("a capacity that is not a whole number ≥ 1 fails the layer with BadRequest naming it", () =>
    Effect.gen(function* () {
      for (const capacity of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        const error = yield* building({ capacity })
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain("LlmCache: option capacity")
      }
      const store = yield* Effect.flip(LlmCache.memoryStore({ capacity: 0 }))
      expect(store.message).toContain("option capacity")
    })
  )

  it.scoped("a ttl that is not a positive, finite duration fails the layer with BadRequest naming it", () =>
    Effect.gen(function* () {
      const bad: ReadonlyArray<Duration.DurationInput> = [
        0,
        -5,
        Number.NaN,
        "0 millis",
        "soon" as never,
        Number.POSITIVE_INFINITY
      ]
      for (const ttl of bad) {
        const error = yield* building({ ttl })
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain("LlmCache: option ttl")
      }
      // valid ones build
      yield* Layer.build(LlmCache.layer({ capacity: 1, ttl: "1 millis" }).pipe(Layer.provide(LlmTest.layer())))
    })
  )
})

describe("LlmCache hits on the span", () => {
  const hitMark = Effect.map(Effect.currentSpan, (span) => span.attributes.get("liter_llm.cache.hit"))

  it.scoped(
    "a hit (chat, embeddings, a replayed stream) sets liter_llm.cache.hit on the caller's span; a miss does not",
    () =>
      Effect.gen(function* () {
        const { service } = yield* cachedTest({ chunks: 2 })
        const traced = <A, E>(call: Effect.Effect<A, E>) =>
          Effect.zipRight(call, hitMark).pipe(Effect.withSpan("caller"))
        expect(yield* traced(service.chat(request))).toBeUndefined()
        expect(yield* traced(service.chat(request))).toBe(true)
        const embedding = { model: "embedder", input: "x" }
        expect(yield* traced(service.embed(embedding))).toBeUndefined()
        expect(yield* traced(service.embed(embedding))).toBe(true)
        expect(yield* traced(Stream.runDrain(service.chatStream(request)))).toBeUndefined()
        // a replay the reader abandons after one chunk is marked, and that chunk already reports zero usage
        const [first] = yield* Stream.runCollect(Stream.take(service.chatStream(request), 1)).pipe(
          Effect.zip(hitMark),
          Effect.withSpan("caller"),
          Effect.map(([chunks, hit]) => [Chunk.toReadonlyArray(chunks)[0], hit] as const),
          Effect.tap(([, hit]) => Effect.sync(() => expect(hit).toBe(true)))
        )
        expect(first?.usage).toEqual(zeroUsage)
      })
  )

  it.scoped("of callers sharing one call, one carries its usage and the others are marked as hits", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest({ latency: "1 second" })
      const caller = Effect.zip(service.chat(request), hitMark).pipe(Effect.withSpan("caller"))
      const fiber = yield* Effect.fork(Effect.all([caller, caller, caller], { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 second")
      const answers = yield* Fiber.join(fiber)
      expect(yield* test.calls).toBe(1)
      const carrying = answers.filter(([response]) => (response.usage?.total_tokens ?? 0) > 0)
      expect(carrying).toHaveLength(1)
      expect(carrying[0]![1]).toBeUndefined()
      expect(answers.filter(([, hit]) => hit === true)).toHaveLength(2)
    })
  )
})

describe("LlmCache with a request JSON cannot hold", () => {
  it.scoped("fails with Serialization (chat, stream) instead of throwing at the caller, and calls nothing", () =>
    Effect.gen(function* () {
      const { service, test } = yield* cachedTest()
      const cyclic: Record<string, unknown> = {}
      cyclic["self"] = cyclic
      const bad = { ...request, extra_body: { big: BigInt(1), cyclic } } as Chat.ChatCompletionRequest
      const chat = yield* Effect.flip(service.chat(bad))
      expect(chat._tag).toBe("Serialization")
      const stream = yield* Effect.flip(Stream.runDrain(service.chatStream(bad)))
      expect(stream._tag).toBe("Serialization")
      expect(yield* test.calls).toBe(0)
    })
  )
})
