/**
 * The shared mapping of the platform's failures to `LiterLlmError`s, for every kind of request (JSON, server-sent
 * events, bytes).
 *
 * Mapping rules:
 * - a connection that cannot be made or breaks (refused, reset, DNS, a body cut short) is `Network` — unless a
 *   stream had already delivered an event, then it is `Streaming` (part of the answer reached the caller, so it must
 *   not be retried silently; the streaming requests make that distinction, with {@link causeDetail} for the message);
 * - the per-request timeout is `Timeout` (for streams: until the response headers, then between two events).
 *
 * No message quotes a header value or a query string: a URL is named without its query.
 *
 * @since 0.1.0
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Duration from "effect/Duration"
import * as LiterLlmError from "../LiterLlmError.js"
import type { Endpoint } from "./httpEndpoint.js"

/** The URL without its query string: safe to put in a message. */
const describe = (method: string, url: string) => `${method} ${url.split("?")[0]}`

/** The message of a transport failure plus the system error code beneath it (fetch says only "fetch failed"). */
export const causeDetail = (cause: unknown): string | undefined => {
  if (!(cause instanceof Error)) return undefined
  const inner = (cause as { readonly cause?: unknown }).cause
  const code =
    inner !== null && typeof inner === "object" && "code" in inner && typeof inner.code === "string"
      ? inner.code
      : undefined
  const extra = code ?? (inner instanceof Error ? inner.message : undefined)
  return extra === undefined || cause.message.includes(extra) ? cause.message : `${cause.message} (${extra})`
}

export const transportError = (
  endpoint: Endpoint,
  error: HttpClientError.HttpClientError
): LiterLlmError.Network | LiterLlmError.Serialization | LiterLlmError.BadRequest => {
  const where = describe(error.request.method, error.request.url)
  const detail = causeDetail(error.cause) ?? error.description
  const suffix = detail === undefined ? "" : `: ${detail}`
  if (error._tag === "RequestError") {
    switch (error.reason) {
      case "Encode":
        return new LiterLlmError.Serialization({
          provider: endpoint.provider,
          cause: error.cause,
          message: `the request body for provider "${endpoint.provider}" could not be encoded${suffix}`
        })
      case "InvalidUrl":
        return new LiterLlmError.BadRequest({
          provider: endpoint.provider,
          message: `the URL for ${where} is invalid; check the baseUrl of provider "${endpoint.provider}"`
        })
      case "Transport":
        return new LiterLlmError.Network({
          provider: endpoint.provider,
          cause: error.cause,
          message: `could not reach provider "${endpoint.provider}" (${where})${suffix}; check the baseUrl and the network, then retry`
        })
    }
  }
  return new LiterLlmError.Network({
    provider: endpoint.provider,
    status: error.response.status,
    cause: error.cause,
    message: `the connection to provider "${endpoint.provider}" broke while reading the response of ${where}${suffix}; retry`
  })
}

export const timeoutError = (endpoint: Endpoint, what: string) =>
  new LiterLlmError.Timeout({
    provider: endpoint.provider,
    message: `provider "${endpoint.provider}" did not answer ${what} within ${Duration.format(
      endpoint.timeout ?? Duration.zero
    )}; retry, or raise the timeout`
  })
