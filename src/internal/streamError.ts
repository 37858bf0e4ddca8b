/**
 * Recognises an error reported inside an OpenAI-compatible stream and maps it to the typed error an HTTP response
 * with the same body would give. Providers report such errors in several documented shapes, all of which end the
 * stream: an event whose payload has an `error` member (OpenAI, and OpenRouter's mid-stream error, which also carries
 * `choices` with finish reason `"error"`), vLLM's `{"object":"error", …}`, or an SSE event named `error`.
 *
 * The HTTP status of the stream was 200, so the status used for the mapping comes from the error itself: a numeric
 * `code`/`status` (OpenRouter sends HTTP codes there), else its `type`/`code` words (`rate_limit_exceeded`,
 * `context_length_exceeded`, `overloaded_error`, `billing_error` …), else 500.
 */
import type * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as LiterLlmError from "../LiterLlmError.js"

/** Words of an error's `type`/`code`/`status`, first match wins; anything else is a server error. */
const byWord: ReadonlyArray<readonly [RegExp, number]> = [
  // Anthropic's `billing_error`, and the credit wordings of OpenAI-compatible servers: HTTP 402, a used-up quota.
  [/billing|insufficient.?(credit|balance)|payment.?required/i, 402],
  [/rate.?limit|too.?many.?requests|resource.?exhausted|quota/i, 429],
  [/context.?length|content.?(filter|policy)|invalid.?(request|argument)|bad.?request/i, 400],
  [/authentication|unauthenticated|unauthori[sz]ed|invalid.?api.?key/i, 401],
  [/permission|forbidden/i, 403],
  [/not.?found/i, 404],
  [/timeout|timed.?out|deadline/i, 408],
  [/overloaded|unavailable/i, 503]
]

const numericStatus = (value: unknown): number | undefined => {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\d{3}$/.test(value) ? Number(value) : NaN
  return Number.isInteger(n) && n >= 400 && n <= 599 ? n : undefined
}

const statusOf = (source: Readonly<Record<string, unknown>>): number => {
  for (const key of ["code", "status", "status_code"]) {
    const status = numericStatus(source[key])
    if (status !== undefined) return status
  }
  for (const key of ["type", "code", "status"]) {
    const word = source[key]
    if (typeof word !== "string") continue
    const found = byWord.find(([pattern]) => pattern.test(word))
    if (found !== undefined) return found[1]
  }
  return 500
}

/**
 * The typed error a stream event reports, or `undefined` when the event is an ordinary chunk.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromEvent = (
  provider: string,
  eventName: string,
  payload: unknown
): Effect.Effect<LiterLlmError.LiterLlmError> | undefined => {
  if (!Predicate.isRecord(payload)) return undefined
  const error = payload["error"]
  if (error !== undefined && error !== null) {
    const status = Predicate.isRecord(error) ? statusOf(error) : 500
    return LiterLlmError.fromResponse({ status, body: { error }, provider })
  }
  if (payload["object"] === "error" || eventName === "error") {
    return LiterLlmError.fromResponse({ status: statusOf(payload), body: payload, provider })
  }
  return undefined
}
