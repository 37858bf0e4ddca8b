/**
 * One request to an endpoint: built from a `RequestSpec`, sent, and its successful body read within the endpoint's
 * cap. The JSON, server-sent-events and bytes requests are all made of these.
 *
 * Mapping rules:
 * - a non-2xx answer goes through `LiterLlmError.fromResponse` with its real status, headers and body;
 * - a successful body past `maxBodySize` (default 64 MiB) is `Serialization`, found while reading: the read stops and
 *   the connection closes, and since the same request would get the same body it is not transient (no failover);
 *   an error body is read up to `maxErrorBodyBytes` (body.ts) only.
 *
 * `send` adds the endpoint's secret header names to the platform's redacted header names, so spans show
 * `<redacted>` for the key.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as LiterLlmError from "../LiterLlmError.js"
import * as Body from "./body.js"
import type { Endpoint } from "./httpEndpoint.js"
import { transportError } from "./httpErrors.js"
import * as Secrets from "./secrets.js"

/**
 * What to send: a method, a path under the base URL, an optional JSON body and extra headers.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestSpec {
  readonly method: "GET" | "POST"
  /** Appended to the base URL: `/chat/completions`. */
  readonly path: string
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly urlParams?: Readonly<Record<string, string>> | undefined
}

/**
 * Builds the platform request for a spec on an endpoint. A body JSON cannot represent (a `BigInt` or a cycle in
 * `extra_body`) is `Serialization`, not an exception thrown at the caller.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRequest = (
  endpoint: Endpoint,
  spec: RequestSpec,
  accept: string
): Either.Either<HttpClientRequest.HttpClientRequest, LiterLlmError.Serialization> => {
  let text: string | undefined
  if (spec.body !== undefined) {
    try {
      text = JSON.stringify(spec.body)
    } catch (cause) {
      return Either.left(
        new LiterLlmError.Serialization({
          provider: endpoint.provider,
          message: `the request for ${spec.method} ${spec.path} cannot be sent to provider "${endpoint.provider}": its body is not representable as JSON (${
            cause instanceof Error ? cause.message : String(cause)
          }); remove BigInt values and cycles from the request (e.g. from extra_body)`
        })
      )
    }
  }
  let request = HttpClientRequest.make(spec.method)(endpoint.baseUrl + spec.path, {
    headers: endpoint.headers,
    urlParams: spec.urlParams === undefined ? endpoint.urlParams : { ...endpoint.urlParams, ...spec.urlParams }
  })
  request = HttpClientRequest.setHeader(request, "accept", accept)
  if (spec.headers !== undefined) request = HttpClientRequest.setHeaders(request, spec.headers)
  if (text !== undefined) request = HttpClientRequest.bodyText(request, text, "application/json")
  return Either.right(request)
}

/** The error of a successful body past the endpoint's cap: not transient, since another try gets the same body. */
const bodyTooLarge = (endpoint: Endpoint, where: string, declared: number | undefined) =>
  new LiterLlmError.Serialization({
    provider: endpoint.provider,
    message: `the response of ${where} from provider "${endpoint.provider}" ${
      declared === undefined ? "grew past" : `declared ${declared} bytes, more than`
    } maxBodySize (${endpoint.maxBodySize} bytes); reading stopped to bound memory (raise maxBodySize if this is expected)`
  })

/**
 * Reads a successful body as text within the endpoint's `maxBodySize`. A `content-length` over the cap fails before
 * reading; a body that grows past it fails as soon as it does.
 */
export const readBody = (
  endpoint: Endpoint,
  response: HttpClientResponse.HttpClientResponse,
  where: string
): Effect.Effect<string, LiterLlmError.LiterLlmError> => {
  const declared = Number(response.headers["content-length"] ?? Number.NaN)
  // A declared size within the cap is read whole: HTTP framing ends the body there (a longer one is a protocol error
  // the client raises), and reading it in one piece is several times cheaper than a stream of chunks.
  if (Number.isFinite(declared) && declared <= endpoint.maxBodySize) {
    return Effect.mapError(response.text, (error) => transportError(endpoint, error))
  }
  // a declared size over the cap still goes through readUpTo, which stops at the first chunk and closes the socket
  const cap = Number.isFinite(declared) ? 0 : endpoint.maxBodySize
  return Body.readUpTo(response, cap).pipe(
    Effect.mapError((error) => transportError(endpoint, error)),
    Effect.flatMap(({ bytes, over }) =>
      over
        ? Effect.fail(bodyTooLarge(endpoint, where, cap === 0 ? declared : undefined))
        : Effect.succeed(new TextDecoder().decode(bytes))
    )
  )
}

/** Sends the request; non-2xx answers become their error variant. */
export const send = <R = never>(
  client: HttpClient.HttpClient.With<HttpClientError.HttpClientError, R>,
  endpoint: Endpoint,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<HttpClientResponse.HttpClientResponse, LiterLlmError.LiterLlmError, R> =>
  Secrets.withSecretsRedacted(endpoint.secretHeaders, client.execute(request)).pipe(
    Effect.mapError((error) => transportError(endpoint, error)),
    Effect.flatMap((response) =>
      response.status >= 200 && response.status < 300
        ? Effect.succeed(response)
        : Body.readErrorBody(response).pipe(
            Effect.flatMap((body) =>
              LiterLlmError.fromResponse({
                status: response.status,
                headers: response.headers,
                body,
                provider: endpoint.provider
              })
            ),
            Effect.flatMap(Effect.fail)
          )
    )
  )
