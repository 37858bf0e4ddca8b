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
 * Its Effect side (`decode`, `parseAll`) is sse.ts.
 *
 * @since 0.1.0
 */
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

const streaming: TextDecodeOptions = { stream: true }
const LF = 10
const CR = 13
const COLON = 58
const SPACE = 32

/**
 * An incremental parser: feed it byte chunks, it calls `onEvent` for each complete event. Plain and synchronous so
 * that the hot loop carries no Effect overhead; `decode` (sse.ts) wraps it as a stream transformer.
 *
 * @since 0.1.0
 * @category constructors
 */
export class Parser {
  private readonly decoder = new TextDecoder()
  private readonly maxEventSize: number
  private readonly provider: string | undefined
  private first = true
  /** The previous chunk ended with CR, so a LF starting the next one belongs to the same line break. */
  private pendingCR = false
  /** Pieces of a line not yet terminated; joined once when its end arrives, so a long line is not copied often. */
  private partial: Array<string> = []
  private partialSize = 0
  private eventType = ""
  private data = ""
  private dataLines = 0
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
    return this.feedText(this.decoder.decode(bytes, streaming))
  }

  /** Flushes the decoder at the end of the stream. A trailing incomplete event is discarded, per spec. */
  end(): LiterLlmError.Streaming | undefined {
    const rest = this.decoder.decode()
    const error = rest.length > 0 ? this.feedText(rest) : undefined
    this.reset()
    return error
  }

  /** Feeds already decoded text. */
  feedText(input: string): LiterLlmError.Streaming | undefined {
    let text = input
    let pos = 0
    if (this.first && text.length > 0) {
      this.first = false
      if (text.charCodeAt(0) === 0xfeff) pos = 1
    }
    if (this.pendingCR && text.length > 0) {
      this.pendingCR = false
      if (text.charCodeAt(pos) === LF) pos++
    }
    if (this.partial.length > 0) {
      if (text.indexOf("\n", pos) === -1 && text.indexOf("\r", pos) === -1) return this.keep(text, pos)
      this.partial.push(pos === 0 ? text : text.slice(pos))
      text = this.partial.join("")
      this.partial = []
      this.partialSize = 0
      pos = 0
    }
    const length = text.length
    if (text.indexOf("\r", pos) === -1) {
      // The common case: LF-only line ends.
      let lf = text.indexOf("\n", pos)
      while (lf !== -1) {
        // A one-line data event ("data: …\n\n") is dispatched straight away, skipping the blank-line round.
        if (this.dataLines === 0 && text.charCodeAt(lf + 1) === LF && isDataLine(text, pos, lf)) {
          const error = this.appendData(text.slice(text.charCodeAt(pos + 5) === SPACE ? pos + 6 : pos + 5, lf))
          if (error !== undefined) return error
          this.dispatch()
          pos = lf + 2
          lf = text.indexOf("\n", pos)
          continue
        }
        const error = this.line(text, pos, lf)
        if (error !== undefined) return error
        pos = lf + 1
        lf = text.indexOf("\n", pos)
      }
      return pos < length ? this.keep(text, pos) : undefined
    }
    // Mixed line ends. The next CR and LF positions are cached: searching again for an absent one on every line
    // would make a chunk with many lines quadratic.
    let nextLF = text.indexOf("\n", pos)
    let nextCR = text.indexOf("\r", pos)
    while (pos < length) {
      if (nextLF !== -1 && nextLF < pos) nextLF = text.indexOf("\n", pos)
      if (nextCR !== -1 && nextCR < pos) nextCR = text.indexOf("\r", pos)
      const end = nextLF === -1 ? nextCR : nextCR === -1 ? nextLF : Math.min(nextLF, nextCR)
      if (end === -1) return this.keep(text, pos)
      const error = this.line(text, pos, end)
      if (error !== undefined) return error
      if (text.charCodeAt(end) === CR) {
        if (end + 1 === length) this.pendingCR = true
        pos = text.charCodeAt(end + 1) === LF ? end + 2 : end + 1
      } else {
        pos = end + 1
      }
    }
    return undefined
  }

  /** Keeps the unterminated rest of a chunk for later. */
  private keep(text: string, from: number): LiterLlmError.Streaming | undefined {
    const piece = from === 0 ? text : text.slice(from)
    this.partial.push(piece)
    this.partialSize += piece.length
    return this.partialSize + this.data.length > this.maxEventSize ? this.tooLarge() : undefined
  }

  /** Interprets the line `text[start, end)` without copying it first. */
  private line(text: string, start: number, end: number): LiterLlmError.Streaming | undefined {
    if (start === end) {
      this.dispatch()
      return undefined
    }
    const c0 = text.charCodeAt(start)
    if (c0 === COLON) return undefined
    // Fast path for the line that dominates LLM streams: "data:".
    if (isDataLine(text, start, end)) {
      return this.appendData(text.slice(text.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5, end))
    }
    let colon = text.indexOf(":", start)
    if (colon >= end) colon = -1
    const field = text.slice(start, colon === -1 ? end : colon)
    const value =
      colon === -1
        ? ""
        : text.slice(colon + 1 < end && text.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1, end)
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
    this.data = this.dataLines === 0 ? value : `${this.data}\n${value}`
    this.dataLines++
    return this.data.length > this.maxEventSize ? this.tooLarge() : undefined
  }

  private dispatch(): void {
    if (this.dataLines === 0) {
      this.eventType = ""
      this.retry = undefined
      return
    }
    const event: Event = {
      event: this.eventType === "" ? "message" : this.eventType,
      data: this.data,
      id: this.lastId,
      retry: this.retry
    }
    this.data = ""
    this.dataLines = 0
    this.eventType = ""
    this.retry = undefined
    this.onEvent(event)
  }

  private reset(): void {
    this.partial = []
    this.partialSize = 0
    this.data = ""
    this.dataLines = 0
    this.eventType = ""
    this.retry = undefined
  }

  private tooLarge(): LiterLlmError.Streaming {
    this.reset()
    return new LiterLlmError.Streaming({
      provider: this.provider,
      message: `a server-sent event from ${
        this.provider === undefined ? "the provider" : `provider "${this.provider}"`
      } exceeded ${this.maxEventSize} characters; the stream was stopped to bound memory (raise maxEventSize if this is expected)`
    })
  }
}

/** Whether `text[start, end)` starts with "data:". */
const isDataLine = (text: string, start: number, end: number): boolean =>
  start + 4 < end &&
  text.charCodeAt(start) === 100 &&
  text.charCodeAt(start + 1) === 97 &&
  text.charCodeAt(start + 2) === 116 &&
  text.charCodeAt(start + 3) === 97 &&
  text.charCodeAt(start + 4) === COLON

const isDigits = (s: string): boolean => {
  if (s.length === 0) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}
