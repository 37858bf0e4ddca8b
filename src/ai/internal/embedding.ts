/**
 * An embeddings answer as @effect/ai's `EmbeddingModel.Result`s.
 *
 * Decisions:
 * - Vectors are matched to inputs by `index`, not by position; an answer that leaves an input out, repeats one or
 *   names one that was not asked fails with `MalformedOutput` rather than shifting vectors onto the wrong inputs.
 * - A vector sent as base64 (a server that ignored the default float encoding) is read as little-endian float32,
 *   the encoding OpenAI documents for it.
 */
import type * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import type * as Embedding from "../../Embedding.js"

const fromBase64 = (text: string): Either.Either<Array<number>, string> =>
  Either.flatMap(
    Either.mapLeft(Encoding.decodeBase64(text), () => "an embedding is neither a list of numbers nor base64"),
    (bytes) => {
      if (bytes.length % 4 !== 0) return Either.left("a base64 embedding's length is not a whole number of float32s")
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      return Either.right(Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true)))
    }
  )

/**
 * One result per input, or what is wrong with the answer.
 */
export const toResults = (
  response: Embedding.EmbeddingResponse,
  inputs: number
): Either.Either<Array<EmbeddingModel.Result>, string> => {
  const results: Array<EmbeddingModel.Result | undefined> = Array.from({ length: inputs }, () => undefined)
  for (const data of response.data) {
    if (!Number.isInteger(data.index) || data.index < 0 || data.index >= inputs) {
      return Either.left(`the answer has an embedding at index ${data.index}, but ${inputs} input(s) were sent`)
    }
    if (results[data.index] !== undefined) return Either.left(`the answer has two embeddings at index ${data.index}`)
    const vector = typeof data.embedding === "string" ? fromBase64(data.embedding) : Either.right([...data.embedding])
    if (Either.isLeft(vector)) return Either.left(`${vector.left} (index ${data.index})`)
    results[data.index] = { index: data.index, embeddings: vector.right }
  }
  const missing = results.findIndex((result) => result === undefined)
  if (missing !== -1) return Either.left(`the answer has no embedding for input ${missing} of ${inputs}`)
  return Either.right(results as Array<EmbeddingModel.Result>)
}
