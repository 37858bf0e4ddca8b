import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Chat from "../src/Chat.js"
import * as Hooks from "../src/Hooks.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"

const request: Chat.ChatCompletionRequest = { model: "test-model", messages: [{ role: "user", content: "hello" }] }

/** The service below with hooks, as `Hooks.layer` builds it. */
const hooked = (hooks: ReadonlyArray<Hooks.Hook>, below: LlmService.Service) => Effect.scoped(Hooks.make(hooks)(below))

const recorder = Effect.map(Ref.make<ReadonlyArray<string>>([]), (log) => ({
  log: Ref.get(log),
  add: (entry: string) => Ref.update(log, (all) => [...all, entry])
}))

describe("Hooks", () => {
  it.effect("runs onRequest and onResponse hooks in order around a chat call", () =>
    Effect.gen(function* () {
      const rec = yield* recorder
      const test = yield* LlmTest.make({ reply: "hi there" })
      const service = yield* hooked(
        [
          { onRequest: (req) => rec.add(`req1:${req.model}`), onResponse: (_, res) => rec.add(`res1:${res.id}`) },
          {
            onRequest: () => rec.add("req2"),
            onResponse: (_, res) => rec.add(`res2:${res.choices[0]?.message.content}`)
          }
        ],
        test.service
      )
      const response = yield* service.chat(request)
      expect(response.choices[0]?.message.content).toBe("hi there")
      expect(yield* rec.log).toEqual(["req1:test-model", "req2", "res1:chatcmpl-test-0", "res2:hi there"])
    })
  )

  it.effect("a request hook gets the request alone; a response hook the request and the response", () =>
    Effect.gen(function* () {
      const counts: Array<number> = []
      const test = yield* LlmTest.make()
      const service = yield* hooked(
        [
          {
            onRequest: (...args: ReadonlyArray<unknown>) => Effect.sync(() => counts.push(args.length)),
            onResponse: (...args: ReadonlyArray<unknown>) => Effect.sync(() => counts.push(args.length))
          }
        ],
        test.service
      )
      yield* service.chat(request)
      yield* Stream.runDrain(service.chatStream(request))
      expect(counts).toEqual([1, 2, 1, 2])
    })
  )

  it.effect("a rejecting onRequest refuses the call before it reaches the service", () =>
    Effect.gen(function* () {
      const rec = yield* recorder
      const test = yield* LlmTest.make()
      const service = yield* hooked(
        [
          { onRequest: () => Effect.fail(new LiterLlmError.HookRejected({ message: "not on my watch" })) },
          { onRequest: () => rec.add("second") }
        ],
        test.service
      )
      const error = yield* Effect.flip(service.chat(request))
      expect(error._tag).toBe("HookRejected")
      expect(error.message).toBe("not on my watch")
      expect(LiterLlmError.isTransient(error)).toBe(false)
      expect(yield* test.calls).toBe(0)
      expect(yield* rec.log).toEqual([])
      const streamError = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      expect(streamError._tag).toBe("HookRejected")
      expect(yield* test.calls).toBe(0)
    })
  )

  it.effect("a hook that dies becomes HookRejected instead of crashing the caller", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const dyingRequest = yield* hooked([{ onRequest: () => Effect.die(new Error("boom")) }], test.service)
      const error = yield* Effect.flip(dyingRequest.chat(request))
      expect(error._tag).toBe("HookRejected")
      expect((error as LiterLlmError.HookRejected).cause).toBeInstanceOf(Error)
      const throwing = yield* hooked(
        [
          {
            onResponse: () =>
              Effect.sync(() => {
                throw new Error("bad response hook")
              })
          }
        ],
        test.service
      )
      const responseError = yield* Effect.flip(throwing.chat(request))
      expect(responseError._tag).toBe("HookRejected")
      expect(responseError.message).toContain("onResponse")
    })
  )

  it.effect(
    "hooks that answer at once and hooks that run effects keep their order; a hook that throws is rejected",
    () =>
      Effect.gen(function* () {
        const rec = yield* recorder
        const test = yield* LlmTest.make()
        let synchronous = 0
        const mixed = yield* hooked(
          [
            {
              onRequest: () => {
                synchronous++
                return Effect.void
              }
            },
            { onRequest: () => rec.add("effect after a synchronous hook") },
            {
              onRequest: (req) =>
                req.model === "blocked"
                  ? Effect.fail(new LiterLlmError.HookRejected({ message: "blocked" }))
                  : Effect.void,
              onResponse: (_, res) => (res.choices.length === 1 ? Effect.void : Effect.die("unreachable"))
            },
            { onResponse: () => rec.add("response") }
          ],
          test.service
        )
        yield* mixed.chat(request)
        expect(synchronous).toBe(1)
        expect(yield* rec.log).toEqual(["effect after a synchronous hook", "response"])
        const refused = yield* Effect.flip(mixed.chat({ ...request, model: "blocked" }))
        expect(refused.message).toBe("blocked")
        expect(yield* test.calls).toBe(1)
        expect(yield* rec.log).toEqual([
          "effect after a synchronous hook",
          "response",
          "effect after a synchronous hook"
        ])

        const throwing = yield* hooked(
          [
            {
              onRequest: () => {
                throw new Error("thrown before any effect")
              }
            }
          ],
          test.service
        )
        const error = yield* Effect.flip(throwing.chat(request))
        expect(error._tag).toBe("HookRejected")
        expect(error.message).toContain("onRequest")
        expect((error as LiterLlmError.HookRejected).cause).toBeInstanceOf(Error)
        expect(yield* test.calls).toBe(1)
      })
  )

  it.effect("a stream value run twice runs its hooks twice", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ chunks: 2 })
      let requests = 0
      let responses = 0
      const service = yield* hooked(
        [
          {
            onRequest: () => {
              requests++
              return Effect.void
            },
            onResponse: () => {
              responses++
              return Effect.void
            }
          }
        ],
        test.service
      )
      const stream = service.chatStream(request)
      expect(requests).toBe(0)
      yield* Stream.runDrain(stream)
      yield* Stream.runDrain(stream)
      expect([requests, responses]).toEqual([2, 2])
    })
  )

  it.effect("onError receives the typed error, and the call fails with it unchanged", () =>
    Effect.gen(function* () {
      const rec = yield* recorder
      const upstreamError = new LiterLlmError.ServiceUnavailable({ provider: "test" })
      const test = yield* LlmTest.make({ fail: upstreamError })
      const service = yield* hooked(
        [{ onError: (_, error) => rec.add(`chat-error:${error._tag}`), onResponse: () => rec.add("response") }],
        test.service
      )
      const error = yield* Effect.flip(service.chat(request))
      expect(error).toBe(upstreamError)
      const streamError = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      expect(streamError).toBe(upstreamError)
      expect(yield* rec.log).toEqual(["chat-error:ServiceUnavailable", "chat-error:ServiceUnavailable"])
    })
  )

  it.effect("a stream's onResponse gets the response assembled from all its chunks, after the last chunk", () =>
    Effect.gen(function* () {
      const rec = yield* recorder
      const test = yield* LlmTest.make({ reply: "hello streaming world", chunks: 4 })
      const service = yield* hooked(
        [
          {
            onResponse: (_, res) =>
              rec.add(`${res.choices[0]?.message.content}|${res.choices[0]?.finish_reason}|${res.usage?.total_tokens}`)
          }
        ],
        test.service
      )
      const chunks = yield* Stream.runCollect(service.chatStream(request).pipe(Stream.tap(() => rec.add("chunk"))))
      expect(Chunk.size(chunks)).toBe(5)
      const log = yield* rec.log
      expect(log.slice(0, 5)).toEqual(["chunk", "chunk", "chunk", "chunk", "chunk"])
      expect(log[5]).toMatch(/^hello streaming world\|stop\|\d+$/)
    })
  )

  it.effect("a rejecting onResponse fails the stream after its chunks; a broken stream runs onError", () =>
    Effect.gen(function* () {
      const rec = yield* recorder
      const test = yield* LlmTest.make({ chunks: 2 })
      const guarded = yield* hooked(
        [{ onResponse: () => Effect.fail(new LiterLlmError.HookRejected({ message: "unsafe output" })) }],
        test.service
      )
      const error = yield* Effect.flip(Stream.runDrain(guarded.chatStream(request)))
      expect(error.message).toBe("unsafe output")

      const broken = yield* LlmTest.make({ chunks: 3, streamFailure: { afterChunks: 1 } })
      const observed = yield* hooked(
        [{ onError: (_, e) => rec.add(`error:${e._tag}`), onResponse: () => rec.add("response") }],
        broken.service
      )
      const streamError = yield* Effect.flip(Stream.runDrain(observed.chatStream(request)))
      expect(streamError._tag).toBe("Streaming")
      expect(yield* rec.log).toEqual(["error:Streaming"])
    })
  )

  it.effect("a hook that hangs is bounded by the caller's timeout", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = yield* hooked([{ onRequest: () => Effect.never }], test.service)
      const fiber = yield* Effect.fork(service.chat(request).pipe(Effect.timeout("2 seconds"), Effect.exit))
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("TimeoutException")
      expect(yield* test.calls).toBe(0)
    })
  )

  it.effect("Hooks.layer wraps the LlmService below it", () =>
    Effect.gen(function* () {
      const rec = yield* recorder
      const layer = Hooks.layer([{ onRequest: (req) => rec.add(req.model) }]).pipe(
        Layer.provide(LlmTest.layer({ reply: "layered" }))
      )
      const response = yield* LlmService.chat(request).pipe(Effect.provide(layer))
      expect(response.choices[0]?.message.content).toBe("layered")
      expect(yield* rec.log).toEqual(["test-model"])
    })
  )
})
