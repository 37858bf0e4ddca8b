/**
 * How middleware settles a stream. Budget, rate limit, hooks and telemetry all hold something for a streamed call
 * (a reservation, a slot, a span) and must give it back exactly once, knowing how the stream ended and what it
 * delivered — whether it completed, failed, or was interrupted or abandoned by its consumer.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import { assemble, lastUsage } from "../assemble.js"

/**
 * How a stream ended, with the chunks that came from below. `Interrupted` covers every end that is neither a
 * completion nor a typed failure: an interrupted consumer, one that stopped pulling early, or a defect.
 */
export type Outcome<E> =
  | { readonly _tag: "Completed"; readonly chunks: Chunk.Chunk<Chat.ChatCompletionChunk> }
  | { readonly _tag: "Failed"; readonly error: E; readonly chunks: Chunk.Chunk<Chat.ChatCompletionChunk> }
  | { readonly _tag: "Interrupted"; readonly chunks: Chunk.Chunk<Chat.ChatCompletionChunk> }

type End<E> = { readonly _tag: "Completed" } | { readonly _tag: "Failed"; readonly error: E } | { _tag: "Interrupted" }

/** The usage a stream reported (normally on its last chunk), if any arrived. */
export const usageOf = <E>(outcome: Outcome<E>): Chat.Usage | undefined => lastUsage(outcome.chunks)

/** The response the delivered chunks amount to. */
export const assembled = <E>(outcome: Outcome<E>): Chat.ChatCompletionResponse => assemble(outcome.chunks)

/**
 * Acquires a resource when the stream starts (uninterruptibly, so what is acquired is always released: wrap a wait
 * in `Effect.interruptible` inside `acquire`), runs `use(resource)`, and calls `release(resource, outcome)` once when
 * the stream ends. State is per run: a stream value run twice settles twice.
 */
export const settle = <T, E1, R1, E, R, R2>(
  acquire: Effect.Effect<T, E1, R1>,
  use: (resource: T) => Stream.Stream<Chat.ChatCompletionChunk, E, R>,
  release: (resource: T, outcome: Outcome<E>) => Effect.Effect<void, never, R2>,
  /** Also run on each chunk from below, in the same step that records it (a stream layer costs per chunk). */
  each?: (resource: T, chunk: Chunk.Chunk<Chat.ChatCompletionChunk>) => Effect.Effect<void>
): Stream.Stream<Chat.ChatCompletionChunk, E | E1, R | R1 | R2> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const chunks = yield* Ref.make(Chunk.empty<Chat.ChatCompletionChunk>())
      const end = yield* Ref.make<End<E>>({ _tag: "Interrupted" })
      const resource = yield* Effect.acquireRelease(acquire, (resource) =>
        Effect.flatMap(Effect.zip(Ref.get(end), Ref.get(chunks)), ([end, chunks]) =>
          release(resource, { ...end, chunks })
        )
      )
      return use(resource).pipe(
        Stream.mapChunksEffect((chunk) => {
          const recorded = Ref.update(chunks, Chunk.appendAll(chunk))
          return Effect.as(each === undefined ? recorded : Effect.zipRight(recorded, each(resource, chunk)), chunk)
        }),
        Stream.tapErrorCause((cause) =>
          Option.match(Cause.failureOption(cause), {
            onNone: () => Effect.void,
            onSome: (error) => Ref.set(end, { _tag: "Failed", error })
          })
        ),
        Stream.onEnd(Ref.set(end, { _tag: "Completed" }))
      )
    })
  )
