import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Chat from "../src/Chat.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"
import * as RateLimit from "../src/RateLimit.js"
import { estimatePromptTokens } from "../src/internal/tokens.js"

const request: Chat.ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "hello" }] }
const prompt = estimatePromptTokens(request)

const retryAfterOf = (error: LiterLlmError.LiterLlmError) => {
  expect(error).toBeInstanceOf(LiterLlmError.RateLimited)
  const retryAfter = (error as LiterLlmError.RateLimited).retryAfter
  return retryAfter === undefined ? undefined : Duration.toMillis(retryAfter)
}

describe("RateLimit", () => {
  it.effect("refuses past rpm with the time until the oldest call leaves the window", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = (yield* RateLimit.make({ rpm: 3 }))(test.service)
      yield* service.chat(request) // t = 0
      yield* TestClock.adjust("10 seconds")
      yield* service.chat(request) // t = 10s
      yield* TestClock.adjust("10 seconds")
      yield* service.chat(request) // t = 20s
      yield* TestClock.adjust("10 seconds")
      const refused = yield* Effect.flip(service.chat(request)) // t = 30s
      expect(retryAfterOf(refused)).toBe(30_000)
      expect(LiterLlmError.isTransient(refused)).toBe(true)
      yield* TestClock.adjust("30 seconds") // t = 60s: the first call left the window
      yield* service.chat(request)
      expect(retryAfterOf(yield* Effect.flip(service.chat(request)))).toBe(10_000)
      expect(yield* test.calls).toBe(4)
    })
  )

  it.effect("keeps a separate window per model", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = (yield* RateLimit.make({ rpm: 1, window: "10 seconds" }))(test.service)
      yield* service.chat(request)
      yield* service.chat({ ...request, model: "other" })
      expect(retryAfterOf(yield* Effect.flip(service.chat(request)))).toBe(10_000)
      expect(yield* test.calls).toBe(2)
    })
  )

  it.effect("reserves the token estimate and corrects it with the real usage", () =>
    Effect.gen(function* () {
      // estimate = prompt + max_tokens = prompt + (50 - prompt) = 50; real = prompt + 4
      const bounded = { ...request, max_tokens: 50 - prompt }
      const slow = yield* LlmTest.make({ latency: "1 second", usage: { completion_tokens: 4 } })
      const limited = (yield* RateLimit.make({ tpm: 100 }))(slow.service)
      const fiber = yield* Effect.fork(
        Effect.all(
          [1, 2, 3].map(() => Effect.either(limited.chat(bounded))),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust("1 second")
      const concurrent = yield* Fiber.join(fiber)
      // while in flight each call holds its full estimate: only two fit
      expect(concurrent.filter(Either.isRight).length).toBe(2)
      const refused = concurrent.find(Either.isLeft)!
      expect(retryAfterOf(refused.left)).toBe(60_000)

      const fast = yield* LlmTest.make({ usage: { completion_tokens: 4 } })
      const sequential = (yield* RateLimit.make({ tpm: 100 }))(fast.service)
      // one after the other, each call is corrected to prompt + 4 tokens before the next is admitted
      const admitted = Math.floor((100 - 50) / (prompt + 4)) + 1
      for (let i = 0; i < admitted; i++) yield* sequential.chat(bounded)
      yield* Effect.flip(sequential.chat(bounded))
      expect(yield* fast.calls).toBe(admitted)
    })
  )

  it.effect("wait: true sleeps until a slot frees instead of refusing", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = (yield* RateLimit.make({ rpm: 2, wait: true }))(test.service)
      const fiber = yield* Effect.fork(
        Effect.all(
          [1, 2, 3].map(() => service.chat(request)),
          { concurrency: 3 }
        )
      )
      yield* TestClock.adjust("59 seconds")
      expect(yield* test.calls).toBe(2)
      yield* TestClock.adjust("1 second")
      const responses = yield* Fiber.join(fiber)
      expect(responses.length).toBe(3)
      expect(yield* test.calls).toBe(3)
    })
  )

  it.effect("a call or a stream waiting for room can be interrupted, and takes no slot", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = (yield* RateLimit.make({ rpm: 1, wait: true }))(test.service)
      yield* service.chat(request) // t = 0: the window is full for a minute
      const waitingCall = yield* Effect.fork(service.chat(request))
      const waitingStream = yield* Effect.fork(Stream.runDrain(service.chatStream(request)))
      yield* TestClock.adjust("1 second")
      // Without moving the clock to the free slot: both interruptions must take effect now.
      yield* Fiber.interrupt(waitingCall)
      yield* Fiber.interrupt(waitingStream)
      expect(yield* test.calls).toBe(1)
      // Neither took the slot that frees at t = 60 s: the next call gets it.
      const next = yield* Effect.fork(service.chat(request))
      yield* TestClock.adjust("59 seconds")
      expect((yield* Fiber.join(next)).object).toBe("chat.completion")
      expect(yield* test.calls).toBe(2)
    })
  )

  it.effect("ignores nonsense usage and keeps the estimate", () =>
    Effect.gen(function* () {
      const bounded = { ...request, max_tokens: 50 - prompt } // estimate 50 tokens
      const test = yield* LlmTest.make({ usage: { completion_tokens: Number.NaN } })
      const service = (yield* RateLimit.make({ tpm: 100 }))(test.service)
      yield* service.chat(bounded)
      yield* service.chat(bounded)
      expect(retryAfterOf(yield* Effect.flip(service.chat(bounded)))).toBe(60_000)
    })
  )

  it.effect("with wait: true, concurrent calls go through rpm at a time, window after window", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = (yield* RateLimit.make({ rpm: 20, wait: true }))(test.service)
      const fiber = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 60 }, () => service.chat(request)),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust("0 millis")
      for (let window = 1; window <= 3; window++) {
        expect(yield* test.calls).toBe(20 * window)
        yield* TestClock.adjust("1 minute")
      }
      expect((yield* Fiber.join(fiber)).length).toBe(60)
    })
  )

  it.effect("limits streams too, correcting tokens when the stream ends", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ chunks: 3, usage: { completion_tokens: 1 } })
      const service = (yield* RateLimit.make({ tpm: 300 }))(test.service)
      // estimate prompt + 256 fits once; after correction to prompt + 1 the next stream fits again
      yield* Stream.runDrain(service.chatStream(request))
      yield* Stream.runDrain(service.chatStream(request))
      expect(yield* test.calls).toBe(2)
      const held = yield* LlmTest.make({ chunks: 3, chunkDelay: "1 second" })
      const limited = (yield* RateLimit.make({ rpm: 1 }))(held.service)
      const first = yield* Effect.fork(Stream.runDrain(limited.chatStream(request)))
      yield* TestClock.adjust("1 second")
      const refused = yield* Effect.flip(Stream.runDrain(limited.chatStream(request)))
      expect(retryAfterOf(refused)).toBe(59_000)
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(first)
    })
  )

  it.effect("10,000 concurrent calls admit exactly rpm of them", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = (yield* RateLimit.make({ rpm: 100 }))(test.service)
      const results = yield* Effect.all(
        Array.from({ length: 10_000 }, () => Effect.either(service.chat(request))),
        { concurrency: "unbounded" }
      )
      expect(results.filter(Either.isRight).length).toBe(100)
      expect(yield* test.calls).toBe(100)
      const waits = new Set(results.filter(Either.isLeft).map((r) => retryAfterOf(r.left)))
      expect([...waits]).toEqual([60_000])
    })
  )

  it.effect("interrupted calls give back their tokens but keep their request slots", () =>
    Effect.gen(function* () {
      const bounded = { ...request, max_tokens: 50 - prompt } // estimate 50 tokens
      const test = yield* LlmTest.make({ latency: "1 second" })
      const service = (yield* RateLimit.make({ tpm: 1000, rpm: 30 }))(test.service)
      const calls = Array.from({ length: 10_000 }, () => Effect.either(service.chat(bounded)))
      const fiber = yield* Effect.fork(Effect.all(calls, { concurrency: "unbounded" }))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(fiber)
      expect((yield* test.requests).length).toBe(20) // 1000 tokens / 50
      const again = yield* Effect.fork(Effect.all(calls, { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.join(again)
      // tokens were released, so only rpm stops the second wave: 30 - 20 slots left
      expect(results.filter(Either.isRight).length).toBe(10)
      expect(yield* test.calls).toBe(10)
    })
  )

  it.effect("RateLimit.layer wraps the LlmService below it", () =>
    Effect.gen(function* () {
      const layer = RateLimit.layer({ rpm: 1 }).pipe(Layer.provide(LlmTest.layer()))
      const refused = yield* Effect.gen(function* () {
        yield* LlmService.chat(request)
        return yield* Effect.flip(LlmService.chat(request))
      }).pipe(Effect.provide(layer))
      expect(refused._tag).toBe("RateLimited")
    })
  )
})
