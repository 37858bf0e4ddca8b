/**
 * The library's errors as @effect/ai's `AiError`, and the two questions an `ExecutionPlan`'s `while` asks of one:
 * may another attempt succeed, and how long should it wait.
 *
 * The rule: an error that stands for an HTTP answer becomes `HttpResponseError` with that answer's status — the
 * upstream's own status when it is known, otherwise the status a gateway would answer for it (the table in the
 * `EffectAi` module docs). Its delay travels as the `retry-after-ms` and `retry-after` headers, and its body is an
 * OpenAI-style error body naming the library's error tag, so `LiterLlmError.fromResponse` reads the same variant back.
 * A connection failure becomes `HttpRequestError` (`Transport`); a request refused before it was sent becomes
 * `MalformedInput`; an answer that could not be read, or a stream that broke, becomes `MalformedOutput`; what is neither becomes
 * `UnknownError`. Those four carry the original error as `cause`.
 *
 * The headers are the library's summary, not the upstream's headers: the router may have talked to several
 * deployments, and none of their headers (which may carry secrets) are copied.
 */
import * as AiError from "@effect/ai/AiError"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as LiterLlmError from "../../LiterLlmError.js"

/** Where an error happened: the @effect/ai method and the OpenAI-compatible path the call stands for. */
export interface Site {
  readonly method: string
  readonly path: "/chat/completions" | "/embeddings"
}

const moduleName = "EffectAi"

/** The status a gateway would answer for an error that carries none. */
const defaultStatus: Partial<Record<LiterLlmError.LiterLlmError["_tag"], number>> = {
  Authentication: 401,
  RateLimited: 429,
  NotFound: 404,
  ServerError: 500,
  ServiceUnavailable: 503,
  Timeout: 408,
  NoDeploymentAvailable: 503,
  AllDeploymentsFailed: 503
}

/** The `code` `fromResponse` reads to tell these 400s apart from a plain `BadRequest`. */
const codes: Partial<Record<LiterLlmError.LiterLlmError["_tag"], string>> = {
  ContextWindowExceeded: "context_length_exceeded",
  ContentPolicy: "content_policy_violation"
}

/** The statuses after which another attempt may succeed. */
const retryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500

const statusOf = (error: LiterLlmError.LiterLlmError): number | undefined => {
  const own = "status" in error && typeof error.status === "number" ? error.status : undefined
  // a transient error keeps its own status only where that status says so too (not, say, a 302 read as ServerError),
  // so that an error is retryable exactly when the library calls it transient
  if (own === undefined || (LiterLlmError.isTransient(error) && !retryableStatus(own))) return defaultStatus[error._tag]
  return own
}

const retryAfterOf = (error: LiterLlmError.LiterLlmError): Duration.Duration | undefined => {
  if (error._tag === "RateLimited" || error._tag === "NoDeploymentAvailable") return error.retryAfter
  if (error._tag !== "AllDeploymentsFailed") return undefined
  // the earliest moment any deployment said it could take the request again
  const delays = error.attempts.flatMap((attempt) => {
    const delay = retryAfterOf(attempt.error)
    return delay === undefined ? [] : [delay]
  })
  return delays.length === 0 ? undefined : delays.reduce(Duration.min)
}

/** A router outcome answers with the status of its last attempt, so a caller sees what the upstream said. */
const routerStatus = (error: LiterLlmError.AllDeploymentsFailed): number => {
  const last = error.attempts.at(-1)
  return (last === undefined ? undefined : statusOf(last.error)) ?? 503
}

const request = (site: Site) => ({
  method: "POST" as const,
  url: site.path,
  urlParams: [],
  hash: Option.none(),
  headers: {}
})

const retryHeaders = (delay: Duration.Duration | undefined): Record<string, string> => {
  if (delay === undefined) return {}
  const millis = Math.max(0, Math.ceil(Duration.toMillis(delay)))
  return { "retry-after-ms": String(millis), "retry-after": String(Math.ceil(millis / 1000)) }
}

const responseError = (error: LiterLlmError.LiterLlmError, status: number, site: Site): AiError.HttpResponseError => {
  const code = codes[error._tag]
  const body = { error: { message: error.message, type: error._tag, ...(code === undefined ? {} : { code }) } }
  return new AiError.HttpResponseError({
    module: moduleName,
    method: site.method,
    reason: "StatusCode",
    request: request(site),
    response: { status, headers: { "content-type": "application/json", ...retryHeaders(retryAfterOf(error)) } },
    body: JSON.stringify(body),
    description: `${error._tag}: ${error.message}`
  })
}

/**
 * The `AiError` a library error becomes (see the module docs for the rule).
 */
export const toAiError = (error: LiterLlmError.LiterLlmError, site: Site): AiError.AiError => {
  const details = {
    module: moduleName,
    method: site.method,
    description: `${error._tag}: ${error.message}`,
    cause: error
  }
  switch (error._tag) {
    case "Network":
      return new AiError.HttpRequestError({ ...details, reason: "Transport", request: request(site) })
    case "AllDeploymentsFailed":
      return responseError(error, routerStatus(error), site)
    case "BadRequest":
    case "ContextWindowExceeded":
    case "ContentPolicy":
      return error.status === undefined ? new AiError.MalformedInput(details) : responseError(error, error.status, site)
    case "InvalidHeader":
      return new AiError.MalformedInput(details)
    case "Serialization":
    case "Streaming":
      // even with a status: part of a stream may have reached the caller, so this must never read as retryable
      return new AiError.MalformedOutput(details)
    case "EndpointNotSupported":
    case "BudgetExceeded":
    case "HookRejected":
    case "InternalError":
      return new AiError.UnknownError(details)
    default: {
      const status = statusOf(error)
      return status === undefined ? new AiError.UnknownError(details) : responseError(error, status, site)
    }
  }
}

/**
 * An answer that could not be read as @effect/ai parts or results.
 */
export const malformedOutput = (method: string, description: string): AiError.MalformedOutput =>
  new AiError.MalformedOutput({ module: moduleName, method, description })

/**
 * Whether another attempt (later, or at another model) may succeed: a connection failure, or an HTTP answer of
 * 408, 429 or 5xx. Reads only the `AiError`'s own fields, so it judges errors from any @effect/ai provider alike.
 */
export const isRetryable = (error: AiError.AiError): boolean => {
  switch (error._tag) {
    case "HttpRequestError":
      return error.reason === "Transport"
    case "HttpResponseError":
      return error.reason === "StatusCode" && retryableStatus(error.response.status)
    default:
      return false
  }
}

const header = (headers: Readonly<Record<string, string>>, name: string): string | undefined => {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key]
  return undefined
}

/**
 * How long the answer asked the caller to wait (`retry-after-ms`, or `retry-after` in seconds), capped like the
 * library's own reading; `None` when the error says nothing about it.
 */
export const retryAfter = (error: AiError.AiError): Option.Option<Duration.Duration> => {
  if (error._tag !== "HttpResponseError") return Option.none()
  const cap = (millis: number) => Option.some(Duration.min(Duration.millis(millis), LiterLlmError.maxRetryAfter))
  const ms = Number(header(error.response.headers, "retry-after-ms"))
  if (Number.isFinite(ms) && ms >= 0) return cap(ms)
  const seconds = header(error.response.headers, "retry-after")?.trim()
  return seconds !== undefined && /^\d+(\.\d+)?$/.test(seconds) ? cap(Number(seconds) * 1000) : Option.none()
}
