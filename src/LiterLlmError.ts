/**
 * The typed errors of effect-liter-llm: one tagged class per failure a caller may want to handle, the
 * `LiterLlmError` union, the guards the router and retries rely on — `isTransient` (worth retrying, here or
 * elsewhere) and `shouldFailover` (worth trying elsewhere: also a used-up quota) — and `fromResponse`, which turns
 * an HTTP error response from any provider into the right variant.
 *
 * Every error carries a `message` that says what happened and what to do about it. Errors never carry secrets:
 * API keys travel as `Redacted` and are not copied into messages.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as ErrorBody from "./internal/errorBody.js"

/**
 * Fields every HTTP-born error may carry.
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpFields {
  readonly message: string
  readonly status?: number | undefined
  readonly provider?: string | undefined
}

type Args<F extends { readonly message: string }> = Omit<F, "message"> & { readonly message?: string | undefined }

const withDefault = <F extends { readonly message: string }>(args: Args<F>, fallback: string): F =>
  ({ ...args, message: args.message ?? fallback }) as unknown as F

const who = (provider: string | undefined) => (provider === undefined ? "the provider" : `provider "${provider}"`)

/**
 * The API key was missing, wrong or lacks permission (HTTP 401/403). Not transient: fix the key.
 *
 * @since 0.1.0
 * @category errors
 */
export class Authentication extends Data.TaggedError("Authentication")<HttpFields> {
  constructor(args: Args<HttpFields> = {}) {
    super(
      withDefault(
        args,
        `${who(args.provider)} rejected the credentials; check that the API key is set and allowed to use this model`
      )
    )
  }
}

/**
 * Fields of {@link RateLimited}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimitedFields extends HttpFields {
  /** How long the provider asked us to wait, when it said so. */
  readonly retryAfter?: Duration.Duration | undefined
}

/**
 * The provider (or a local rate limiter) refused the request for now (HTTP 429). Transient: retry after `retryAfter`.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends Data.TaggedError("RateLimited")<RateLimitedFields> {
  constructor(args: Args<RateLimitedFields> = {}) {
    super(
      withDefault(
        args,
        `${who(args.provider)} is rate limiting requests; retry ${
          args.retryAfter === undefined ? "later" : `after ${Duration.format(args.retryAfter)}`
        } or spread load over more deployments`
      )
    )
  }
}

/**
 * The account behind the key has used up its quota or credit (OpenAI's 429 `insufficient_quota`, Anthropic's
 * `billing_error` or "credit balance is too low", Gemini's quota exhaustion without a retry delay, HTTP 402). Unlike
 * {@link RateLimited} it does not clear in seconds: not transient, so never retried on the same deployment, but a
 * router fails over (see {@link shouldFailover}) and rests that deployment for its `quotaCooldown`.
 *
 * @since 0.2.0
 * @category errors
 */
export class QuotaExceeded extends Data.TaggedError("QuotaExceeded")<HttpFields> {
  constructor(args: Args<HttpFields> = {}) {
    super(
      withDefault(
        args,
        `${who(args.provider)} says the account's quota or credit is used up; add credit or raise the quota, or route to another account`
      )
    )
  }
}

/**
 * The request was malformed or not accepted (HTTP 400, 405, 413, 422 and other 4xx). Not transient: fix the request.
 *
 * @since 0.1.0
 * @category errors
 */
export class BadRequest extends Data.TaggedError("BadRequest")<HttpFields> {
  constructor(args: Args<HttpFields> = {}) {
    super(withDefault(args, `${who(args.provider)} rejected the request as invalid; check the request fields`))
  }
}

/**
 * The prompt (plus the requested output) does not fit the model's context window. Not transient: shorten the
 * conversation, lower `max_tokens`, or route to a model with a larger window.
 *
 * @since 0.1.0
 * @category errors
 */
export class ContextWindowExceeded extends Data.TaggedError("ContextWindowExceeded")<HttpFields> {
  constructor(args: Args<HttpFields> = {}) {
    super(
      withDefault(
        args,
        "the input is too long for the model's context window; shorten the messages or lower max_tokens"
      )
    )
  }
}

/**
 * The provider's content filter refused the input or output. Not transient.
 *
 * @since 0.1.0
 * @category errors
 */
export class ContentPolicy extends Data.TaggedError("ContentPolicy")<HttpFields> {
  constructor(args: Args<HttpFields> = {}) {
    super(withDefault(args, `${who(args.provider)} refused the content under its usage policy; change the prompt`))
  }
}

/**
 * The model or endpoint does not exist at this provider (HTTP 404). Not transient: check the model name and base URL.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Data.TaggedError("NotFound")<HttpFields> {
  constructor(args: Args<HttpFields> = {}) {
    super(withDefault(args, `${who(args.provider)} does not know this model or path; check the model name and baseUrl`))
  }
}

/**
 * The provider failed while handling the request (HTTP 500 and unknown 5xx). Transient.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Data.TaggedError("ServerError")<HttpFields> {
  constructor(args: Args<HttpFields> = {}) {
    super(withDefault(args, `${who(args.provider)} had an internal error; retry or fail over to another deployment`))
  }
}

/**
 * The provider is overloaded or down (HTTP 502, 503, 504, 529), or a health check marked it unhealthy. Transient.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServiceUnavailable extends Data.TaggedError("ServiceUnavailable")<HttpFields> {
  constructor(args: Args<HttpFields> = {}) {
    super(withDefault(args, `${who(args.provider)} is unavailable or overloaded; retry later or fail over`))
  }
}

/**
 * The request took longer than allowed (HTTP 408, or a local timeout). Transient.
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Data.TaggedError("Timeout")<HttpFields> {
  constructor(args: Args<HttpFields> = {}) {
    super(withDefault(args, `the request to ${who(args.provider)} timed out; retry, or raise the timeout`))
  }
}

/**
 * The connection failed: refused, reset, DNS. Transient.
 *
 * @since 0.1.0
 * @category errors
 */
export class Network extends Data.TaggedError("Network")<HttpFields & { readonly cause?: unknown }> {
  constructor(args: Args<HttpFields & { readonly cause?: unknown }> = {}) {
    super(withDefault(args, `could not reach ${who(args.provider)}; check the baseUrl and the network, then retry`))
  }
}

/**
 * A stream broke: a malformed or oversized event, an error event, or a failure after the first chunk was delivered.
 * Not transient: part of the answer already reached the caller, so nobody may silently retry it.
 *
 * @since 0.1.0
 * @category errors
 */
export class Streaming extends Data.TaggedError("Streaming")<HttpFields & { readonly cause?: unknown }> {
  constructor(args: Args<HttpFields & { readonly cause?: unknown }> = {}) {
    super(
      withDefault(
        args,
        `the stream from ${who(args.provider)} broke and the partial answer is incomplete; discard it and send the request again`
      )
    )
  }
}

/**
 * Fields of {@link EndpointNotSupported}.
 *
 * @since 0.1.0
 * @category models
 */
export interface EndpointNotSupportedFields {
  readonly message: string
  readonly endpoint: string
  readonly provider: string
}

/**
 * The service does not offer this operation (for example embeddings at a chat-only provider). Not transient.
 *
 * @since 0.1.0
 * @category errors
 */
export class EndpointNotSupported extends Data.TaggedError("EndpointNotSupported")<EndpointNotSupportedFields> {
  constructor(args: Args<EndpointNotSupportedFields>) {
    super(
      withDefault(
        args,
        `provider "${args.provider}" does not support ${args.endpoint}; use a deployment that offers it`
      )
    )
  }
}

/**
 * Fields of {@link InvalidHeader}.
 *
 * @since 0.1.0
 * @category models
 */
export interface InvalidHeaderFields {
  readonly message: string
  readonly name: string
  readonly reason: string
}

/**
 * A configured HTTP header name or value is not valid. Not transient: fix the configuration.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidHeader extends Data.TaggedError("InvalidHeader")<InvalidHeaderFields> {
  constructor(args: Args<InvalidHeaderFields>) {
    super(withDefault(args, `header "${args.name}" is invalid: ${args.reason}; fix the header in the configuration`))
  }
}

/**
 * A body could not be encoded or decoded: the `path` names the offending field when known. Not transient.
 *
 * @since 0.1.0
 * @category errors
 */
export class Serialization extends Data.TaggedError("Serialization")<
  HttpFields & { readonly path?: string | undefined; readonly cause?: unknown }
> {
  constructor(args: Args<HttpFields & { readonly path?: string | undefined; readonly cause?: unknown }> = {}) {
    super(
      withDefault(
        args,
        `a body from ${who(args.provider)} did not match the expected shape${
          args.path === undefined ? "" : ` at ${args.path}`
        }; check that the baseUrl points at an API of the expected kind`
      )
    )
  }
}

/**
 * Fields of {@link BudgetExceeded}.
 *
 * @since 0.1.0
 * @category models
 */
export interface BudgetExceededFields {
  readonly message: string
  readonly model?: string | undefined
  readonly limit?: number | undefined
  readonly spent?: number | undefined
}

/**
 * A spending limit would be passed by this request. Not transient: raise the limit or reset the budget.
 *
 * @since 0.1.0
 * @category errors
 */
export class BudgetExceeded extends Data.TaggedError("BudgetExceeded")<BudgetExceededFields> {
  constructor(args: Args<BudgetExceededFields> = {}) {
    super(
      withDefault(
        args,
        `the ${args.model === undefined ? "global" : `"${args.model}"`} budget is exhausted; raise the limit or reset it`
      )
    )
  }
}

/**
 * A request hook refused the request, or a hook failed. Not transient.
 *
 * @since 0.1.0
 * @category errors
 */
export class HookRejected extends Data.TaggedError("HookRejected")<{
  readonly message: string
  readonly cause?: unknown
}> {
  constructor(args: { readonly message?: string | undefined; readonly cause?: unknown } = {}) {
    super(withDefault(args, "a request hook rejected the request; see the hook's reason, or change the hook"))
  }
}

/**
 * A bug or an impossible state inside the library. Not transient; please report it.
 *
 * @since 0.1.0
 * @category errors
 */
export class InternalError extends Data.TaggedError("InternalError")<{
  readonly message: string
  readonly cause?: unknown
}> {
  constructor(args: { readonly message?: string | undefined; readonly cause?: unknown } = {}) {
    super(withDefault(args, "an internal error occurred in effect-liter-llm; please report it"))
  }
}

/**
 * One attempt the router made: which deployment, how it failed, and how long it took.
 *
 * @since 0.1.0
 * @category models
 */
export interface Attempt {
  readonly deployment: string
  readonly error: LiterLlmError
  readonly duration: Duration.Duration
}

/**
 * Every deployment the router tried failed with a transient error. Transient: the whole group may recover.
 *
 * @since 0.1.0
 * @category errors
 */
export class AllDeploymentsFailed extends Data.TaggedError("AllDeploymentsFailed")<{
  readonly message: string
  readonly attempts: ReadonlyArray<Attempt>
}> {
  constructor(args: { readonly message?: string | undefined; readonly attempts: ReadonlyArray<Attempt> }) {
    super(
      withDefault(
        args,
        `all ${args.attempts.length} attempt(s) failed: ${args.attempts
          .map((a) => `${a.deployment}: ${a.error._tag}`)
          .join(", ")}; retry later or add deployments`
      )
    )
  }
}

/**
 * No deployment can take a request right now (every circuit is open). Transient: retry after `retryAfter`.
 *
 * @since 0.1.0
 * @category errors
 */
export class NoDeploymentAvailable extends Data.TaggedError("NoDeploymentAvailable")<{
  readonly message: string
  readonly retryAfter?: Duration.Duration | undefined
}> {
  constructor(
    args: { readonly message?: string | undefined; readonly retryAfter?: Duration.Duration | undefined } = {}
  ) {
    super(
      withDefault(
        args,
        `no deployment is available (all circuits open); retry ${
          args.retryAfter === undefined ? "later" : `after ${Duration.format(args.retryAfter)}`
        }`
      )
    )
  }
}

/**
 * Every error effect-liter-llm can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type LiterLlmError =
  | Authentication
  | RateLimited
  | QuotaExceeded
  | BadRequest
  | ContextWindowExceeded
  | ContentPolicy
  | NotFound
  | ServerError
  | ServiceUnavailable
  | Timeout
  | Network
  | Streaming
  | EndpointNotSupported
  | InvalidHeader
  | Serialization
  | BudgetExceeded
  | HookRejected
  | InternalError
  | AllDeploymentsFailed
  | NoDeploymentAvailable

const allTags: ReadonlySet<string> = new Set<LiterLlmError["_tag"]>([
  "Authentication",
  "RateLimited",
  "QuotaExceeded",
  "BadRequest",
  "ContextWindowExceeded",
  "ContentPolicy",
  "NotFound",
  "ServerError",
  "ServiceUnavailable",
  "Timeout",
  "Network",
  "Streaming",
  "EndpointNotSupported",
  "InvalidHeader",
  "Serialization",
  "BudgetExceeded",
  "HookRejected",
  "InternalError",
  "AllDeploymentsFailed",
  "NoDeploymentAvailable"
])

const transientTags: ReadonlySet<string> = new Set<LiterLlmError["_tag"]>([
  "RateLimited",
  "ServiceUnavailable",
  "Timeout",
  "ServerError",
  "Network",
  "AllDeploymentsFailed",
  "NoDeploymentAvailable"
])

/**
 * Whether a value is one of the library's errors.
 *
 * @since 0.1.0
 * @category guards
 */
export const isLiterLlmError = (u: unknown): u is LiterLlmError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && allTags.has(u._tag)

/**
 * Whether retrying the same request (here or at another deployment) may succeed. Everything else is the caller's
 * problem and is never retried or failed over.
 *
 * @since 0.1.0
 * @category guards
 */
export const isTransient = (error: LiterLlmError): boolean => transientTags.has(error._tag)

/**
 * Whether a router should try another deployment after this error: every transient error, and `QuotaExceeded` —
 * this deployment's account is out of quota, another's need not be. Never retried on the same deployment.
 *
 * @since 0.2.0
 * @category guards
 */
export const shouldFailover = (error: LiterLlmError): boolean =>
  transientTags.has(error._tag) || error._tag === "QuotaExceeded"

/**
 * The longest `Retry-After` honoured. Providers sometimes answer with hours (a daily quota); a router should not
 * park a deployment that long on one header, so the value is capped.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxRetryAfter: Duration.Duration = Duration.minutes(10)

/**
 * A response's headers, in any of the common shapes.
 *
 * @since 0.1.0
 * @category models
 */
export type HeadersInput = Readonly<Record<string, string | ReadonlyArray<string> | undefined>> | Headers

const headerValue = (headers: HeadersInput | undefined, name: string): string | undefined => {
  if (headers === undefined) return undefined
  if (typeof Headers !== "undefined" && headers instanceof Headers) return headers.get(name) ?? undefined
  const record = headers as Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() === name) {
      const value = record[key]
      return typeof value === "string" ? value : value?.[0]
    }
  }
  return undefined
}

const capRetryAfter = (millis: number): Duration.Duration =>
  Duration.min(Duration.millis(Math.max(0, millis)), maxRetryAfter)

/**
 * Reads how long to wait from `retry-after-ms`, `retry-after` in seconds, or `retry-after` as an HTTP-date (measured
 * against `Clock`, so `TestClock` controls it). Capped at {@link maxRetryAfter}.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseRetryAfter = (headers: HeadersInput | undefined): Effect.Effect<Duration.Duration | undefined> =>
  Effect.gen(function* () {
    const ms = headerValue(headers, "retry-after-ms")?.trim()
    if (ms !== undefined && ms !== "") {
      const n = Number(ms)
      if (Number.isFinite(n) && n >= 0) return capRetryAfter(n)
    }
    const raw = headerValue(headers, "retry-after")?.trim()
    if (raw === undefined || raw === "") return undefined
    if (/^\d+(\.\d+)?$/.test(raw)) return capRetryAfter(Number(raw) * 1000)
    const at = Date.parse(raw)
    if (Number.isNaN(at)) return undefined
    const now = yield* Clock.currentTimeMillis
    return capRetryAfter(at - now)
  })

/**
 * Input of {@link fromResponse}: an HTTP error response, as received.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResponseInput {
  readonly status: number
  readonly headers?: HeadersInput | undefined
  /** The raw body text, or the already parsed JSON. */
  readonly body?: unknown
  readonly provider?: string | undefined
}

/**
 * Maps an HTTP error response to its error variant, following the table in DESIGN.md. A used-up quota comes first,
 * whatever its 4xx status: `QuotaExceeded` (the shapes each provider uses are listed in `internal/errorBody.ts`).
 * It is an Effect because an HTTP-date `Retry-After` is measured against `Clock`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromResponse = (response: ResponseInput): Effect.Effect<LiterLlmError> =>
  Effect.gen(function* () {
    const { provider, status } = response
    const body = ErrorBody.read(response.body)
    const detail = body.message === undefined ? "" : `: ${body.message}`
    const from = `${provider ?? "provider"} answered HTTP ${status}${detail}`
    const base = { status, provider }
    // A Retry-After comes with a rate limit, not a used-up quota: it is read first (Gemini's hint is in the body).
    const fromHeaders = status === 429 ? yield* parseRetryAfter(response.headers) : undefined
    if (ErrorBody.isQuota(status, body, fromHeaders !== undefined)) {
      return new QuotaExceeded({
        ...base,
        message: `${from} — the account's quota or credit is used up; add credit or raise the quota (other deployments may still serve)`
      })
    }
    switch (status) {
      case 401:
      case 403:
        return new Authentication({ ...base, message: `${from} — check the API key and its permissions` })
      case 429: {
        // The headers first; else Google's RetryInfo in the body (Gemini sends no Retry-After header).
        const retryAfter =
          fromHeaders ??
          (body.retryDelay === undefined ? undefined : Duration.min(Duration.millis(body.retryDelay), maxRetryAfter))
        return new RateLimited({
          ...base,
          retryAfter,
          message: `${from} — rate limited; retry ${retryAfter === undefined ? "later" : `after ${Duration.format(retryAfter)}`}`
        })
      }
      case 400:
      case 422:
        if (ErrorBody.isContextWindow(body)) {
          return new ContextWindowExceeded({
            ...base,
            message: `${from} — the input does not fit the model's context window; shorten it or lower max_tokens`
          })
        }
        if (ErrorBody.isContentPolicy(body)) {
          return new ContentPolicy({ ...base, message: `${from} — refused by the content policy; change the prompt` })
        }
        return new BadRequest({ ...base, message: `${from} — fix the request` })
      case 404:
        return new NotFound({ ...base, message: `${from} — check the model name and the baseUrl` })
      case 408:
        return new Timeout({ ...base, message: `${from} — the request timed out; retry` })
      case 500:
        return new ServerError({ ...base, message: `${from} — server error; retry or fail over` })
      case 502:
      case 503:
      case 504:
      case 529:
        return new ServiceUnavailable({ ...base, message: `${from} — unavailable or overloaded; retry or fail over` })
      default:
        if (status >= 400 && status < 500) return new BadRequest({ ...base, message: `${from} — fix the request` })
        return new ServerError({ ...base, message: `${from} — unexpected status; retry or fail over` })
    }
  })
