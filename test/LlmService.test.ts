import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Layer, Stream } from "effect"
import * as Chat from "../src/Chat.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import { contentChunk } from "./support/chunks.js"

const request: Chat.ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "hi" }] }

const response = (content: string): Chat.ChatCompletionResponse => ({
  id: "r",
  object: "chat.completion",
  created: 0,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }]
})

const chunk = (content: string) => contentChunk(content, "r")

describe("LlmService accessors", () => {
  const seen: Array<string> = []
  const full = LlmService.layer({
    chat: (req) => Effect.sync(() => seen.push(`chat:${req.model}`)).pipe(Effect.as(response("hello"))),
    chatStream: () => Stream.make(chunk("a"), chunk("b")),
    embed: (req) =>
      Effect.succeed({
        object: "list",
        model: req.model,
        data: [{ object: "embedding", index: 0, embedding: [1, 2] }]
      }),
    listModels: Effect.succeed({ object: "list", data: [{ id: "m", object: "model" }] })
  })

  it.effect("chat, chatStream, embed and listModels reach the provided service", () =>
    Effect.gen(function* () {
      const answer = yield* LlmService.chat(request)
      expect(answer.choices[0].message.content).toBe("hello")
      expect(seen).toEqual(["chat:m"])
      const chunks = yield* Stream.runCollect(LlmService.chatStream(request))
      expect(Chunk.toReadonlyArray(chunks).map((c) => c.choices[0].delta.content)).toEqual(["a", "b"])
      const embedded = yield* LlmService.embed({ model: "e", input: "x" })
      expect(embedded.model).toBe("e")
      const models = yield* LlmService.listModels
      expect(models.data.map((m) => m.id)).toEqual(["m"])
    }).pipe(Effect.provide(full))
  )

  it.effect("errors of the service come through the accessors unchanged", () =>
    Effect.gen(function* () {
      const failure = new LiterLlmError.RateLimited({ provider: "p" })
      const failing = LlmService.layer({
        chat: () => Effect.fail(failure),
        chatStream: () => Stream.concat(Stream.make(chunk("a")), Stream.fail(failure))
      })
      const exit = yield* Effect.exit(LlmService.chat(request).pipe(Effect.provide(failing)))
      expect(exit).toEqual(Exit.fail(failure))
      const streamed = yield* Stream.runCollect(LlmService.chatStream(request)).pipe(
        Effect.provide(failing),
        Effect.flip
      )
      expect(streamed).toBe(failure)
    })
  )
})

describe("LlmService.make", () => {
  it.effect("fills every missing operation with EndpointNotSupported naming endpoint and provider", () =>
    Effect.gen(function* () {
      const service = LlmService.make({ provider: "acme", chat: () => Effect.succeed(response("ok")) })
      expect((yield* service.chat(request)).choices[0].message.content).toBe("ok")

      const embed = yield* Effect.flip(service.embed({ model: "e", input: "x" }))
      expect(embed).toBeInstanceOf(LiterLlmError.EndpointNotSupported)
      expect(embed).toMatchObject({ _tag: "EndpointNotSupported", endpoint: "embed", provider: "acme" })
      expect(embed.message).toMatch(/acme.*embed/)
      expect(LiterLlmError.isTransient(embed)).toBe(false)

      const stream = yield* Effect.flip(Stream.runCollect(service.chatStream(request)))
      expect(stream).toMatchObject({ _tag: "EndpointNotSupported", endpoint: "chatStream", provider: "acme" })

      const models = yield* Effect.flip(service.listModels)
      expect(models).toMatchObject({ _tag: "EndpointNotSupported", endpoint: "listModels", provider: "acme" })
    })
  )

  it.effect("an empty service supports nothing; the provider defaults to a generic name", () =>
    Effect.gen(function* () {
      const service = LlmService.make({})
      const chat = yield* Effect.flip(service.chat(request))
      expect(chat).toMatchObject({ _tag: "EndpointNotSupported", endpoint: "chat", provider: "custom" })
    })
  )

  it.effect("the layer provides the made service", () =>
    Effect.gen(function* () {
      const service = yield* LlmService.LlmService
      const error = yield* Effect.flip(service.listModels)
      expect(error).toMatchObject({ endpoint: "listModels", provider: "only-chat" })
    }).pipe(Effect.provide(LlmService.layer({ provider: "only-chat", chat: () => Effect.succeed(response("x")) })))
  )

  it.effect("a layer can be swapped: the same program runs against two services", () =>
    Effect.gen(function* () {
      const program = Effect.map(LlmService.chat(request), (r) => r.choices[0].message.content)
      const a = yield* program.pipe(Effect.provide(LlmService.layer({ chat: () => Effect.succeed(response("A")) })))
      const b = yield* program.pipe(
        Effect.provide(
          Layer.succeed(LlmService.LlmService, LlmService.make({ chat: () => Effect.succeed(response("B")) }))
        )
      )
      expect([a, b]).toEqual(["A", "B"])
    })
  )
})
