import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import * as Embedding from "../src/Embedding.js"

describe("EmbeddingRequest", () => {
  it("accepts a string, strings, tokens and token arrays, with encoding_format and dimensions", () => {
    const inputs = ["hello", ["a", "b"], [1, 2, 3], [[1, 2], [3]]]
    for (const input of inputs) {
      const request = Schema.decodeUnknownSync(Embedding.EmbeddingRequest)({
        model: "text-embedding-3-small",
        input,
        encoding_format: "float",
        dimensions: 256,
        user: "u",
        extra_body: { input_type: "query" }
      })
      expect(request.input).toEqual(input)
      expect(request.dimensions).toBe(256)
      expect(request.extra_body).toEqual({ input_type: "query" })
    }
  })

  it("rejects a missing input, a bad encoding_format and fractional tokens", () => {
    for (const bad of [
      { model: "m" },
      { model: "m", input: "x", encoding_format: "int8" },
      { model: "m", input: [1.5] },
      { model: "m", input: "x", dimensions: 2.5 }
    ]) {
      expect(Either.isLeft(Schema.decodeUnknownEither(Embedding.EmbeddingRequest)(bad))).toBe(true)
    }
  })
})

describe("EmbeddingResponse", () => {
  it("decodes OpenAI's response", () => {
    const response = Schema.decodeUnknownSync(Embedding.EmbeddingResponse)({
      object: "list",
      data: [
        { object: "embedding", index: 0, embedding: [0.0023, -0.0093, 0.0151] },
        { object: "embedding", index: 1, embedding: [0.1, 0.2, 0.3] }
      ],
      model: "text-embedding-3-small",
      usage: { prompt_tokens: 8, total_tokens: 8 }
    })
    expect(response.data.map((d) => d.index)).toEqual([0, 1])
    expect(response.data[0].embedding).toEqual([0.0023, -0.0093, 0.0151])
    expect(response.usage).toEqual({ prompt_tokens: 8, total_tokens: 8 })
  })

  it("decodes base64 embeddings, fills defaults, tolerates null usage and extra fields", () => {
    const response = Schema.decodeUnknownSync(Embedding.EmbeddingResponse)({
      data: [{ index: 0, embedding: "AACAPwAAAEA=" }],
      model: "nomic-embed-text",
      usage: null,
      id: "emb-1"
    })
    expect(response.object).toBe("list")
    expect(response.data[0]).toEqual({ object: "embedding", index: 0, embedding: "AACAPwAAAEA=" })
    expect(response.usage).toBeNull()
    expect(response).not.toHaveProperty("id")
  })

  it("decodes usage with a count left out: prompt_tokens only, or null", () => {
    const decode = Schema.decodeUnknownSync(Embedding.EmbeddingResponse)
    const data = [{ object: "embedding", index: 0, embedding: [0.5] }]
    expect(decode({ model: "m", data, usage: { prompt_tokens: 6 } }).usage).toEqual({
      prompt_tokens: 6,
      total_tokens: 6
    })
    expect(decode({ model: "m", data, usage: { prompt_tokens: null, total_tokens: 2 } }).usage).toEqual({
      prompt_tokens: 0,
      total_tokens: 2
    })
  })

  it("rejects an embedding that is neither numbers nor base64 text", () => {
    const result = Schema.decodeUnknownEither(Embedding.EmbeddingResponse)({
      data: [{ index: 0, embedding: [true] }],
      model: "m"
    })
    expect(Either.isLeft(result)).toBe(true)
  })
})
