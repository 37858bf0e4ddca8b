/**
 * Request checks of the operations beyond chat and embeddings (images, speech, transcription, moderation, rerank),
 * worded like `validate.ts`'s: a `BadRequest` naming the field and the value, before anything is sent or reserved.
 * Plain comparisons, for the reason given there.
 */
import * as Stream from "effect/Stream"
import type * as LiterLlmError from "../LiterLlmError.js"
import { invalid, ruleProblem, type Rule } from "./validate.js"

type Fields = Record<string, unknown>

const object = (what: string, request: unknown): LiterLlmError.BadRequest | undefined => {
  if (typeof request !== "object" || request === null) return invalid(what, "request", "expected an object", request)
  const model = (request as Fields).model
  return typeof model === "string" ? undefined : invalid(what, "model", "expected a string", model)
}

const nonEmptyString = (what: string, fields: Fields, field: string): LiterLlmError.BadRequest | undefined => {
  const value = fields[field]
  if (typeof value !== "string") return invalid(what, field, "expected a string", value)
  return value.trim() === "" ? invalid(what, field, "expected a non-empty text", value) : undefined
}

const numbers = (what: string, fields: Fields, rules: ReadonlyArray<readonly [string, Rule]>) => {
  for (const [field, rule] of rules) {
    const value = fields[field]
    if (value === undefined || value === null) continue
    const complaint = ruleProblem(rule, value)
    if (complaint !== undefined) return invalid(what, field, complaint, value)
  }
  return undefined
}

/** The problem with an image request, or `undefined`. */
export const imageProblem = (request: unknown): LiterLlmError.BadRequest | undefined => {
  const what = "image request"
  return (
    object(what, request) ??
    nonEmptyString(what, request as Fields, "prompt") ??
    numbers(what, request as Fields, [
      ["n", "positiveInt"],
      ["output_compression", "nonNegativeInt"]
    ])
  )
}

/** The problem with a speech request, or `undefined`. */
export const speechProblem = (request: unknown): LiterLlmError.BadRequest | undefined => {
  const what = "speech request"
  const problem =
    object(what, request) ??
    nonEmptyString(what, request as Fields, "input") ??
    nonEmptyString(what, request as Fields, "voice") ??
    numbers(what, request as Fields, [["speed", "finite"]])
  if (problem !== undefined) return problem
  const speed = (request as Fields).speed
  return typeof speed === "number" && speed <= 0 ? invalid(what, "speed", "expected a number > 0", speed) : undefined
}

const isFile = (file: unknown): boolean =>
  file instanceof Uint8Array ||
  (typeof Blob !== "undefined" && file instanceof Blob) ||
  (typeof file === "object" && file !== null && Stream.StreamTypeId in file)

/** The problem with a transcription request, or `undefined` (the file's size is the provider's to check). */
export const transcriptionProblem = (request: unknown): LiterLlmError.BadRequest | undefined => {
  const what = "transcription request"
  const problem = object(what, request) ?? numbers(what, request as Fields, [["temperature", "finite"]])
  if (problem !== undefined) return problem
  const file = (request as Fields).file
  if (!isFile(file)) return invalid(what, "file", "expected bytes (Uint8Array), a Blob or a Stream of bytes", file)
  const size = file instanceof Uint8Array ? file.byteLength : file instanceof Blob ? file.size : undefined
  return size === 0 ? invalid(what, "file", "expected a non-empty file", `${size} bytes`) : undefined
}

/** The problem with a moderation request, or `undefined`. */
export const moderationProblem = (request: unknown): LiterLlmError.BadRequest | undefined => {
  const what = "moderation request"
  const problem = object(what, request)
  if (problem !== undefined) return problem
  const input = (request as Fields).input
  if (typeof input === "string") return undefined
  if (!Array.isArray(input)) return invalid(what, "input", "expected a string or a list", input)
  return input.length === 0 ? invalid(what, "input", "expected at least one input", input) : undefined
}

/** The problem with a rerank request, or `undefined`. */
export const rerankProblem = (request: unknown): LiterLlmError.BadRequest | undefined => {
  const what = "rerank request"
  const problem =
    object(what, request) ??
    nonEmptyString(what, request as Fields, "query") ??
    numbers(what, request as Fields, [["top_n", "positiveInt"]])
  if (problem !== undefined) return problem
  const documents = (request as Fields).documents
  if (!Array.isArray(documents)) return invalid(what, "documents", "expected a list", documents)
  if (documents.length === 0) return invalid(what, "documents", "expected at least one document", documents)
  const bad = documents.findIndex(
    (d) => typeof d !== "string" && (typeof d !== "object" || d === null || typeof (d as Fields).text !== "string")
  )
  return bad === -1
    ? undefined
    : invalid(what, `documents[${bad}]`, "expected a string or an object with a text", documents[bad])
}
