/**
 * Splits the body of `streamGenerateContent?alt=sse` into events, where Gemini's streams depart from the SSE rules.
 *
 * Recorded Gemini and Vertex AI streams show two departures, and the SSE rules would hide both:
 * - an error after some data events comes as bare JSON (a line starting with `{`, pretty-printed over many lines,
 *   without `data:`), which SSE ignores line by line, so the stream would end as a success;
 * - the last event may lack its blank line (the body ends right after `data: {…}`), which SSE discards, losing e.g.
 *   the `promptFeedback.blockReason` of a blocked prompt.
 *
 * So a line starting with `{` or `[` starts a bare JSON value, delivered as an event named {@link bareJson} as soon
 * as its brackets balance (not when the body ends: the server may keep it open), and an event still open when the
 * body ends is delivered, named {@link unterminated}. Everything else goes through the ordinary SSE parser.
 */
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as LiterLlmError from "../../LiterLlmError.js"
import * as Sse from "../sse.js"

/**
 * The event name of a bare JSON value found between events.
 *
 * @since 0.1.0
 * @category frames
 */
export const bareJson = "gemini:bare-json"

/**
 * The event name of an event the body ended inside (no blank line after it), or a bare JSON value left unbalanced.
 *
 * @since 0.1.0
 * @category frames
 */
export const unterminated = "gemini:unterminated"

const streaming: TextDecodeOptions = { stream: true }

const isOpening = (code: number): boolean => code === 123 || code === 91 // { [

/** The first offset at or after `from` where a line starts with `{` or `[`, or -1. */
const nextBareStart = (text: string, from: number, atLineStart: boolean): number => {
  if (atLineStart && from < text.length && isOpening(text.charCodeAt(from))) return from
  let best = -1
  for (const needle of ["\n{", "\r{", "\n[", "\r["]) {
    const at = text.indexOf(needle, from)
    if (at !== -1 && (best === -1 || at + 1 < best)) best = at + 1
  }
  return best
}

const isLineEnd = (code: number): boolean => code === 10 || code === 13

/**
 * Per-body state: feed it byte chunks, collect the events each returns.
 *
 * @since 0.1.0
 * @category frames
 */
export class Framer {
  private readonly decoder = new TextDecoder()
  private readonly parser: Sse.Parser
  private readonly maxEventSize: number
  private readonly provider: string | undefined
  private out: Array<Sse.Event> = []
  /** Set while the parser is flushed at the end, so what it dispatches then is marked unterminated. */
  private ending = false
  private atLineStart = true
  /** The bare JSON value being read, if any, and where its brackets stand. */
  private json: Array<string> | undefined = undefined
  private jsonSize = 0
  private depth = 0
  private inString = false
  private escaped = false

  constructor(options: Sse.Options = {}) {
    this.maxEventSize = options.maxEventSize ?? Sse.defaultMaxEventSize
    this.provider = options.provider
    this.parser = new Sse.Parser(
      (event) => this.out.push(this.ending ? { ...event, event: unterminated } : event),
      options
    )
  }

  /** The events completed by one chunk of bytes, or the error of an event over the size cap. */
  feed(bytes: Uint8Array): Either.Either<ReadonlyArray<Sse.Event>, LiterLlmError.Streaming> {
    const error = this.text(this.decoder.decode(bytes, streaming))
    return error === undefined ? Either.right(this.take()) : Either.left(error)
  }

  /** The events left when the body ends: an open event, or an unbalanced bare value, marked {@link unterminated}. */
  end(): Either.Either<ReadonlyArray<Sse.Event>, LiterLlmError.Streaming> {
    const error = this.text(this.decoder.decode())
    if (error !== undefined) return Either.left(error)
    if (this.json !== undefined) {
      this.out.push({ event: unterminated, data: this.json.join(""), id: undefined, retry: undefined })
      this.json = undefined
    } else {
      // Two line ends complete the last line (even after a lone `\r`) and then the event.
      this.ending = true
      const flushed = this.parser.feedText("\n\n") ?? this.parser.end()
      if (flushed !== undefined) return Either.left(flushed)
    }
    return Either.right(this.take())
  }

  private take(): ReadonlyArray<Sse.Event> {
    const events = this.out
    this.out = []
    return events
  }

  private text(text: string): LiterLlmError.Streaming | undefined {
    let pos = 0
    while (pos < text.length) {
      if (this.json !== undefined) {
        pos = this.scanJson(text, pos)
        if (this.jsonSize > this.maxEventSize) return this.tooLarge()
        continue
      }
      const start = nextBareStart(text, pos, this.atLineStart)
      const upTo = start === -1 ? text.length : start
      if (upTo > pos) {
        const error = this.parser.feedText(text.slice(pos, upTo))
        if (error !== undefined) return error
        this.atLineStart = isLineEnd(text.charCodeAt(upTo - 1))
      }
      if (start === -1) return undefined
      // An event left open before the bare value is complete now: two line ends dispatch it.
      const error = this.parser.feedText("\n\n")
      if (error !== undefined) return error
      this.json = []
      this.jsonSize = 0
      this.depth = 0
      this.inString = false
      this.escaped = false
      pos = start
    }
    return undefined
  }

  /** Reads the bare value from `from`; returns where reading stopped (after its last bracket, or the text's end). */
  private scanJson(text: string, from: number): number {
    let i = from
    for (; i < text.length; i++) {
      const code = text.charCodeAt(i)
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (code === 92) this.escaped = true
        else if (code === 34) this.inString = false
      } else if (code === 34) this.inString = true
      else if (isOpening(code)) this.depth++
      else if (code === 125 || code === 93) {
        this.depth--
        if (this.depth === 0) {
          this.json!.push(text.slice(from, i + 1))
          this.out.push({ event: bareJson, data: this.json!.join(""), id: undefined, retry: undefined })
          this.json = undefined
          this.atLineStart = false
          return i + 1
        }
      }
    }
    this.json!.push(text.slice(from))
    this.jsonSize += text.length - from
    return i
  }

  private tooLarge(): LiterLlmError.Streaming {
    this.json = undefined
    return new LiterLlmError.Streaming({
      provider: this.provider,
      message: `a bare JSON value in the stream from ${
        this.provider === undefined ? "the provider" : `provider "${this.provider}"`
      } exceeded ${this.maxEventSize} characters; the stream was stopped to bound memory (raise maxEventSize if this is expected)`
    })
  }
}

/**
 * Turns a Gemini stream's bytes into events, by the rules above; same shape as `Sse.decode`, so `Http.sse` takes it.
 *
 * @since 0.1.0
 * @category frames
 */
export const decode =
  (options?: Sse.Options) =>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Sse.Event, E | LiterLlmError.Streaming, R> =>
    Stream.suspend(() => {
      const framer = new Framer(options)
      return self.pipe(
        Stream.mapEffect((bytes) => framer.feed(bytes)),
        Stream.concat(Stream.suspend(() => Stream.fromEffect(framer.end()))),
        Stream.flattenIterables
      )
    })
