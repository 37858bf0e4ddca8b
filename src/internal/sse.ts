/**
 * A server-sent-events parser following the WHATWG "event stream interpretation" rules, used by every streaming
 * provider.
 *
 * It is built for long LLM streams: bytes are decoded once per network chunk (a streaming `TextDecoder`, so a UTF-8
 * character split across chunks survives), lines are found with `indexOf` (never a regex, never per-byte string
 * concatenation), and one event may not grow beyond `maxEventSize` characters, so a misbehaving upstream cannot make
 * us buffer without bound. Memory is bounded by one chunk plus one event.
 *
 * Decisions where the spec leaves room or where LLM streams differ from browsers:
 * - An event is dispatched only when it has `data`; `event:`/`id:`-only blocks are dropped, as the spec says.
 * - `retry:` is reported on the event it arrives with (browsers apply it to reconnection; we never reconnect).
 * - `id` is the last event id seen so far, as in the spec, `undefined` until one arrives.
 * - An event cut off by the end of the stream is discarded (spec); whether that is an error is the caller's call.
 *
 * @since 0.1.0
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import type * as Cause from "effect/Cause"
import * as Stream from "effect/Stream"
import * as LiterLlmError from "../LiterLlmError.js"

/**
 * One dispatched server-sent event.
 *
 * @since 0.1.0
 * @category models
 */
export interface Event {
  /** The `event:` field, `"message"` when the event had none. */
  readonly event: string
  /** The `data:` lines of the event, joined with `\n`. */
  readonly data: string
  /** The last event id seen in the stream, if any. */
  readonly id: string | undefined
  /** The `retry:` field of this event, in milliseconds, if it had a valid one. */
  readonly retry: number | undefined
}

/**
 * Options of the parser.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The largest event accepted, in characters (about bytes for ASCII JSON). Default 1 MiB. */
  readonly maxEventSize?: number | undefined
  /** Named in the error when the limit is passed. */
  readonly provider?: string | undefined
}

/**
 * The default cap on one event: 1 MiB.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxEventSize = 1024 * 1024

const LF = 10
const CR = 13
const COLON = 58
const SPACE = 32

/**
 * An incremental parser: feed it byte chunks, it calls `onEvent` for each complete event. Plain and synchronous so
 * that the hot loop carries no Effect overhead; {@link decode} wraps it as a stream transformer.
 *
 * @since 0.1.0
 * @category constructors
 */
export class Parser {
  private readonly decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true })
  private readonly maxEventSize: number
  private readonly provider: string | undefined
  private first = true
  /** The previous chunk ended with CR, so a LF starting the next one belongs to the same line break. */
  private pendingCR = false
  /** Pieces of a line not yet terminated; kept as pieces so a long line costs one join, not many copies. */
  private partial: Array<string> = []
  private partialSize = 0
  private eventType = ""
  private data: Array<string> = []
  private dataSize = 0
  private lastId: string | undefined = undefined
  private retry: number | undefined = undefined

  constructor(
    private readonly onEvent: (event: Event) => void,
    options: Options = {}
  ) {
    this.maxEventSize = options.maxEventSize ?? defaultMaxEventSize
    this.provider = options.provider
  }

  /** Feeds one chunk of bytes; returns an error (and stops being usable) when an event passes the size cap. */
  feed(bytes: Uint8Array): LiterLlmError.Streaming | undefined {
    return this.feedText(this.decoder.decode(bytes, { stream: true }))
  }

  /** Flushes the decoder at the end of the stream. A trailing incomplete event is discarded, per spec. */
  end(): LiterLlmError.Streaming | undefined {
    const rest = this.decoder.decode()
    const error = rest.length > 0 ? this.feedText(rest) : undefined
    this.partial = []
    this.partialSize = 0
    this.data = []
    this.dataSize = 0
    return error
  }

  /** Feeds already decoded text. */
  feedText(text: string): LiterLlmError.Streaming | undefined {
    let pos = 0
    const length = text.length
    if (this.first && length > 0) {
      this.first = false
      if (text.charCodeAt(0) === 0xfeff) pos = 1
    }
    if (this.pendingCR && pos < length) {
      this.pendingCR = false
      if (text.charCodeAt(pos) === LF) pos++
    }
    // Positions of the next CR and LF are cached: re-searching for an absent CR on every line would make a
    // chunk with many lines quadratic.
    let nextLF = text.indexOf("\n", pos)
    let nextCR = text.indexOf("\r", pos)
    while (pos < length) {
      if (nextLF !== -1 && nextLF < pos) nextLF = text.indexOf("\n", pos)
      if (nextCR !== -1 && nextCR < pos) nextCR = text.indexOf("\r", pos)
      const end = nextLF === -1 ? nextCR : nextCR === -1 ? nextLF : Math.min(nextLF, nextCR)
      if (end === -1) {
        const piece = pos === 0 ? text : text.slice(pos)
        this.partial.push(piece)
        this.partialSize += piece.length
        if (this.partialSize + this.dataSize > this.maxEventSize) return this.tooLarge()
        return undefined
      }
      let line = text.slice(pos, end)
      if (this.partial.length > 0) {
        this.partial.push(line)
        line = this.partial.join("")
        this.partial = []
        this.partialSize = 0
      }
      if (text.charCodeAt(end) === CR) {
        if (end + 1 < length) {
          pos = text.charCodeAt(end + 1) === LF ? end + 2 : end + 1
        } else {
          pos = end + 1
          this.pendingCR = true
        }
      } else {
        pos = end + 1
      }
      const error = this.line(line)
      if (error !== undefined) return error
    }
    return undefined
  }

  private line(line: string): LiterLlmError.Streaming | undefined {
    if (line.length === 0) {
      this.dispatch()
      return undefined
    }
    const c0 = line.charCodeAt(0)
    if (c0 === COLON) return undefined
    // Fast path for the line that dominates LLM streams.
    if (c0 === 100 && line.startsWith("data:")) {
      return this.appendData(line.charCodeAt(5) === SPACE ? line.slice(6) : line.slice(5))
    }
    const colon = line.indexOf(":")
    let field: string
    let value: string
    if (colon === -1) {
      field = line
      value = ""
    } else {
      field = line.slice(0, colon)
      value = line.slice(line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1)
    }
    switch (field) {
      case "data":
        return this.appendData(value)
      case "event":
        this.eventType = value
        return undefined
      case "id":
        if (value.indexOf("\0") === -1) this.lastId = value
        return undefined
      case "retry":
        if (isDigits(value)) this.retry = Number(value)
        return undefined
      default:
        return undefined
    }
  }

  private appendData(value: string): LiterLlmError.Streaming | undefined {
    this.data.push(value)
    this.dataSize += value.length + 1
    if (this.dataSize > this.maxEventSize) return this.tooLarge()
    return undefined
  }

  private dispatch(): void {
    if (this.data.length === 0) {
      this.eventType = ""
      this.retry = undefined
      return
    }
    const data = this.data.length === 1 ? this.data[0]! : this.data.join("\n")
    const event: Event = {
      event: this.eventType === "" ? "message" : this.eventType,
      data,
      id: this.lastId,
      retry: this.retry
    }
    this.data = []
    this.dataSize = 0
    this.eventType = ""
    this.retry = undefined
    this.onEvent(event)
  }

  private tooLarge(): LiterLlmError.Streaming {
    this.partial = []
    this.partialSize = 0
    this.data = []
    this.dataSize = 0
    return new LiterLlmError.Streaming({
      provider: this.provider,
      message: `a server-sent event from ${
        this.provider === undefined ? "the provider" : `provider "${this.provider}"`
      } exceeded ${this.maxEventSize} characters; the stream was stopped to bound memory (raise maxEventSize if this is expected)`
    })
  }
}

const isDigits = (s: string): boolean => {
  if (s.length === 0) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

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
