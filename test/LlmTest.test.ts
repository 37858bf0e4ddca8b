import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Layer, Option, Random, Ref, Stream, TestClock } from "effect"
import type * as Chat from "../src/Chat.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"

const request: Chat.ChatCompletionRequest = {
  model: "gpt-test",
  messages: [{ role: "user", content: "Say hello to the world, please." }]
}

const text = (response: Chat.ChatCompletionResponse) => response.choices[0].message.content

const collect = (stream: Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

const contentOf = (chunks: ReadonlyArray<Chat.ChatCompletionChunk>) =>
  chunks.flatMap((c) => c.choices.map((choice) => choice.delta.content ?? ""))

describe("LlmTest defaults", () => {
  it.effect("answers 'ok' with the request's model, a stop finish reason and estimated usage", () =>
    Effect.gen(function* () {
      const { service } = yield* LlmTest.make()
      const response = yield* service.chat(request)
      expect(text(response)).toBe("ok")
      expect(response.model).toBe("gpt-test")
      expect(response.choices[0].finish_reason).toBe("stop")
      expect(response.usage?.prompt_tokens).toBeGreaterThan(0)
      expect(response.usage?.completion_tokens).toBe(1)
      expect(response.usage?.total_tokens).toBe(response.usage!.prompt_tokens + response.usage!.completion_tokens)
      expect((yield* service.listModels).data.map((m) => m.id)).toEqual(["test-model"])
    })
  )

  it.effect("the layer serves the LlmService accessors", () =>
    Effect.gen(function* () {
      expect(text(yield* LlmService.chat(request))).toBe("hi there")
    }).pipe(Effect.provide(LlmTest.layer({ reply: "hi there" })))
  )
})

describe("LlmTest options", () => {
  it.effect("reply, model and usage are what every answer carries", () =>
    Effect.gen(function* () {
      const { service } = yield* LlmTest.make({
        reply: "bonjour",
        model: "served-model",
        usage: { prompt_tokens: 100, completion_tokens: 7, cached_tokens: 40 }
      })
      const response = yield* service.chat(request)
      expect(text(response)).toBe("bonjour")
      expect(response.model).toBe("served-model")
      expect(response.usage).toEqual({
        prompt_tokens: 100,
        completion_tokens: 7,
        total_tokens: 107,
        prompt_tokens_details: { cached_tokens: 40 }
      })
      expect((yield* service.listModels).data[0].id).toBe("served-model")
    })
  )

  it.effect("failures come first, in order, then success; calls and requests are recorded", () =>
    Effect.gen(function* () {
      const first = new LiterLlmError.ServiceUnavailable({ provider: "test" })
      const second = new LiterLlmError.RateLimited({ provider: "test" })
      const test = yield* LlmTest.make({ failures: [first, second], reply: "finally" })
      const results = yield* Effect.forEach([1, 2, 3, 4], (i) =>
        Effect.exit(test.service.chat({ ...request, model: `m${i}` }))
      )
      expect(results[0]).toEqual(Exit.fail(first))
      expect(results[1]).toEqual(Exit.fail(second))
      expect(results.slice(2).map((exit) => Exit.isSuccess(exit) && text(exit.value))).toEqual(["finally", "finally"])
      expect(yield* test.calls).toBe(4)
      expect((yield* test.requests).map((r) => r.model)).toEqual(["m1", "m2", "m3", "m4"])
    })
  )

  it.effect("failures are shared across chat, chatStream and embed in call order", () =>
    Effect.gen(function* () {
      const failure = new LiterLlmError.Timeout({ provider: "test" })
      const { service } = yield* LlmTest.make({ failures: [failure] })
      expect(yield* Effect.flip(collect(service.chatStream(request)))).toBe(failure)
      expect(text(yield* service.chat(request))).toBe("ok")
      expect((yield* service.embed({ model: "e", input: "x" })).data).toHaveLength(1)
    })
  )

  it.effect("fail makes every call fail, listModels included", () =>
    Effect.gen(function* () {
      const dead = new LiterLlmError.Authentication({ provider: "test" })
      const { service } = yield* LlmTest.make({ fail: dead })
      expect(yield* Effect.flip(service.chat(request))).toBe(dead)
      expect(yield* Effect.flip(collect(service.chatStream(request)))).toBe(dead)
      expect(yield* Effect.flip(service.embed({ model: "e", input: "x" }))).toBe(dead)
      expect(yield* Effect.flip(service.listModels)).toBe(dead)
    })
  )

  it.effect("failureRate draws from the seeded Random: a stable proportion, the same sequence for the same seed", () =>
    Effect.gen(function* () {
      const outcomes = (seed: number) =>
        Effect.gen(function* () {
          const { service } = yield* LlmTest.make({ failureRate: 0.3 })
          return yield* Effect.forEach(Array.from({ length: 1000 }), () =>
            Effect.map(Effect.exit(service.chat(request)), Exit.isFailure)
          )
        }).pipe(Effect.withRandom(Random.make(seed)))
      const a = yield* outcomes(42)
      const failed = a.filter(Boolean).length
      expect(failed).toBeGreaterThan(250)
      expect(failed).toBeLessThan(350)
      expect(yield* outcomes(42)).toEqual(a)
      expect(yield* outcomes(7)).not.toEqual(a)

      const { service } = yield* LlmTest.make({ failureRate: 1 }).pipe(Effect.withRandom(Random.make(1)))
      const error = yield* Effect.flip(service.chat(request))
      expect(error._tag).toBe("ServiceUnavailable")
      const custom = new LiterLlmError.ServerError({ provider: "x" })
      const withError = yield* LlmTest.make({ failureRate: 1, failureError: custom })
      expect(yield* Effect.flip(withError.service.chat(request))).toBe(custom)
      const never = yield* LlmTest.make({ failureRate: 0 })
      expect(text(yield* never.service.chat(request))).toBe("ok")
    })
  )

  it.effect("latency delays the answer until the TestClock passes it", () =>
    Effect.gen(function* () {
      const { service } = yield* LlmTest.make({ latency: "2 seconds" })
      const fiber = yield* Effect.fork(service.chat(request))
      yield* TestClock.adjust("1999 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(text(yield* Fiber.join(fiber))).toBe("ok")
    })
  )

  it.effect("latency delays a stream's first chunk and embeddings too", () =>
    Effect.gen(function* () {
      const { service } = yield* LlmTest.make({ latency: "500 millis" })
      const stream = yield* Effect.fork(collect(service.chatStream(request)))
      const embed = yield* Effect.fork(service.embed({ model: "e", input: "x" }))
      yield* TestClock.adjust("499 millis")
      expect(Option.isNone(yield* Fiber.poll(stream))).toBe(true)
      expect(Option.isNone(yield* Fiber.poll(embed))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(contentOf(yield* Fiber.join(stream)).join("")).toBe("ok")
      expect((yield* Fiber.join(embed)).data).toHaveLength(1)
    })
  )

  it.effect("chunks splits the reply into N content chunks and ends with a usage chunk", () =>
    Effect.gen(function* () {
      const reply = "The quick brown fox jumps"
      const { service } = yield* LlmTest.make({ reply, chunks: 5, usage: { prompt_tokens: 9, completion_tokens: 5 } })
      const chunks = yield* collect(service.chatStream(request))
      expect(chunks).toHaveLength(6)
      const content = chunks.slice(0, 5)
      expect(content.map((c) => c.choices.length)).toEqual([1, 1, 1, 1, 1])
      expect(contentOf(content).join("")).toBe(reply)
      expect(contentOf(content).every((piece) => piece.length > 0)).toBe(true)
      expect(content[0].choices[0].delta.role).toBe("assistant")
      expect(content.map((c) => c.choices[0].finish_reason)).toEqual([null, null, null, null, "stop"])
      const last = chunks[5]
      expect(last.choices).toEqual([])
      expect(last.usage).toEqual({ prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 })
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1)
      // 9 characters in 4 chunks: none of them empty
      const uneven = yield* LlmTest.make({ reply: "abcdefghi", chunks: 4 })
      const pieces = contentOf((yield* collect(uneven.service.chatStream(request))).slice(0, 4))
      expect(pieces).toEqual(["ab", "cd", "ef", "ghi"])
    })
  )

  it.effect("chunkDelay spaces the chunks on the TestClock", () =>
    Effect.gen(function* () {
      const { service } = yield* LlmTest.make({ reply: "abcd", chunks: 4, chunkDelay: "100 millis" })
      const seen = yield* Ref.make(0)
      const fiber = yield* Effect.fork(
        Stream.runForEach(service.chatStream(request), () => Ref.update(seen, (n) => n + 1))
      )
      yield* TestClock.adjust("0 millis")
      expect(yield* Ref.get(seen)).toBe(1)
      yield* TestClock.adjust("100 millis")
      expect(yield* Ref.get(seen)).toBe(2)
      yield* TestClock.adjust("250 millis")
      expect(yield* Ref.get(seen)).toBe(4)
      yield* TestClock.adjust("100 millis")
      expect(yield* Ref.get(seen)).toBe(5)
      yield* Fiber.join(fiber)
    })
  )

  it.effect("streamFailure ends the stream with an error after N content chunks, without a usage chunk", () =>
    Effect.gen(function* () {
      const { service } = yield* LlmTest.make({ reply: "abcdef", chunks: 3, streamFailure: { afterChunks: 2 } })
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const error = yield* Stream.runForEach(service.chatStream(request), (chunk) =>
        Ref.update(seen, (all) => [...all, ...contentOf([chunk])])
      ).pipe(Effect.flip)
      expect(yield* Ref.get(seen)).toEqual(["ab", "cd"])
      expect(error._tag).toBe("Streaming")
      expect(LiterLlmError.isTransient(error)).toBe(false)
      expect(error.message).toMatch(/2 chunk/)

      const custom = new LiterLlmError.Network({ provider: "test" })
      const early = yield* LlmTest.make({ streamFailure: { afterChunks: 0, error: custom } })
      const exit = yield* Effect.exit(collect(early.service.chatStream(request)))
      expect(exit).toEqual(Exit.fail(custom))
    })
  )

  it.effect("embed returns deterministic unit vectors with the requested dimensions", () =>
    Effect.gen(function* () {
      const { service } = yield* LlmTest.make({ dimensions: 4 })
      const response = yield* service.embed({ model: "e", input: ["a", "b", "a"] })
      expect(response.data.map((d) => d.index)).toEqual([0, 1, 2])
      const [a, b, a2] = response.data.map((d) => d.embedding as ReadonlyArray<number>)
      expect(a).toHaveLength(4)
      expect(a2).toEqual(a)
      expect(b).not.toEqual(a)
      expect(Math.hypot(...a)).toBeCloseTo(1, 10)
      const sized = yield* service.embed({ model: "e", input: "x", dimensions: 16 })
      expect(sized.data[0].embedding).toHaveLength(16)
      const tokens = yield* service.embed({ model: "e", input: [1, 2, 3] })
      expect(tokens.data).toHaveLength(1)
    })
  )

  it.effect("each build of the layer owns its own state", () =>
    Effect.gen(function* () {
      const failure = new LiterLlmError.ServiceUnavailable({ provider: "test" })
      const flaky = LlmTest.layer({ failures: [failure] })
      const firstCall = Effect.exit(LlmService.chat(request))
      // two separate builds: both see their first call fail
      expect(yield* firstCall.pipe(Effect.provide(flaky))).toEqual(Exit.fail(failure))
      expect(yield* firstCall.pipe(Effect.provide(flaky))).toEqual(Exit.fail(failure))
      // one build shared by two calls: the second succeeds
      const both = yield* Effect.all([firstCall, firstCall]).pipe(Effect.provide(Layer.fresh(flaky)))
      expect(both[0]).toEqual(Exit.fail(failure))
      expect(Exit.isSuccess(both[1])).toBe(true)
      // two make calls never share counters
      const one = yield* LlmTest.make()
      const two = yield* LlmTest.make()
      yield* one.service.chat(request)
      expect([yield* one.calls, yield* two.calls]).toEqual([1, 0])
    })
  )
})
