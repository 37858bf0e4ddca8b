/**
 * The Gemini stream framer (src/internal/gemini/frames.ts) on its own: the events it finds must not depend on where
 * the body is cut, and the two departures from SSE it exists for (bare JSON, an unterminated last event) are found.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Frames from "../../../src/internal/gemini/frames.js"

const encoder = new TextEncoder()

/** Feeds `body` cut at `cuts` (byte offsets); the events, or the error's tag. */
const frame = (body: Uint8Array, cuts: ReadonlyArray<number>, maxEventSize?: number) => {
  const framer = new Frames.Framer({ maxEventSize, provider: "gemini" })
  const events: Array<{ readonly event: string; readonly data: string }> = []
  let from = 0
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b).concat(body.length)) {
    const out = framer.feed(body.subarray(from, cut))
    if (Either.isLeft(out)) return out.left._tag
    events.push(...out.right.map(({ data, event }) => ({ event, data })))
    from = cut
  }
  const end = framer.end()
  if (Either.isLeft(end)) return end.left._tag
  return [...events, ...end.right.map(({ data, event }) => ({ event, data }))]
}

const error = JSON.stringify({ error: { code: 503, message: 'busy } ] \\" { é🙂', status: "UNAVAILABLE" } }, null, 2)
const body = encoder.encode(
  `\uFEFFdata: {"candidates":[{"content":{"parts":[{"text":"é🙂"}]}}]}\r\n\r\n: comment\r\n` +
    `data: {"a":1}\r\n${error}\n\ndata: {"b":2}\r`
)

describe("Gemini stream framing", () => {
  it("finds data events, a bare JSON value the moment it closes, and an unterminated last event", () => {
    expect(frame(body, [])).toEqual([
      { event: "message", data: '{"candidates":[{"content":{"parts":[{"text":"é🙂"}]}}]}' },
      { event: "message", data: '{"a":1}' },
      { event: Frames.bareJson, data: error },
      { event: Frames.unterminated, data: '{"b":2}' }
    ])
  })

  it.prop(
    "gives the same events wherever the body is cut",
    [FastCheck.array(FastCheck.integer({ min: 1, max: body.length - 1 }))],
    ([cuts]) => {
      expect(frame(body, cuts)).toEqual(frame(body, []))
    }
  )

  it("a bare value past maxEventSize fails with Streaming; one left open at the end is unterminated", () => {
    expect(frame(encoder.encode(`{"error": "${"x".repeat(200)}"}`), [50, 100], 64)).toBe("Streaming")
    expect(frame(encoder.encode('data: {}\n\n{"error": {"code": 5'), [])).toEqual([
      { event: "message", data: "{}" },
      { event: Frames.unterminated, data: '{"error": {"code": 5' }
    ])
  })
})
