/**
 * A stream in flight, shared by its readers: one fiber reads the upstream stream into a `PubSub` that replays every
 * message to each new subscriber, so a reader joining late still gets every chunk from the first, at its own pace.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as Take from "effect/Take"
import type * as Chat from "../../Chat.js"
import type * as LiterLlmError from "../../LiterLlmError.js"

/** Every chunk a shared stream delivered, and its end. */
export type Broadcast = PubSub.PubSub<Take.Take<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>>

/**
 * A fresh {@link Broadcast}, and the effect that reads `upstream` into it (the flight runs it on a fiber of its own).
 * `completed` gets every chunk once the upstream has ended well, before any reader sees that end (so a reader who has
 * read to the end will hit).
 */
export const make = (
  upstream: Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>,
  completed: (chunks: ReadonlyArray<Chat.ChatCompletionChunk>) => Effect.Effect<void>
): Effect.Effect<readonly [Broadcast, Effect.Effect<void>]> =>
  Effect.zipWith(
    PubSub.unbounded<Take.Take<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>>({
      replay: Number.POSITIVE_INFINITY
    }),
    Ref.make(Chunk.empty<Chat.ChatCompletionChunk>()),
    (broadcast, recorded) =>
      [
        broadcast,
        upstream.pipe(
          Stream.runForEachChunk((chunk) =>
            Effect.zipRight(Ref.update(recorded, Chunk.appendAll(chunk)), PubSub.publish(broadcast, Take.chunk(chunk)))
          ),
          Effect.zipRight(Effect.flatMap(Ref.get(recorded), (chunks) => completed(Chunk.toReadonlyArray(chunks)))),
          Effect.exit,
          Effect.flatMap((exit) =>
            PubSub.publish(broadcast, Exit.isSuccess(exit) ? Take.end : Take.failCause(exit.cause))
          ),
          Effect.asVoid
        )
      ] as const
  )

/** One reader's view of a broadcast: every chunk from the first, then its end or failure. */
export const subscribe = (broadcast: Broadcast): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError> =>
  Stream.flattenTake(Stream.fromPubSub(broadcast))
