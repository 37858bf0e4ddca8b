/**
 * Moves a stream chunk's usage to where the OpenAI shape has it. Some providers document it elsewhere: Moonshot (Kimi)
 * puts it inside the choice of the last chunk, Groq under `x_groq`. Done on the parsed JSON before the schema decodes
 * it, so the common chunk (usage absent or top-level) costs two property reads and no copy.
 */
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Chat from "../Chat.js"

const isUsage = (value: unknown): boolean => Option.isSome(Schema.decodeUnknownOption(Chat.Usage)(value))

/** A usage that would decode; a malformed one in an odd place is ignored rather than failing the chunk. */
const usageIn = (value: unknown): unknown =>
  Predicate.isRecord(value) && isUsage(value["usage"]) ? value["usage"] : undefined

/**
 * The chunk with a usage found inside a choice or under `x_groq` moved to its top-level `usage`, when that is
 * absent; anything else is returned as it is.
 *
 * @since 0.1.0
 * @category decoding
 */
export const hoist = (payload: unknown): unknown => {
  if (!Predicate.isRecord(payload) || payload["usage"] != null) return payload
  const choices = payload["choices"]
  let found = Array.isArray(choices) ? choices.map(usageIn).find((usage) => usage !== undefined) : undefined
  found ??= usageIn(payload["x_groq"])
  return found === undefined ? payload : { ...payload, usage: found }
}
