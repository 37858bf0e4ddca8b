/**
 * Translates embeddings between OpenAI's shape and Gemini's `batchEmbedContents`: one request per input text, one
 * vector per input in input order. Gemini embeds text only, so token-array inputs are a `BadRequest`. Gemini reports
 * no token counts for embeddings, so the response carries no usage rather than a made-up one. `extra_body` (e.g.
 * `{ taskType: "RETRIEVAL_QUERY" }`) is merged into every embedded content's request.
 */
import * as Either from "effect/Either"
import type * as Embedding from "../../Embedding.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as Wire from "./wire.js"

/**
 * The model path Gemini expects (`models/…`), from a bare or already prefixed name.
 *
 * @since 0.1.0
 * @category embeddings
 */
export const modelPath = (model: string): string => (model.startsWith("models/") ? model : `models/${model}`)

/**
 * The `batchEmbedContents` body for an OpenAI-style embeddings request.
 *
 * @since 0.1.0
 * @category embeddings
 */
export const toBatchEmbedRequest = (
  request: Embedding.EmbeddingRequest
): Either.Either<{ readonly requests: ReadonlyArray<Wire.EmbedContentRequest> }, LiterLlmError.BadRequest> => {
  const input = request.input
  const texts = typeof input === "string" ? [input] : input
  if (!texts.every((text): text is string => typeof text === "string")) {
    return Either.left(
      new LiterLlmError.BadRequest({
        provider: "gemini",
        message: "gemini embeds text only; send strings as input, not token arrays"
      })
    )
  }
  const model = modelPath(request.model)
  return Either.right({
    requests: texts.map((text) => ({
      model,
      content: { parts: [{ text }] },
      ...(request.dimensions === undefined ? {} : { outputDimensionality: request.dimensions }),
      // Per-request options such as `taskType` or `title` belong on each embedded content.
      ...request.extra_body
    }))
  })
}

/** Little-endian float32 bytes in base64, as OpenAI returns for `encoding_format: "base64"`. */
const toBase64 = (values: ReadonlyArray<number>): string => {
  const bytes = new Uint8Array(Float32Array.from(values).buffer)
  let binary = ""
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/**
 * The OpenAI-style embeddings response for Gemini's vectors, in input order.
 *
 * @since 0.1.0
 * @category embeddings
 */
export const fromBatchEmbedResponse = (
  response: Wire.BatchEmbedContentsResponse,
  request: Embedding.EmbeddingRequest
): Embedding.EmbeddingResponse => ({
  object: "list",
  model: request.model,
  data: response.embeddings.map((embedding, index) => ({
    object: "embedding",
    index,
    embedding: request.encoding_format === "base64" ? toBase64(embedding.values) : embedding.values
  }))
})
