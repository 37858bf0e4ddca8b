/**
 * Reads one event of a Gemini stream: the partial answer it carries, or the error it reports.
 *
 * Gemini reports a failure that happens after the stream began inside the stream, as Google's error object
 * `{"error":{"code","message","status","details"}}` (in a `data:` event, or as bare JSON, see `frames.ts`), sometimes
 * wrapped in an array. Such an event fails the stream with the error its code maps to, as the same object would as an
 * HTTP answer; `RetryInfo.retryDelay` becomes the `retryAfter` of a rate limit.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as LiterLlmError from "../../LiterLlmError.js"
import * as Http from "../http.js"
import type * as Sse from "../sse.js"
import * as Frames from "./frames.js"
import * as Wire from "./wire.js"

const provider = "gemini"

/** The HTTP status of a google.rpc status name, for errors that carry no numeric code. */
const statusOfRpc: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ABORTED: 409,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  UNKNOWN: 500,
  INTERNAL: 500,
  DATA_LOSS: 500,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504
}

/**
 * The typed error of a Google error object met inside a stream. A `CANCELLED` answer is `Streaming`: Gemini gave up
 * on an answer already under way, which is neither the caller's fault nor a status the request got.
 *
 * @since 0.1.0
 * @category errors
 */
export const fromErrorObject = (error: unknown, text: string): Effect.Effect<LiterLlmError.LiterLlmError> => {
  const fields = Predicate.isRecord(error) ? error : {}
  const rpc = typeof fields["status"] === "string" ? fields["status"] : undefined
  const code = fields["code"]
  const status =
    typeof code === "number" && Number.isInteger(code) && code >= 400 && code <= 599
      ? code
      : ((rpc === undefined ? undefined : statusOfRpc[rpc]) ?? 500)
  if (status === 499 || rpc === "CANCELLED") {
    const message = typeof fields["message"] === "string" ? `: ${fields["message"]}` : ""
    return Effect.succeed(
      new LiterLlmError.Streaming({
        provider,
        cause: error,
        message: `gemini cancelled the answer mid-stream${message}; the partial answer is incomplete, retry the request`
      })
    )
  }
  // fromResponse reads Google's RetryInfo from the body as the retry delay of a rate limit
  return LiterLlmError.fromResponse({ status, body: text, provider })
}

const decodeResponse = Http.decodeUnknownEither(Wire.GenerateContentResponse)

/** The error object of a parsed event, if it is one (possibly wrapped in an array). */
const errorMember = (json: unknown): { readonly error: unknown } | undefined => {
  const value = Array.isArray(json) && json.length > 0 ? json[0] : json
  return Predicate.isRecord(value) && value["error"] != null ? { error: value["error"] } : undefined
}

/**
 * The responses one event carries (an array of them in bare JSON), or the failure it stands for (an effect: an error
 * object is read into the library's error with the clock). A bare or unterminated event that is not valid JSON is the
 * body cut off mid-event: `Streaming`, not `Serialization`. Synchronous where it can be, so a stream decodes a read's
 * events in one step.
 *
 * @since 0.1.0
 * @category events
 */
export const read = (
  event: Sse.Event
): Either.Either<ReadonlyArray<Wire.GenerateContentResponse>, Effect.Effect<never, LiterLlmError.LiterLlmError>> => {
  const parsed = Http.parseJson(event.data, provider, "a stream event")
  if (Either.isLeft(parsed)) {
    return Either.left(
      event.event === Frames.unterminated || event.event === Frames.bareJson
        ? Effect.fail(
            new LiterLlmError.Streaming({
              provider,
              cause: parsed.left,
              message: "the gemini stream ended inside an event; the answer is truncated, retry the request"
            })
          )
        : Effect.fail(parsed.left)
    )
  }
  const json = parsed.right
  const reported = errorMember(json)
  if (reported !== undefined)
    return Either.left(Effect.flatMap(fromErrorObject(reported.error, event.data), Effect.fail))
  const items = Array.isArray(json) ? json : [json]
  const responses: Array<Wire.GenerateContentResponse> = []
  for (const item of items) {
    const decoded = decodeResponse(item, provider, "a stream event")
    if (Either.isLeft(decoded)) return Either.left(Effect.fail(decoded.left))
    responses.push(decoded.right)
  }
  return Either.right(responses)
}
