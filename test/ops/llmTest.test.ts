/**
 * The test kit answers every operation, scripted like chat: failures in order, a dead deployment, latency on the
 * TestClock, and a chosen set of operations.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as LiterLlmError from "../../src/LiterLlmError.js"
import * as LlmTest from "../../src/LlmTest.js"

describe("LlmTest: every operation", () => {
  it.effect("answers images, speech, transcription, moderation and rerank deterministically", () =>
    Effect.gen(function* () {
      const { service } = yield* LlmTest.make({
        reply: "hi",
        flagged: ["hate"],
        audio: new Uint8Array([9, 8, 7, 6]),
        chunks: 2
      })
      const image = yield* service.image({ model: "img", prompt: "a cat", n: 2 })
      expect(image.data).toHaveLength(2)
      const speech = yield* service.speech({ model: "tts", input: "x", voice: "v" })
      const pieces = Chunk.toReadonlyArray(yield* Stream.runCollect(speech.audio))
      expect(pieces.map((p) => [...p])).toEqual([
        [9, 8],
        [7, 6]
      ])
      const transcript = yield* service.transcribe({
        model: "stt",
        file: Stream.make(new Uint8Array(16000), new Uint8Array(16000))
      })
      expect(transcript).toEqual({ text: "hi", duration: 2 })
      const moderation = yield* service.moderate({ model: "mod", input: ["fine", "I hate it"] })
      expect(moderation.results.map((r) => r.flagged)).toEqual([false, true])
      const rerank = yield* service.rerank({
        model: "rr",
        query: "french city",
        documents: ["berlin", "a french city", "french"],
        top_n: 2
      })
      expect(rerank.results.map((r) => r.index)).toEqual([1, 2])
    })
  )

  it.effect("the script applies: failures in order, then success; latency on the TestClock", () =>
    Effect.gen(function* () {
      const { calls, service } = yield* LlmTest.make({
        failures: [new LiterLlmError.ServiceUnavailable({ provider: "test" })],
        latency: "2 seconds"
      })
      const first = yield* Effect.fork(Effect.either(service.rerank({ model: "rr", query: "q", documents: ["q"] })))
      yield* TestClock.adjust("2 seconds")
      const failed = yield* Fiber.join(first)
      expect(failed._tag === "Left" && failed.left._tag).toBe("ServiceUnavailable")
      const second = yield* Effect.fork(service.moderate({ model: "m", input: "x" }))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.poll(second)).toMatchObject({ _tag: "None" })
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(second)).results).toHaveLength(1)
      expect(yield* calls).toBe(2)
    })
  )

  it.effect("operations limits what it serves; the rest fail with EndpointNotSupported", () =>
    Effect.gen(function* () {
      const { service } = yield* LlmTest.make({ operations: ["chat", "chatStream"] })
      const error = yield* Effect.flip(service.rerank({ model: "rr", query: "q", documents: ["a"] }))
      expect(error).toMatchObject({ _tag: "EndpointNotSupported", endpoint: "rerank" })
      const answer = yield* service.chat({ model: "m", messages: [{ role: "user", content: "x" }] })
      expect(answer.choices[0].message.content).toBe("ok")
    })
  )

  it.effect("bad requests are refused like the real providers do", () =>
    Effect.gen(function* () {
      const { calls, service } = yield* LlmTest.make()
      const error = yield* Effect.flip(service.rerank({ model: "rr", query: "q", documents: [], top_n: 1 }))
      expect(error.message).toContain("documents:")
      expect(yield* calls).toBe(0)
    })
  )
})
