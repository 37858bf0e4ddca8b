/**
 * Errors as OpenAI-compatible clients expect them: the body `{ "error": { message, type, param, code } }`, a status
 * mapped back from the library's error, `retry-after` / `retry-after-ms` when the wait is known, and
 * `x-should-retry: false` where repeating the same request cannot help (OpenAI's SDKs obey that header, so a client
 * does not retry a spent budget or a bad request).
 *
 * Statuses are chosen from the gateway's point of view: a provider's 401 is the gateway's key being refused, but the
 * client still learns it as a 401 (LiteLLM does the same); an upstream that timed out is a 504 and an unreachable or
 * garbled one a 502, so the client can tell "the gateway failed" from "the request is wrong".
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as LiterLlmError from "../../../LiterLlmError.js"

/** A problem the gateway found in the HTTP request itself, before any service saw it. */
export class RequestProblem extends Data.TaggedError("RequestProblem")<{
  readonly status: number
  readonly message: string
  readonly param?: string | undefined
  readonly code?: string | undefined
}> {}

/** What the client is told. */
export interface ErrorReply {
  readonly status: number
  readonly type: string
  readonly code: string | null
  readonly param: string | null
  readonly message: string
  readonly retryAfter: Duration.Duration | undefined
  readonly retryable: boolean
}

const reply = (
  status: number,
  type: string,
  code: string | null,
  message: string,
  extra: { readonly param?: string | undefined; readonly retryAfter?: Duration.Duration | undefined } = {}
): ErrorReply => ({
  status,
  type,
  code,
  message,
  param: extra.param ?? null,
  retryAfter: extra.retryAfter,
  retryable: status === 408 || status === 409 || status === 429 || status >= 500
})

const notRetryable = (r: ErrorReply): ErrorReply => ({ ...r, retryable: false })

// `Validate` words its complaints "invalid chat request: max_tokens: expected …"; the field is the OpenAI `param`.
const paramOf = (message: string): string | undefined => {
  const match = /^invalid (?:chat|embeddings) request: ([A-Za-z0-9_.[\]]+): /.exec(message)
  return match === null || match[1] === "request" ? undefined : match[1]
}

const shortest = (durations: ReadonlyArray<Duration.Duration | undefined>): Duration.Duration | undefined =>
  durations.reduce<Duration.Duration | undefined>(
    (min, d) => (d === undefined ? min : min === undefined ? d : Duration.min(min, d)),
    undefined
  )

/** The reply for a library error. */
export const ofError = (error: LiterLlmError.LiterLlmError): ErrorReply => {
  switch (error._tag) {
    case "Authentication":
      return error.status === 403
        ? reply(403, "permission_denied_error", "permission_denied", error.message)
        : reply(401, "authentication_error", "invalid_api_key", error.message)
    case "RateLimited":
      return reply(429, "rate_limit_error", "rate_limit_exceeded", error.message, { retryAfter: error.retryAfter })
    case "BadRequest":
      return reply(400, "invalid_request_error", null, error.message, { param: paramOf(error.message) })
    case "ContextWindowExceeded":
      return reply(400, "invalid_request_error", "context_length_exceeded", error.message, { param: "messages" })
    case "ContentPolicy":
      return reply(400, "invalid_request_error", "content_policy_violation", error.message)
    case "NotFound":
      return reply(404, "not_found_error", "model_not_found", error.message, { param: "model" })
    case "EndpointNotSupported":
      return reply(400, "invalid_request_error", "endpoint_not_supported", error.message, { param: "model" })
    case "BudgetExceeded":
      return notRetryable(reply(429, "insufficient_quota", "budget_exceeded", error.message))
    case "HookRejected":
      return reply(400, "invalid_request_error", "request_rejected", error.message)
    case "ServerError":
      return reply(500, "server_error", "upstream_error", error.message)
    case "ServiceUnavailable":
      return reply(503, "server_error", "service_unavailable", error.message)
    case "Timeout":
      return reply(504, "timeout_error", "upstream_timeout", error.message)
    case "Network":
      return reply(502, "server_error", "upstream_unreachable", error.message)
    case "Streaming":
    case "Serialization":
      return reply(502, "server_error", "bad_upstream_response", error.message)
    case "InvalidHeader":
      return notRetryable(reply(500, "server_error", "gateway_misconfigured", error.message))
    case "InternalError":
      return notRetryable(reply(500, "server_error", "internal_error", error.message))
    case "NoDeploymentAvailable":
      return reply(503, "server_error", "no_deployment_available", error.message, { retryAfter: error.retryAfter })
    case "AllDeploymentsFailed": {
      // Every deployment said "slow down": that is a 429 with the soonest wait, not an outage.
      const limited = error.attempts.every((a) => a.error._tag === "RateLimited")
      const waits = error.attempts.map((a) => (a.error._tag === "RateLimited" ? a.error.retryAfter : undefined))
      return limited && error.attempts.length > 0
        ? reply(429, "rate_limit_error", "rate_limit_exceeded", error.message, { retryAfter: shortest(waits) })
        : reply(503, "server_error", "all_deployments_failed", error.message)
    }
  }
}

/** The reply for a problem of the HTTP request. */
export const ofProblem = (problem: RequestProblem): ErrorReply =>
  notRetryable(reply(problem.status, "invalid_request_error", problem.code ?? null, problem.message, problem))

/** The JSON body of a reply, as OpenAI sends it (also the payload of an SSE error event). */
export const body = (r: ErrorReply) => ({
  error: { message: r.message, type: r.type, param: r.param, code: r.code }
})

/** The HTTP response of a reply. */
export const toResponse = (
  r: ErrorReply,
  headers: Readonly<Record<string, string>>
): HttpServerResponse.HttpServerResponse => {
  const out: Record<string, string> = { ...headers }
  if (r.retryAfter !== undefined) {
    const millis = Math.max(0, Math.ceil(Duration.toMillis(r.retryAfter)))
    out["retry-after"] = String(Math.ceil(millis / 1000))
    out["retry-after-ms"] = String(millis)
  }
  if (!r.retryable) out["x-should-retry"] = "false"
  if (r.status === 413) out["connection"] = "close"
  return HttpServerResponse.text(JSON.stringify(body(r)), {
    status: r.status,
    contentType: "application/json",
    headers: out
  })
}

/** A problem as a reply, for callers that hold either kind. */
export const replyOf = (error: LiterLlmError.LiterLlmError | RequestProblem): ErrorReply =>
  error._tag === "RequestProblem" ? ofProblem(error) : ofError(error)
