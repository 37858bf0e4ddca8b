/**
 * Stream accounting for middleware. Budget, rate limit, hooks, cache and telemetry all need to know how a streamed
 * completion ended and what it amounted to; this runs a finaliser exactly once with that outcome, whether the stream
 * completed, failed, or was interrupted (including a consumer that stopped pulling early).
 *
 * The finaliser runs when the stream's scope closes, uninterruptibly, so it is the right place to settle a
 * reservation. It cannot change the stream's result: to fail a stream after its last chunk (a response guardrail),
 * append an effect to the stream instead.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import { Assembler } from "../assemble.js"

/** What the stream delivered so far: the chunks folded into one response, and the usage reported, if any. */
export interface Progress {
  /** The response assembled from the chunks delivered so far (computed on demand). */
  readonly assembled: () => Chat.ChatCompletionResponse
  /** The usage reported by the stream (normally on its last chunk); `undefined` if none arrived. */
  readonly usage: Chat.Usage | undefined
  /** How many chunks arrived from the service below (the consumer may have taken fewer). */
  readonly chunks: number
}

/**
 * How a stream ended. `Interrupted` covers every end that is neither a completion nor a typed failure: the consumer
 * was interrupted, stopped pulling early (e.g. `Stream.take`), or the stream died with a defect.
 */
export type Outcome<E> =
  | ({ readonly _tag: "Completed" } & Progress)
  | ({ readonly _tag: "Failed"; readonly error: E } & Progress)
  | ({ readonly _tag: "Interrupted" } & Progress)

/**
 * Acquires a resource when the stream starts, runs `use(resource)`, and calls `release(resource, outcome)` once
 * when it ends. Acquisition and registration of the release are atomic (as with `Effect.acquireRelease`), so an
 * interruption can never leak an acquired resource.
 */
export const accountStream = <A, E2, R2, E, R, R3>(
  acquire: Effect.Effect<A, E2, R2>,
  use: (resource: A) => Stream.Stream<Chat.ChatCompletionChunk, E, R>,
  release: (resource: A, outcome: Outcome<E>) => Effect.Effect<void, never, R3>
): Stream.Stream<Chat.ChatCompletionChunk, E | E2, R | R2 | R3> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      // Per-run state, owned by this one stream run: written by the stream's own fiber, read by its finaliser.
      const assembler = new Assembler()
      let ended: { readonly _tag: "Completed" } | { readonly _tag: "Failed"; readonly error: E } | undefined
      const progress = (): Progress => ({
        assembled: () => assembler.result(),
        usage: assembler.reportedUsage,
        chunks: assembler.count
      })
      const resource = yield* Effect.acquireRelease(acquire, (resource) =>
        Effect.suspend(() => {
          const now = progress()
          const outcome: Outcome<E> =
            ended === undefined
              ? { _tag: "Interrupted", ...now }
              : ended._tag === "Completed"
                ? { _tag: "Completed", ...now }
                : { _tag: "Failed", error: ended.error, ...now }
          return release(resource, outcome)
        })
      )
      return use(resource).pipe(
        Stream.mapChunks((chunk) => {
          for (const c of chunk) assembler.push(c)
          return chunk
        }),
        Stream.tapErrorCause((cause) =>
          Effect.sync(() => {
            const failure = Cause.failureOption(cause)
            if (Option.isSome(failure)) ended = { _tag: "Failed", error: failure.value }
          })
        ),
        Stream.onEnd(
          Effect.sync(() => {
            ended = { _tag: "Completed" }
          })
        )
      )
    })
  )

/** Runs `finaliser` with the outcome of `stream` once it ends. */
export const onStreamEnd = <E, R, R2>(
  stream: Stream.Stream<Chat.ChatCompletionChunk, E, R>,
  finaliser: (outcome: Outcome<E>) => Effect.Effect<void, never, R2>
): Stream.Stream<Chat.ChatCompletionChunk, E, R | R2> =>
  accountStream(
    Effect.void,
    () => stream,
    (_, outcome) => finaliser(outcome)
  )
