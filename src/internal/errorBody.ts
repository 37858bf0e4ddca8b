/**
 * Reading what an error body says, whatever the provider's shape, and the signals `LiterLlmError.fromResponse` reads
 * from it: a context window passed, a content filter, and a used-up quota.
 *
 * A used-up quota must not be mistaken for a rate limit (which clears in seconds) nor for a bad request (the
 * caller's fault). The providers say it in these documented ways:
 * - OpenAI: HTTP 429 with `error.type`/`error.code` `insufficient_quota` ("You exceeded your current quota, please
 *   check your plan and billing details").
 * - Anthropic: the `billing_error` error type (HTTP 402 in its error table, and a member of the API's `ErrorResponse`
 *   union), and an `invalid_request_error` at HTTP 400 whose message says the credit balance is too low.
 * - Gemini: HTTP 429 `RESOURCE_EXHAUSTED`. A per-minute limit carries a `google.rpc.RetryInfo` detail with its
 *   `retryDelay`; a used-up daily or billing quota carries none and says so: a `google.rpc.QuotaFailure` detail, or
 *   "You exceeded your current quota". Without either it stays a rate limit (Gemini's bare "Resource has been
 *   exhausted (e.g. check quota)" is its per-minute answer too).
 * - HTTP 402 Payment Required from any OpenAI-compatible server (OpenRouter's "insufficient credits", DeepSeek's
 *   "Insufficient Balance").
 */
import * as Predicate from "effect/Predicate"

/** What an error body says, in the fields every provider's shape maps to. */
export interface ErrorBody {
  readonly message?: string | undefined
  readonly type?: string | undefined
  readonly code?: string | undefined
  /** Google's `RetryInfo.retryDelay` among the error's `details`, in milliseconds. */
  readonly retryDelay?: number | undefined
  /** Google's error `details` hold a `google.rpc.QuotaFailure`. */
  readonly quotaFailure?: boolean | undefined
}

/** `RetryInfo.retryDelay` ("34.4s", a protobuf Duration) in milliseconds, if Google's error details carry one. */
const retryDelayMillis = (details: unknown): number | undefined => {
  if (!Array.isArray(details)) return undefined
  for (const detail of details) {
    const delay = Predicate.isRecord(detail) ? detail["retryDelay"] : undefined
    const match = typeof delay === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null
    if (match !== null) return Math.round(Number(match[1]) * 1000)
  }
  return undefined
}

const hasQuotaFailure = (details: unknown): boolean =>
  Array.isArray(details) &&
  details.some(
    (detail) =>
      Predicate.isRecord(detail) &&
      typeof detail["@type"] === "string" &&
      detail["@type"].endsWith("google.rpc.QuotaFailure")
  )

const asString = (u: unknown): string | undefined =>
  typeof u === "string" ? u : typeof u === "number" ? String(u) : undefined

/** Reads OpenAI's `{"error":{…}}`, Anthropic's `{"type":"error","error":{…}}`, `{"error":"text"}` or `{"message"}`. */
export const read = (body: unknown): ErrorBody => {
  let value = body
  if (typeof value === "string") {
    const text = value.trim()
    if (text === "") return {}
    try {
      value = JSON.parse(text)
    } catch {
      return { message: text.length > 500 ? `${text.slice(0, 500)}…` : text }
    }
  }
  if (Array.isArray(value)) value = value[0] // Gemini sometimes wraps the error in an array
  if (!Predicate.isRecord(value)) return {}
  const inner = value["error"]
  if (typeof inner === "string") return { message: inner }
  const source = Predicate.isRecord(inner) ? inner : value
  return {
    message: asString(source["message"]),
    type: asString(source["type"]) ?? asString(source["status"]),
    code: asString(source["code"]),
    retryDelay: retryDelayMillis(source["details"]),
    quotaFailure: hasQuotaFailure(source["details"])
  }
}

const contextWindowPatterns = [
  /maximum context length/i,
  /prompt is too long/i,
  /context window/i,
  /context length/i,
  /too many tokens/i,
  /input is too long/i,
  /exceeds the (maximum|max) (number of )?tokens/i
]

/** The input does not fit the model's context window. */
export const isContextWindow = (e: ErrorBody): boolean =>
  e.code === "context_length_exceeded" ||
  e.type === "context_length_exceeded" ||
  (e.message !== undefined && contextWindowPatterns.some((p) => p.test(e.message!)))

/** A content filter refused the input or output. */
export const isContentPolicy = (e: ErrorBody): boolean =>
  e.code === "content_policy_violation" ||
  e.code === "content_filter" ||
  e.type === "content_policy_violation" ||
  e.type === "content_filter"

const quotaWords: ReadonlySet<string | undefined> = new Set(["insufficient_quota", "billing_error"])

/**
 * The account behind the key has used up its quota or credit (see the module's notes for each provider's shape).
 * `hinted`: the response said when to come back (a Retry-After header or Google's RetryInfo), which only a rate
 * limit does.
 */
export const isQuota = (status: number, e: ErrorBody, hinted: boolean): boolean => {
  if (status < 400 || status >= 500) return false
  if (status === 402 || quotaWords.has(e.code) || quotaWords.has(e.type)) return true
  if (status === 400 && e.message !== undefined && /credit balance is too low/i.test(e.message)) return true
  return (
    status === 429 &&
    !hinted &&
    e.retryDelay === undefined &&
    (e.quotaFailure === true || (e.message !== undefined && /exceeded your current quota/i.test(e.message)))
  )
}
