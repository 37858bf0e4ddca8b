/**
 * Where a recorded body is cut into writes. Three modes: the whole body in one write, one byte per write, or cuts at
 * points chosen by a seeded `Random`. The random cuts always include some of the places a careless parser breaks on:
 * inside a multi-byte UTF-8 character and between the `\r` and `\n` of a line break.
 */
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"

/** How a body is written to the socket. */
export type Mode =
  { readonly _tag: "whole" } | { readonly _tag: "bytes" } | { readonly _tag: "random"; readonly seed: number }

export const whole: Mode = { _tag: "whole" }
export const bytes: Mode = { _tag: "bytes" }
export const random = (seed: number): Mode => ({ _tag: "random", seed })

/** Every mode a replay runs: whole, 1-byte writes, and three seeded random splits. */
export const allModes: ReadonlyArray<Mode> = [whole, bytes, random(1), random(2), random(3)]

/** The whole body and three seeded random splits, for large bodies where 1-byte writes are already covered. */
export const randomModes: ReadonlyArray<Mode> = [whole, random(1), random(2), random(3)]

export const describeMode = (mode: Mode): string => (mode._tag === "random" ? `random(${mode.seed})` : mode._tag)

const isContinuation = (byte: number): boolean => (byte & 0xc0) === 0x80

/**
 * Offsets where a cut separates bytes that belong together: before a UTF-8 continuation byte (so a character is split),
 * or between a `\r` and the `\n` after it.
 */
export const trickyOffsets = (body: Uint8Array): ReadonlyArray<number> => {
  const out: Array<number> = []
  for (let i = 1; i < body.length; i++) {
    if (isContinuation(body[i]!) || (body[i - 1] === 13 && body[i] === 10)) out.push(i)
  }
  return out
}

/**
 * The sorted cut offsets (each in `1..length-1`) of a random split: half of the tricky offsets, never fewer than one
 * of each kind present, plus ordinary offsets about 32 bytes apart (further in bodies over 8 kB, so that about 256 are
 * drawn and a large fixture stays quick to replay). Deterministic for a given seed.
 */
export const randomCuts = (body: Uint8Array, seed: number): Effect.Effect<ReadonlyArray<number>> =>
  Effect.gen(function* () {
    const cuts = new Set<number>()
    const tricky = trickyOffsets(body)
    const utf8 = tricky.filter((i) => isContinuation(body[i]!))
    const crlf = tricky.filter((i) => body[i - 1] === 13 && body[i] === 10)
    for (const kind of [utf8, crlf]) {
      if (kind.length > 0) cuts.add(kind[yield* Random.nextIntBetween(0, kind.length)]!)
    }
    for (const i of tricky) if ((yield* Random.nextIntBetween(0, 2)) === 0) cuts.add(i)
    // ordinary cuts a random gap apart (32 bytes on average, more in large bodies): one draw per cut, not per byte
    const gap = 2 * Math.max(32, Math.ceil(body.length / 256))
    for (let i = yield* Random.nextIntBetween(1, gap); i < body.length; i += yield* Random.nextIntBetween(1, gap)) {
      cuts.add(i)
    }
    return [...cuts].sort((a, b) => a - b)
  }).pipe(Effect.withRandom(Random.make(seed)))

/** The pieces written for `body` in `mode`; their concatenation is always `body`. */
export const pieces = (body: Uint8Array, mode: Mode): Effect.Effect<ReadonlyArray<Uint8Array>> => {
  switch (mode._tag) {
    case "whole":
      return Effect.succeed(body.length === 0 ? [] : [body])
    case "bytes":
      return Effect.succeed(Array.from({ length: body.length }, (_, i) => body.subarray(i, i + 1)))
    case "random":
      return Effect.map(randomCuts(body, mode.seed), (cuts) => {
        const out: Array<Uint8Array> = []
        let from = 0
        for (const cut of cuts) {
          out.push(body.subarray(from, cut))
          from = cut
        }
        if (from < body.length) out.push(body.subarray(from))
        return out
      })
  }
}
