import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Layer from "effect/Layer"
import { EffectAi } from "../../src/ai/index.js"
import { body, upstream } from "./kit.js"

const embeddings = (data: ReadonlyArray<{ index: number; embedding: ReadonlyArray<number> | string }>) => ({
  body: { object: "list", model: "e", data, usage: { prompt_tokens: 2, total_tokens: 2 } }
})

describe("EffectAi.embeddingLayer over real HTTP", () => {
  it.scoped("embedMany sends the inputs in one request, with the model and dimensions, and gives one vector each", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream({ script: { dimensions: 4 } })
      const vectors = yield* EmbeddingModel.EmbeddingModel.pipe(
        Effect.flatMap((model) => model.embedMany(["alpha", "beta", "gamma"])),
        Effect.provide(EffectAi.embeddingLayer({ model: "text-embedding-3-small", dimensions: 4 })),
        Effect.provide(llm)
      )
      expect(vectors).toHaveLength(3)
      expect(vectors.every((vector) => vector.length === 4)).toBe(true)
      const [request] = yield* server.requests
      expect(request!.url).toBe("/v1/embeddings")
      expect(request!.body).toEqual({
        model: "text-embedding-3-small",
        input: ["alpha", "beta", "gamma"],
        dimensions: 4
      })
    })
  )

  it.scoped("concurrent single embeds are batched into one request", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream()
      const model = yield* Layer.build(EffectAi.embeddingLayer({ model: "e" }).pipe(Layer.provide(llm)))
      const service = EmbeddingModel.EmbeddingModel.pipe(Effect.provide(model))
      const [x, y] = yield* Effect.flatMap(service, (m) =>
        Effect.all([m.embed("x"), m.embed("y")], { concurrency: "unbounded", batching: true })
      )
      expect(x).toHaveLength(8)
      expect(y).toHaveLength(8)
      expect((yield* server.requests).map((r) => (r.body as { input: unknown }).input)).toEqual([["x", "y"]])
    })
  )

  it.scoped("vectors are matched to inputs by index, and base64 vectors are read as float32", () =>
    Effect.gen(function* () {
      const floats = new Uint8Array(new Float32Array([0.5, -2]).buffer)
      const { llm } = yield* upstream({
        script: embeddings([
          { index: 1, embedding: Encoding.encodeBase64(floats) },
          { index: 0, embedding: [1, 2] }
        ])
      })
      const vectors = yield* EmbeddingModel.EmbeddingModel.pipe(
        Effect.flatMap((model) => model.embedMany(["first", "second"])),
        Effect.provide(EffectAi.embeddingLayer({ model: "e" })),
        Effect.provide(llm)
      )
      expect(vectors).toEqual([
        [1, 2],
        [0.5, -2]
      ])
    })
  )

  it.scoped("an answer that leaves an input out fails with MalformedOutput naming it", () =>
    Effect.gen(function* () {
      const { llm } = yield* upstream({ script: embeddings([{ index: 0, embedding: [1] }]) })
      const error = yield* EmbeddingModel.EmbeddingModel.pipe(
        Effect.flatMap((model) => model.embedMany(["a", "b"])),
        Effect.provide(EffectAi.embeddingLayer({ model: "e" })),
        Effect.provide(llm),
        Effect.flip
      )
      expect(error._tag).toBe("MalformedOutput")
      expect(error._tag === "MalformedOutput" && error.description).toContain("no embedding for input 1 of 2")
    })
  )

  it.scoped("an upstream error keeps its status, named for embeddings", () =>
    Effect.gen(function* () {
      const { llm } = yield* upstream({ script: { status: 503 } })
      const error = yield* EmbeddingModel.EmbeddingModel.pipe(
        Effect.flatMap((model) => model.embedMany(["a"])),
        Effect.provide(EffectAi.embeddingLayer({ model: "e" })),
        Effect.provide(llm),
        Effect.flip
      )
      expect(error._tag === "HttpResponseError" && [error.response.status, error.method, error.request.url]).toEqual([
        503,
        "embedMany",
        "/embeddings"
      ])
      expect(error._tag === "HttpResponseError" && EffectAi.isRetryable(error)).toBe(true)
    })
  )

  it.scoped("a bad option fails the layer with BadRequest naming it, before any request", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream()
      const error = yield* Layer.build(EffectAi.embeddingLayer({ model: "e", dimensions: 0 })).pipe(
        Effect.provide(llm),
        Effect.flip
      )
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toContain("EffectAi.embeddingLayer: option dimensions")
      expect(yield* server.requests).toHaveLength(0)
      expect(yield* body(server)).toBeUndefined()
    })
  )
})
