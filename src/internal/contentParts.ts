/**
 * Reads an answer's `content` when a provider sends it as an array of parts instead of a string. Mistral's reasoning
 * models (Magistral) do, streamed and not: `{type:"thinking", thinking:[{type:"text", text}]}` for the reasoning and
 * `{type:"text", text}` for the answer. Text becomes `content`, thinking becomes `reasoning_content`, and any other
 * part is handed back unchanged so the caller can keep it rather than drop it.
 */
import * as Predicate from "effect/Predicate"

/**
 * An array content split into what the OpenAI shape has fields for and the rest.
 *
 * @since 0.1.0
 * @category models
 */
export interface Split {
  /** The text parts joined; `null` when there were none. */
  readonly text: string | null
  /** The thinking parts' text joined; `null` when there were none. */
  readonly thinking: string | null
  /** Parts of any other type (or shape), as received, in order. */
  readonly others: ReadonlyArray<unknown>
}

/** The text of a thinking part's `thinking`: a string, or text parts (Mistral); `undefined` for anything else. */
const thinkingText = (thinking: unknown): string | undefined => {
  if (typeof thinking === "string") return thinking
  if (!Array.isArray(thinking)) return undefined
  let out = ""
  for (const part of thinking) {
    if (typeof part === "string") out += part
    else if (Predicate.isRecord(part) && typeof part["text"] === "string") out += part["text"]
    else return undefined
  }
  return out
}

/**
 * Splits array content into text, thinking and other parts.
 *
 * @since 0.1.0
 * @category decoding
 */
export const split = (parts: ReadonlyArray<unknown>): Split => {
  let text: string | null = null
  let thinking: string | null = null
  const others: Array<unknown> = []
  for (const part of parts) {
    if (Predicate.isRecord(part) && part["type"] === "text" && typeof part["text"] === "string") {
      text = (text ?? "") + part["text"]
      continue
    }
    if (Predicate.isRecord(part) && part["type"] === "thinking") {
      const value = thinkingText(part["thinking"])
      if (value !== undefined) {
        thinking = (thinking ?? "") + value
        continue
      }
    }
    others.push(part)
  }
  return { text, thinking, others }
}

/**
 * Joins two optional texts, `null` when both are absent: reasoning can arrive both as a field and as thinking parts.
 *
 * @since 0.1.0
 * @category decoding
 */
export const join = (a: string | null | undefined, b: string | null | undefined): string | null =>
  a == null ? (b ?? null) : b == null ? a : a + b
