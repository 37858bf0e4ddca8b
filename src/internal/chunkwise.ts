/**
 * Decoding a provider's stream of events one upstream read at a time.
 *
 * Every layer of an Effect `Stream` costs something per chunk, whatever it does, and `Stream.mapEffect` hands on one
 * element per chunk, so a per-event decoder makes every layer above it (router, middleware, the gateway's writer)
 * pay per event. Here the events of a read are decoded together and handed on as one chunk.
 *
 * The decoder's answers keep their order and failures stay where they were: the events before a bad one in the same
 * read are delivered, then the stream fails at once — not at the upstream's next read, which may never come when a
 * provider reports an error and keeps the body open. It is a channel (one step per read, like `Sse.decode`) because
 * no `Stream` combinator hands on a chunk and fails in the same step.
 */
import type * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import type * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** What {@link decode} does with each element, and after the last one. */
export interface Options<A, B, E2, E3> {
  /** Appends what `element` stands for (any number of outputs) to `out`, or returns the failure it stands for. */
  readonly step: (element: A, out: Array<B>) => Effect.Effect<never, E2> | undefined
  /** What follows the last element (e.g. a translator's closing chunks, or a failure when the stream stopped early). */
  readonly end: () => Effect.Effect<Iterable<B>, E3>
}

const decoder = <A, B, E, E2, E3>(
  options: Options<A, B, E2, E3>
): Channel.Channel<Chunk.Chunk<B>, Chunk.Chunk<A>, E | E2 | E3, E, unknown, unknown> => {
  const loop: Channel.Channel<Chunk.Chunk<B>, Chunk.Chunk<A>, E | E2 | E3, E, unknown, unknown> = Channel.readWithCause(
    {
      onInput: (elements: Chunk.Chunk<A>) => {
        const out: Array<B> = []
        let failure: Effect.Effect<never, E2> | undefined
        for (const element of elements) {
          failure = options.step(element, out)
          if (failure !== undefined) break
        }
        const next = failure === undefined ? loop : Channel.fromEffect(failure)
        return out.length === 0 ? next : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), next)
      },
      onFailure: (cause: Cause.Cause<E>) => Channel.failCause(cause),
      onDone: () =>
        Channel.flatMap(Channel.fromEffect(options.end()), (items) => Channel.write(Chunk.fromIterable(items)))
    }
  )
  return loop
}

/**
 * Decodes `self` a chunk (an upstream read) at a time with `options.step`, then `options.end`; after a failure
 * nothing more is read or decoded.
 */
export const decode =
  <A, B, E2, E3>(options: Options<A, B, E2, E3>) =>
  <E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<B, E | E2 | E3, R> =>
    Stream.pipeThroughChannelOrFail(self, decoder<A, B, E, E2, E3>(options))
