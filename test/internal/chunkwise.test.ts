import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as Chunkwise from "../../src/internal/chunkwise.js"

/** "n" decodes to n copies of itself, "bad" fails; `end` adds "end" and counts its calls. */
const decoder = () => {
  const ends = { count: 0 }
  const decode = Chunkwise.decode<string, string, string, never>({
    step: (element, out) => {
      if (element === "bad") return Effect.fail("bad element")
      for (let i = 0; i < Number(element); i++) out.push(element)
      return undefined
    },
    end: () => Effect.sync(() => (ends.count++, ["end"]))
  })
  return { decode, ends }
}

/** Runs the stream; what arrived, chunk by chunk, and how it ended. */
const run = (stream: Stream.Stream<string, string>) =>
  Effect.gen(function* () {
    const seen: Array<ReadonlyArray<string>> = []
    const exit = yield* Stream.runForEachChunk(stream, (chunk) =>
      Effect.sync(() => seen.push(Chunk.toArray(chunk)))
    ).pipe(Effect.exit)
    return { seen, exit }
  })

describe("Chunkwise.decode", () => {
  it.effect("a read's elements come out as one chunk, in order, with what the end adds", () =>
    Effect.gen(function* () {
      const { decode, ends } = decoder()
      const { seen, exit } = yield* run(Stream.fromChunks(Chunk.make("1", "2"), Chunk.make("0", "1")).pipe(decode))
      expect(seen).toEqual([["1", "2", "2"], ["1"], ["end"]])
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(ends.count).toBe(1)
    })
  )

  it.effect("elements before a bad one in the same read arrive, then the failure; the end is never asked", () =>
    Effect.gen(function* () {
      const { decode, ends } = decoder()
      const { seen, exit } = yield* run(Stream.fromChunks(Chunk.make("1", "bad", "2"), Chunk.make("3")).pipe(decode))
      expect(seen).toEqual([["1"]])
      expect(exit).toEqual(Exit.fail("bad element"))
      expect(ends.count).toBe(0)
    })
  )

  it.effect("a failure is raised at once, even while the upstream stays open after it", () =>
    Effect.gen(function* () {
      const first = decoder()
      const atOnce = yield* run(Stream.fromChunks(Chunk.make("1"), Chunk.make("bad", "1")).pipe(first.decode))
      expect([atOnce.seen, atOnce.exit]).toEqual([[["1"]], Exit.fail("bad element")])
      const open = decoder()
      const stillOpen = Stream.concat(Stream.fromChunk(Chunk.make("2", "bad")), Stream.never)
      const failed = yield* run(stillOpen.pipe(open.decode))
      expect([failed.seen, failed.exit, open.ends.count]).toEqual([[["2", "2"]], Exit.fail("bad element"), 0])
    })
  )
})
