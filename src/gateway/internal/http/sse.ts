/**
 * A chat stream as server-sent events, committed to a status only once it is known how the stream starts.
 *
 * - The first chunk is pulled before the response starts: a failure before it (every deployment down, a bad
 *   request, a rate limit) is answered with its own status and error body, and the router's failover before the
 *   first chunk stays invisible to the client.
 * - Waiting longer than `heartbeat` for that chunk commits to 200 and sends `: ping` comments every `heartbeat`
 *   until it comes, so proxies and clients with idle timeouts keep the connection. A failure after that is the
 *   same as a failure mid-stream.
 * - A failure mid-stream is one `data: {"error":…}` event, then the connection ends without `[DONE]` (OpenAI's SDKs
 *   raise an error on it). A stream that ends normally ends with `data: [DONE]`.
 * - Facts known only at the end (the route and the cost, see `trailer`) come as SSE comment lines, `: name: value`,
 *   in one block just before that last event. Comments are the one part of an event stream every SSE client is
 *   required to skip, so OpenAI's SDKs read the stream as before. HTTP trailers were the other way: @effect/platform's
 *   response has no public API for them, and fetch clients (browsers, undici) do not expose them.
 * - The stream's pull lives in the request's scope, so a client that goes away (the platform interrupts the
 *   request's fiber) interrupts the upstream call.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Chat from "../../../Chat.js"
import type * as LiterLlmError from "../../../LiterLlmError.js"
import * as Errors from "./errors.js"

const encoder = new TextEncoder()
const done = "data: [DONE]\n\n"
const ping = encoder.encode(": ping\n\n")

const event = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`

/** The events of a chunk's kept chunks as one piece of bytes (none when nothing is kept). */
const eventsOf = (
  values: Chunk.Chunk<Chat.ChatCompletionChunk>,
  keep: (chunk: Chat.ChatCompletionChunk) => boolean
): Chunk.Chunk<Uint8Array> => {
  let text = ""
  for (const value of values) if (keep(value)) text += event(value)
  return text === "" ? Chunk.empty() : Chunk.of(encoder.encode(text))
}

const keepAll = () => true

type Pull<A, E> = Effect.Effect<Chunk.Chunk<A>, Option.Option<E>>

/** The first non-empty chunk, or `undefined` when the stream ended without one. */
const firstChunk = <A, E>(pull: Pull<A, E>): Effect.Effect<Chunk.Chunk<A> | undefined, E> =>
  pull.pipe(
    Effect.catchAll(Option.match({ onNone: () => Effect.succeed(undefined), onSome: Effect.fail })),
    Effect.flatMap((chunk) => (chunk !== undefined && Chunk.isEmpty(chunk) ? firstChunk(pull) : Effect.succeed(chunk)))
  )

/** `last`, after the facts as one block of comment lines (line breaks in a value would end a comment: spaces). */
const closing = (facts: Readonly<Record<string, string>>, last: string): Uint8Array => {
  let text = ""
  for (const [name, value] of Object.entries(facts)) text += `: ${name}: ${value.replace(/[\r\n]+/g, " ")}\n`
  return encoder.encode(text === "" ? last : `${text}\n${last}`)
}

const events = (
  chunks: Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>,
  trailer: Effect.Effect<Readonly<Record<string, string>>>,
  keep: (chunk: Chat.ChatCompletionChunk) => boolean
): Stream.Stream<Uint8Array> => {
  const last = (text: string) => Stream.fromEffect(Effect.map(trailer, (facts) => closing(facts, text)))
  return chunks.pipe(
    // one write per chunk of the stream (an upstream read), however many events it holds; the filter is folded in
    // here because every stream layer costs per chunk, whatever it does
    Stream.mapChunks((chunk) => eventsOf(chunk, keep)),
    Stream.concat(last(done)),
    Stream.catchAll((error) => last(event(Errors.body(Errors.ofError(error)))))
  )
}

/** Options of {@link respond}. */
export interface Options {
  readonly heartbeat: Duration.Duration
  /** The response headers, read once the answer starts (so they may tell how the first chunk was routed). */
  readonly headers: Effect.Effect<Readonly<Record<string, string>>>
  /** Facts sent as comment lines before the last event, read when the stream ends (none when left out). */
  readonly trailer?: Effect.Effect<Readonly<Record<string, string>>> | undefined
  /** Which chunks become events (default: all). */
  readonly keep?: ((chunk: Chat.ChatCompletionChunk) => boolean) | undefined
  /**
   * Wraps the wait for the first chunk, which is when a routed stream opens and reports its route (default: as is).
   * What it provides is seen by the opening only, not by every later pull (`Stream.provideService` would re-provide
   * it on each one, at a cost per chunk).
   */
  readonly opening?: (<A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>) | undefined
}

const noFacts: Effect.Effect<Readonly<Record<string, string>>> = Effect.succeed({})

/**
 * The response for a chat stream: fails (for an error response) when the stream fails before its first chunk
 * within `heartbeat`, else an event stream.
 */
export const respond = (
  stream: Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>,
  options: Options
): Effect.Effect<HttpServerResponse.HttpServerResponse, LiterLlmError.LiterLlmError, Scope.Scope> =>
  Effect.gen(function* () {
    const pull = yield* Stream.toPull(stream)
    const rest = Stream.repeatEffectChunkOption(pull)
    const first = yield* Effect.forkScoped(
      options.opening === undefined ? firstChunk(pull) : options.opening(firstChunk(pull))
    )
    const startWith = (chunk: Chunk.Chunk<Chat.ChatCompletionChunk> | undefined) =>
      chunk === undefined ? Stream.empty : Stream.concat(Stream.fromChunk(chunk), rest)
    const early = yield* Effect.timeoutOption(Fiber.await(first), options.heartbeat)
    const trailer = options.trailer ?? noFacts
    const keep = options.keep ?? keepAll
    const body = Option.isSome(early)
      ? events(startWith(yield* early.value), trailer, keep)
      : Stream.concat(
          Stream.fromSchedule(Schedule.spaced(options.heartbeat)).pipe(
            Stream.as(ping),
            Stream.prepend(Chunk.of(ping)),
            Stream.interruptWhen(Fiber.await(first))
          ),
          events(Stream.unwrap(Effect.map(Fiber.join(first), startWith)), trailer, keep)
        )
    const headers = yield* options.headers
    return HttpServerResponse.stream(body, {
      status: 200,
      contentType: "text/event-stream",
      headers: { ...headers, "cache-control": "no-cache", "x-accel-buffering": "no" }
    })
  })
