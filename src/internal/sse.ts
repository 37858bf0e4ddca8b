/**
 * Server-sent events for Effect: {@link decode} turns a stream of bytes into the events it carries, {@link parseAll}
 * parses bytes at hand. Both run the synchronous `Parser` of sseParser.ts, where the parsing rules and their
 * decisions are written down.
 *
 * The parser's names are re-exported here, so that the providers and tests keep one namespace (`Sse.Event`,
 * `Sse.decode`, `Sse.Parser`) for server-sent events, whichever file defines them.
 *
 * @since 0.1.0
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import type * as Cause from "effect/Cause"
import * as Stream from "effect/Stream"
import type * as LiterLlmError from "../LiterLlmError.js"
import { type Event, type Options, Parser } from "./sseParser.js"

/**
 * The parser and its models, defined in sseParser.ts.
 *
 * @since 0.1.0
 */
export { defaultMaxEventSize, type Event, type Options, Parser } from "./sseParser.js"

/**
 * Parses a whole text at once (tests, fixtures). Fails with the size error when an event is too large.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseAll = (
  chunks: Iterable<Uint8Array>,
  options?: Options
): { readonly events: ReadonlyArray<Event>; readonly error: LiterLlmError.Streaming | undefined } => {
  const events: Array<Event> = []
  const parser = new Parser((event) => events.push(event), options)
  for (const chunk of chunks) {
    const error = parser.feed(chunk)
    if (error !== undefined) return { events, error }
  }
  return { events, error: parser.end() }
}

const parserChannel = <E>(
  options: Options | undefined
): Channel.Channel<Chunk.Chunk<Event>, Chunk.Chunk<Uint8Array>, E | LiterLlmError.Streaming, E, void, unknown> =>
  Channel.suspend(() => {
    let out: Array<Event> = []
    const parser = new Parser((event) => out.push(event), options)
    const flush = () => {
      const events = out
      out = []
      return Chunk.unsafeFromArray(events)
    }
    const loop: Channel.Channel<
      Chunk.Chunk<Event>,
      Chunk.Chunk<Uint8Array>,
      E | LiterLlmError.Streaming,
      E,
      void,
      unknown
    > = Channel.readWithCause({
      onInput: (input: Chunk.Chunk<Uint8Array>) => {
        for (const bytes of input) {
          const error = parser.feed(bytes)
          if (error !== undefined) return Channel.fail(error)
        }
        return out.length === 0 ? loop : Channel.zipRight(Channel.write(flush()), loop)
      },
      onFailure: (cause: Cause.Cause<E>) => Channel.failCause(cause),
      onDone: () => {
        const error = parser.end()
        if (error !== undefined) return Channel.fail(error)
        return out.length === 0 ? Channel.void : Channel.write(flush())
      }
    })
    return loop
  })

/**
 * Turns a stream of bytes into the server-sent events it carries. Fails with `LiterLlmError.Streaming` when one event
 * passes `maxEventSize`; failures of the byte stream pass through unchanged.
 *
 * @since 0.1.0
 * @category combinators
 */
export const decode =
  (options?: Options) =>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Event, E | LiterLlmError.Streaming, R> =>
    Stream.pipeThroughChannelOrFail(self, parserChannel<E>(options))
