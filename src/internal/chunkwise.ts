/**
 * Decoding a provider's stream of events one upstream read at a time.
 *
 * Every layer of an Effect `Stream` costs something per chunk, whatever it does, and `Stream.mapEffect` hands on one
 * element per chunk, so a per-event decoder makes every layer above it (router, middleware, the gateway's writer)
 * pay per event. Here the events of a read are decoded together and handed on as one chunk.
 *
 * The decoder's answers keep their order and their failures stay where they were: the events before a bad one in the
 * same read are delivered, and its failure is raised when the upstream's next read or its end comes (a stream layer
 * cannot hand on a chunk and fail in one step; providers close the stream after an error, and an idle timeout bounds
 * one that does not). A bad event that is first in its read fails at once.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/**
 * Decodes `self` a chunk at a time: `step(element, out)` appends what one element stands for (any number of outputs)
 * to `out`, or returns the failure it stands for; `end` gives what follows the last element (e.g. a translator's
 * closing chunks, or a failure when the stream stopped early). After a failure nothing more is decoded.
 */
export const decode =
  <A, B, E2, E3>(options: {
    readonly step: (element: A, out: Array<B>) => Effect.Effect<never, E2> | undefined
    readonly end: () => Effect.Effect<Iterable<B>, E3>
  }) =>
  <E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<B, E | E2 | E3, R> =>
    Stream.suspend(() => {
      let failed: Effect.Effect<never, E2> | undefined
      return self.pipe(
        Stream.mapChunksEffect((elements) => {
          if (failed !== undefined) return failed
          const out: Array<B> = []
          for (const element of elements) {
            const failure = options.step(element, out)
            if (failure === undefined) continue
            if (out.length === 0) return failure
            failed = failure
            break
          }
          return Effect.succeed(Chunk.unsafeFromArray(out))
        }),
        Stream.concat(
          Stream.suspend((): Stream.Stream<B, E2 | E3> =>
            failed !== undefined ? Stream.fromEffect(failed) : Stream.fromIterableEffect(options.end())
          )
        )
      )
    })
