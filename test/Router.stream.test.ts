import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Chat from "../src/Chat.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as Strategy from "../src/Strategy.js"
import { fakeRouter, request } from "./Router.kit.js"

const collect = (stream: Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>, millis = 0) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(Effect.either(Stream.runCollect(stream)))
    if (millis > 0) yield* TestClock.adjust(millis)
    return yield* Fiber.join(fiber)
  })

const texts = (chunks: Chunk.Chunk<Chat.ChatCompletionChunk>) =>
  Chunk.toReadonlyArray(chunks).flatMap((c) => c.choices.map((choice) => choice.delta.content ?? ""))

describe("Router streams", () => {
  it.effect("fail over before the first chunk", () =>
    Effect.gen(function* () {
      const { router, a } = yield* fakeRouter({
        a: { fail: new LiterLlmError.ServiceUnavailable() },
        b: { reply: "bbbbbb", chunks: 3 }
      })
      const result = yield* collect(router.service.chatStream(request))
      expect(result._tag).toBe("Right")
      if (result._tag === "Right") expect(texts(result.right).join("")).toBe("bbbbbb")
      expect(yield* a.test.calls).toBe(1)
    }).pipe(Effect.scoped)
  )

  it.effect("a failure after the first chunk ends the stream with Streaming, never mixing deployments", () =>
    Effect.gen(function* () {
      const cause = new LiterLlmError.ServerError()
      const { router, b } = yield* fakeRouter({
        a: { reply: "aaaaaa", chunks: 3, streamFailure: { afterChunks: 1, error: cause } },
        b: { reply: "bbbbbb", chunks: 3 }
      })
      const seen: Array<string> = []
      const result = yield* Effect.either(
        Stream.runForEach(router.service.chatStream(request), (chunk) =>
          Effect.sync(() => seen.push(...chunk.choices.map((c) => c.delta.content ?? "")))
        )
      )
      expect(seen).toEqual(["aa"])
      expect(result._tag).toBe("Left")
      if (result._tag === "Left") {
        expect(result.left._tag).toBe("Streaming")
        expect((result.left as LiterLlmError.Streaming).cause).toBe(cause)
        expect(LiterLlmError.isTransient(result.left)).toBe(false)
      }
      expect(yield* b.test.calls).toBe(0)
      const stats = (yield* router.stats).deployments[0]
      expect([stats.failures, stats.inFlight]).toEqual([1, 0])
    }).pipe(Effect.scoped)
  )

  it.effect("time to first chunk feeds the latency average", () =>
    Effect.gen(function* () {
      const { router } = yield* fakeRouter(
        { a: { latency: "30 millis", chunks: 3, chunkDelay: "100 millis", reply: "abcdef" } },
        { strategy: Strategy.latencyBased() }
      )
      const result = yield* collect(router.service.chatStream(request), 500)
      expect(result._tag).toBe("Right")
      const stats = (yield* router.stats).deployments[0]
      expect(stats.latencyMillis).toBe(30)
      expect([stats.successes, stats.inFlight]).toEqual([1, 0])
    }).pipe(Effect.scoped)
  )

  it.effect("a stream that stalls past the first-chunk timeout fails over", () =>
    Effect.gen(function* () {
      const { router } = yield* fakeRouter(
        { a: { latency: "10 seconds" }, b: { latency: "100 millis", reply: "from-b" } },
        { firstChunkTimeout: "1 second" }
      )
      const fiber = yield* Effect.fork(Stream.runCollect(router.service.chatStream(request)))
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("100 millis")
      const chunks = yield* Fiber.join(fiber)
      expect(texts(chunks).join("")).toBe("from-b")
      const stats = yield* router.stats
      expect(stats.deployments.map((d) => [d.failures, d.successes, d.inFlight])).toEqual([
        [1, 0, 0],
        [0, 1, 0]
      ])
    }).pipe(Effect.scoped)
  )

  it.effect("in-flight returns to zero when the caller stops reading early", () =>
    Effect.gen(function* () {
      const { router } = yield* fakeRouter({ a: { chunks: 5, reply: "abcdefghij" } })
      const first = yield* Stream.runCollect(Stream.take(router.service.chatStream(request), 1))
      expect(texts(first)).toEqual(["ab"])
      const stats = (yield* router.stats).deployments[0]
      expect([stats.inFlight, stats.interruptions, stats.failures]).toEqual([0, 1, 0])
    }).pipe(Effect.scoped)
  )

  it.effect("hedging is for chat and embed: a slow stream is not raced against another deployment", () =>
    Effect.gen(function* () {
      const { router, b } = yield* fakeRouter(
        { a: { latency: "1 second", reply: "from-a" }, b: { reply: "from-b" } },
        { hedge: { delay: "100 millis" } }
      )
      const result = yield* collect(router.service.chatStream(request), 1000)
      expect(result._tag === "Right" && texts(result.right).join("")).toBe("from-a")
      expect(yield* b.test.calls).toBe(0)
    }).pipe(Effect.scoped)
  )

  it.effect("all attempts failing before the first chunk gives AllDeploymentsFailed", () =>
    Effect.gen(function* () {
      const { router } = yield* fakeRouter({
        a: { fail: new LiterLlmError.ServiceUnavailable() },
        b: { fail: new LiterLlmError.Timeout() }
      })
      const result = yield* collect(router.service.chatStream(request))
      expect(result._tag === "Left" && result.left._tag).toBe("AllDeploymentsFailed")
    }).pipe(Effect.scoped)
  )
})
