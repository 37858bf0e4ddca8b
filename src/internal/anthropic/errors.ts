/**
 * The typed error of an Anthropic `error` stream event that arrives before the message started.
 *
 * Anthropic can answer a streaming request with HTTP 200 and then an `error` event as the very first event (an
 * `overloaded_error` under load, most often). Nothing has reached the caller then, so the error is what the same
 * failure would be as an HTTP answer (`overloaded_error` is `ServiceUnavailable`, which a router fails over),
 * named after Anthropic's documented error types. Once the message started, an error event is `Streaming` instead,
 * since part of the answer may have been delivered (see `stream.ts`).
 */
import * as LiterLlmError from "../../LiterLlmError.js"

const provider = "anthropic"

/**
 * The error of an `error` event of type `kind` met before `message_start`; undefined for a type not documented
 * (the caller then reports it as `Streaming`).
 *
 * @since 0.1.0
 * @category errors
 */
export const beforeStart = (
  kind: string,
  detail: string | null | undefined
): LiterLlmError.LiterLlmError | undefined => {
  const said = `anthropic reported ${kind} before the answer began${detail == null ? "" : `: ${detail}`}`
  switch (kind) {
    case "overloaded_error":
      return new LiterLlmError.ServiceUnavailable({ provider, status: 529, message: `${said} — retry or fail over` })
    case "api_error":
      return new LiterLlmError.ServerError({ provider, status: 500, message: `${said} — retry or fail over` })
    case "rate_limit_error":
      return new LiterLlmError.RateLimited({ provider, status: 429, message: `${said} — rate limited; retry later` })
    case "timeout_error":
      return new LiterLlmError.Timeout({ provider, status: 504, message: `${said} — retry` })
    case "authentication_error":
    case "permission_error":
      return new LiterLlmError.Authentication({ provider, message: `${said} — check the API key and its permissions` })
    case "not_found_error":
      return new LiterLlmError.NotFound({ provider, status: 404, message: `${said} — check the model name` })
    case "billing_error":
      return new LiterLlmError.QuotaExceeded({ provider, status: 402, message: `${said} — add credit to the account` })
    case "invalid_request_error":
      // Anthropic reports an exhausted credit balance as an invalid request (HTTP 400) with this wording.
      if (detail != null && /credit balance is too low/i.test(detail)) {
        return new LiterLlmError.QuotaExceeded({
          provider,
          status: 400,
          message: `${said} — add credit to the account`
        })
      }
      return new LiterLlmError.BadRequest({ provider, status: 400, message: `${said} — fix the request` })
    case "request_too_large":
      return new LiterLlmError.BadRequest({ provider, status: 400, message: `${said} — fix the request` })
    default:
      return undefined
  }
}
