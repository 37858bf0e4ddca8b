import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Stream from "effect/Stream"
import * as Sse from "../../src/internal/sse.js"

const encoder = new TextEncoder()
const bytes = (text: string) => encoder.encode(text)

const parse = (text: string, options?: Sse.Options) => Sse.parseAll([bytes(text)], options)

/** Splits `data` at the given cut points (sorted, deduplicated, in range). */
const splitAt = (data: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let start = 0
  for (const p of points) {
    out.push(data.subarray(start, p))
    start = p
  }
  out.push(data.subarray(start))
  return out
}

describe("Sse.Parser", () => {
  it("parses data events with the default type", () => {
    const { error, events } = parse('data: {"a":1}\n\ndata: two\n\n')
    expect(error).toBeUndefined()
    expect(events).toEqual([
      { event: "message", data: '{"a":1}', id: undefined, retry: undefined },
      { event: "message", data: "two", id: undefined, retry: undefined }
    ])
  })

  it("joins multi-line data with \\n and reads event, id and retry", () => {
    const { events } = parse("event: delta\nid: 7\nretry: 1500\ndata: line one\ndata:line two\ndata\n\n")
    expect(events).toEqual([{ event: "delta", data: "line one\nline two\n", id: "7", retry: 1500 }])
  })

  it("ignores comments, unknown fields, a bad retry and ids with NUL; keeps the last id", () => {
    const { events } = parse(": keep-alive\nfoo: bar\nretry: 12x\nid: 1\ndata: a\n\nid: x\0y\ndata: b\n\n")
    expect(events).toEqual([
      { event: "message", data: "a", id: "1", retry: undefined },
      { event: "message", data: "b", id: "1", retry: undefined }
    ])
  })

  it("does not dispatch events without data and resets the event type", () => {
    const { events } = parse("event: ping\n\ndata: x\n\n")
    expect(events).toEqual([{ event: "message", data: "x", id: undefined, retry: undefined }])
  })

  it("accepts CR, LF and CRLF line ends, and a field with only one leading space stripped", () => {
    const { events } = parse("data:  two spaces\r\rdata: b\r\n\r\ndata: c\n\n")
    expect(events.map((e) => e.data)).toEqual([" two spaces", "b", "c"])
  })

  it("treats a CRLF split across chunks as one line break", () => {
    const { events } = Sse.parseAll([bytes("data: a\r"), bytes("\ndata: b\r"), bytes("\n\r"), bytes("\n")])
    expect(events.map((e) => e.data)).toEqual(["a\nb"])
  })

  it("strips a leading BOM only at the start of the stream", () => {
    const { events } = Sse.parseAll([new Uint8Array([0xef, 0xbb]), new Uint8Array([0xbf]), bytes("data: a\n\n")])
    expect(events.map((e) => e.data)).toEqual(["a"])
    const later = parse("data: a\n\n\uFEFFdata: b\n\n")
    // a BOM later in the stream is part of the field name, so that line is an unknown field
    expect(later.events.map((e) => e.data)).toEqual(["a"])
  })

  it("decodes UTF-8 characters split across chunks", () => {
    const data = bytes("data: héllo 🌍 世界\n\n")
    const chunks = Array.from(data, (b) => new Uint8Array([b]))
    expect(Sse.parseAll(chunks).events.map((e) => e.data)).toEqual(["héllo 🌍 世界"])
  })

  it("discards an event cut off by the end of the stream", () => {
    expect(parse("data: a\n\ndata: b\n").events.map((e) => e.data)).toEqual(["a"])
  })

  it("fails with Streaming when an event passes the cap, within data lines or one long line", () => {
    const many = parse("data: 0123456789\n".repeat(20) + "\n", { maxEventSize: 100, provider: "acme" })
    expect(many.error?._tag).toBe("Streaming")
    expect(many.error?.message).toContain("acme")
    const longLine = Sse.parseAll(
      Array.from({ length: 50 }, () => bytes("x".repeat(10))),
      { maxEventSize: 100 }
    )
    expect(longLine.error?._tag).toBe("Streaming")
    const fits = parse(`data: ${"x".repeat(90)}\n\n`, { maxEventSize: 100 })
    expect(fits.error).toBeUndefined()
    expect(fits.events).toHaveLength(1)
  })

  it.prop(
    "random chunking of the same bytes gives the same events",
    {
      events: FastCheck.array(
        FastCheck.record({
          event: FastCheck.option(FastCheck.constantFrom("delta", "ping", "message_start"), { nil: undefined }),
          lines: FastCheck.array(
            FastCheck.string({ unit: "grapheme", maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, "")),
            {
              minLength: 1,
              maxLength: 3
            }
          ),
          eol: FastCheck.constantFrom("\n", "\r", "\r\n")
        }),
        { maxLength: 8 }
      ),
      cuts: FastCheck.array(FastCheck.nat(), { maxLength: 12 }),
      bom: FastCheck.boolean()
    },
    ({ bom, cuts, events }) => {
      const text =
        (bom ? "\uFEFF" : "") +
        events
          .map(
            (e) =>
              (e.event === undefined ? "" : `event: ${e.event}${e.eol}`) +
              `: comment${e.eol}` +
              e.lines.map((l) => `data: ${l}${e.eol}`).join("") +
              e.eol
          )
          .join("")
      const data = bytes(text)
      const whole = Sse.parseAll([data])
      const pieces = Sse.parseAll(splitAt(data, cuts))
      expect(whole.error).toBeUndefined()
      expect(pieces.events).toEqual(whole.events)
      expect(whole.events.map((e) => e.data)).toEqual(events.map((e) => e.lines.join("\n")))
      expect(whole.events.map((e) => e.event)).toEqual(events.map((e) => e.event ?? "message"))
    }
  )
})

describe("Sse.decode", () => {
  it.effect("turns a byte stream into events across chunk boundaries", () =>
    Effect.gen(function* () {
      const events = yield* Stream.fromIterable(
        splitAt(bytes("data: a\n\nevent: x\ndata: b\n\n"), [3, 9, 10, 17])
      ).pipe(Sse.decode(), Stream.runCollect)
      expect(Chunk.toReadonlyArray(events).map((e) => [e.event, e.data])).toEqual([
        ["message", "a"],
        ["x", "b"]
      ])
    })
  )

  it.effect("fails the stream on an oversized event and passes upstream failures through", () =>
    Effect.gen(function* () {
      const tooBig = yield* Stream.make(bytes(`data: ${"x".repeat(200)}\n\n`)).pipe(
        Sse.decode({ maxEventSize: 100 }),
        Stream.runCollect,
        Effect.exit
      )
      expect(Exit.isFailure(tooBig) && tooBig.cause._tag === "Fail" && tooBig.cause.error._tag).toBe("Streaming")
      const upstream = yield* Stream.make(bytes("data: a\n\n")).pipe(
        Stream.concat(Stream.fail("boom" as const)),
        Sse.decode(),
        Stream.runCollect,
        Effect.flip
      )
      expect(upstream).toBe("boom")
    })
  )
})
