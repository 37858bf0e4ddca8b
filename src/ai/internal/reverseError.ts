/**
 * @effect/ai's errors as this library's. What matters most is the HTTP status: an `HttpResponseError` keeps the
 * provider's status, headers and body, so it goes through `LiterLlmError.fromResponse` like any provider's answer —
 * a 429 with its `retry-after`, a 503, a 400 — and the router fails over on the transient ones only.
 *
 * | @effect/ai | here |
 * |---|---|
 * | HttpResponseError, a status | by status (DESIGN's table) |
 * | HttpResponseError, Decode / EmptyBody | Serialization (with the status); in a stream Network, see below |
 * | HttpRequestError, Transport | Network |
 * | HttpRequestError, Encode | Serialization |
 * | HttpRequestError, InvalidUrl | BadRequest (the layer's URL is wrong) |
 * | MalformedInput | BadRequest (the provider cannot express the request) |
 * | MalformedOutput | Serialization (the provider's answer did not decode) |
 * | UnknownError | ServerError (the provider failed in a way it did not classify) |
 *
 * In a stream the clients skip events they cannot decode, so a `Decode` failure there means the body could not be
 * read at all — a lost connection — and is `Network` (the deployment turns it into `Streaming` once chunks were
 * delivered). An error part inside a stream (a provider's `error` event) is read like the OpenAI-compatible providers
 * read theirs.
 *
 * @since 0.2.0
 */
import type * as AiError from "@effect/ai/AiError"
import * as Effect from "effect/Effect"
import * as LiterLlmError from "../../LiterLlmError.js"
import * as StreamError from "../../internal/streamError.js"

const describe = (error: { readonly description?: string | undefined; readonly message: string }) =>
  error.description ?? error.message

/**
 * The library's error for an @effect/ai error.
 *
 * @since 0.2.0
 * @category conversion
 */
export const fromAiError = (
  provider: string,
  error: AiError.AiError,
  during: "whole" | "stream"
): Effect.Effect<LiterLlmError.LiterLlmError> => {
  switch (error._tag) {
    case "HttpResponseError": {
      const status = error.response.status
      if (error.reason === "StatusCode") {
        return LiterLlmError.fromResponse({ status, headers: error.response.headers, body: error.body, provider })
      }
      if (during === "stream") {
        // The clients skip SSE events they cannot decode, so a body that fails to decode mid-stream is a body that
        // could not be read: the connection went away.
        return Effect.succeed(
          new LiterLlmError.Network({
            provider,
            message: `the stream of the @effect/ai model of provider "${provider}" could not be read to its end (${error.reason}); the connection was lost`,
            cause: error
          })
        )
      }
      return Effect.succeed(
        new LiterLlmError.Serialization({
          status,
          provider,
          message: `the @effect/ai model of provider "${provider}" could not read an HTTP ${status} answer (${error.reason}): ${describe(error)}`,
          cause: error
        })
      )
    }
    case "HttpRequestError": {
      const message = `the @effect/ai model of provider "${provider}" could not send its request (${error.reason}): ${describe(error)}`
      switch (error.reason) {
        case "Transport":
          return Effect.succeed(new LiterLlmError.Network({ provider, message, cause: error }))
        case "Encode":
          return Effect.succeed(new LiterLlmError.Serialization({ provider, message, cause: error }))
        case "InvalidUrl":
          return Effect.succeed(
            new LiterLlmError.BadRequest({ provider, message: `${message}; check the layer's URL` })
          )
      }
    }
    case "MalformedInput":
      return Effect.succeed(
        new LiterLlmError.BadRequest({
          provider,
          message: `the @effect/ai model of provider "${provider}" cannot express this request: ${describe(error)}`
        })
      )
    case "MalformedOutput":
      return Effect.succeed(
        new LiterLlmError.Serialization({
          provider,
          message: `the answer of the @effect/ai model of provider "${provider}" did not decode: ${describe(error)}`,
          cause: error
        })
      )
    case "UnknownError":
      return Effect.succeed(
        new LiterLlmError.ServerError({
          provider,
          message: `the @effect/ai model of provider "${provider}" failed: ${describe(error)}; retry or fail over`
        })
      )
  }
}

/**
 * The library's error for an error part of a stream.
 *
 * @since 0.2.0
 * @category conversion
 */
export const fromErrorPart = (provider: string, error: unknown): Effect.Effect<LiterLlmError.LiterLlmError> =>
  StreamError.fromEvent(provider, "error", error) ??
  LiterLlmError.fromResponse({ status: 500, body: { error: { message: String(error) } }, provider })
