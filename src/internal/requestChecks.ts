/**
 * Puts the shared request checks (`Validate.chat`, `Validate.embedding`) in front of a service's operations, so a
 * provider — or the test kit standing in for one — refuses a malformed request before it does anything: no bytes
 * go upstream, no call is counted, and the caller gets a `BadRequest` naming the field.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as LlmService from "../LlmService.js"
import * as Validate from "./validate.js"

/** An absent field, or a finite number. */
const finite = (v: unknown) => v == null || (typeof v === "number" && Number.isFinite(v))
/** An absent field, or a whole number ≥ `min`. */
const whole = (v: unknown, min: number) => v == null || (typeof v === "number" && Number.isSafeInteger(v) && v >= min)

/**
 * A plain-JavaScript pass that accepts only requests `Validate.chat` accepts too, in a fraction of its time (the
 * schema costs microseconds, which a router built on the test kit would pay on every call). Anything it doubts goes to
 * the schema, so the messages stay those of `Validate`.
 */
export const chatSurelyValid = (r: unknown): boolean => {
  if (typeof r !== "object" || r === null) return false
  const q = r as Record<string, unknown>
  return (
    typeof q["model"] === "string" &&
    Array.isArray(q["messages"]) &&
    whole(q["max_tokens"], 0) &&
    whole(q["max_completion_tokens"], 0) &&
    finite(q["temperature"]) &&
    finite(q["top_p"]) &&
    finite(q["presence_penalty"]) &&
    finite(q["frequency_penalty"]) &&
    whole(q["n"], 1) &&
    whole(q["top_logprobs"], 0) &&
    whole(q["seed"], Number.NEGATIVE_INFINITY)
  )
}

/** The same for `Validate.embedding`. */
export const embeddingSurelyValid = (r: unknown): boolean => {
  if (typeof r !== "object" || r === null) return false
  const q = r as Record<string, unknown>
  const dimensions = q["dimensions"]
  return (
    typeof q["model"] === "string" &&
    (typeof q["input"] === "string" || Array.isArray(q["input"])) &&
    (dimensions === undefined ||
      (typeof dimensions === "number" && Number.isSafeInteger(dimensions) && dimensions >= 1))
  )
}

type Operations = Partial<LlmService.Service> & { readonly provider?: string | undefined }

/**
 * Wraps `chat`, `chatStream` and `embed` of a partial service with the request checks; other fields pass through.
 * The check runs when the operation is called: an ordinary request goes straight to the operation, with no Effect
 * added, and only a doubtful one pays for the schema (and fails before the operation is even built).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withRequestChecks = (operations: Operations): Operations => {
  const { chat, chatStream, embed } = operations
  const checked: { -readonly [K in keyof Operations]: Operations[K] } = { ...operations }
  if (chat !== undefined) {
    checked.chat = (request) =>
      chatSurelyValid(request)
        ? chat(request)
        : Effect.zipRight(
            Validate.chat(request),
            Effect.suspend(() => chat(request))
          )
  }
  if (chatStream !== undefined) {
    checked.chatStream = (request) =>
      chatSurelyValid(request)
        ? chatStream(request)
        : Stream.unwrap(
            Effect.zipRight(
              Validate.chat(request),
              Effect.sync(() => chatStream(request))
            )
          )
  }
  if (embed !== undefined) {
    checked.embed = (request) =>
      embeddingSurelyValid(request)
        ? embed(request)
        : Effect.zipRight(
            Validate.embedding(request),
            Effect.suspend(() => embed(request))
          )
  }
  return checked
}
