import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Stream from "effect/Stream"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"
import * as Fixture from "./fixture.js"
import * as Harness from "./harness.js"
import * as Server from "./server.js"
import * as Split from "./split.js"

const encoder = new TextEncoder()
const concat = (parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

// "é" is two bytes, "🙂" four: cuts before their continuation bytes split a character
const tricky = encoder.encode('data: {"a":"é🙂"}\r\n\r\ndata: x\r\n\r\n')

describe("replay split modes", () => {
  it.effect("the same seed gives the same cuts, another seed others", () =>
    Effect.gen(function* () {
      const body = encoder.encode("x".repeat(500) + "é".repeat(50) + "\r\n".repeat(50))
      expect(yield* Split.randomCuts(body, 7)).toEqual(yield* Split.randomCuts(body, 7))
      expect(yield* Split.randomCuts(body, 7)).not.toEqual(yield* Split.randomCuts(body, 8))
    })
  )

  it.effect("every random split cuts inside a UTF-8 character and between a CR and its LF", () =>
    Effect.gen(function* () {
      const utf8 = Split.trickyOffsets(tricky).filter((i) => (tricky[i]! & 0xc0) === 0x80)
      const crlf = Split.trickyOffsets(tricky).filter((i) => tricky[i - 1] === 13 && tricky[i] === 10)
      expect(utf8.length).toBe(4)
      expect(crlf.length).toBe(4)
      for (const seed of [1, 2, 3, 4, 5]) {
        const cuts = yield* Split.randomCuts(tricky, seed)
        expect(cuts.some((c) => utf8.includes(c))).toBe(true)
        expect(cuts.some((c) => crlf.includes(c))).toBe(true)
      }
    })
  )

  it.effect.prop(
    "the pieces of every mode put back together are the body",
    [FastCheck.uint8Array({ maxLength: 300 }), FastCheck.integer()],
    ([body, seed]) =>
      Effect.gen(function* () {
        for (const mode of [Split.whole, Split.bytes, Split.random(seed)]) {
          const parts = yield* Split.pieces(body, mode)
          expect(parts.every((p) => p.length > 0)).toBe(true)
          expect(Buffer.compare(concat(parts), body)).toBe(0)
        }
        expect((yield* Split.pieces(body, Split.bytes)).length).toBe(body.length)
      }),
    { fastCheck: { numRuns: 40 } }
  )
})

describe("replay server", () => {
  it.scoped("sends the fixture's status, headers and exact bytes in every mode, and records the request", () =>
    Effect.gen(function* () {
      const fixture = Fixture.literal("tricky", new TextDecoder().decode(tricky), { "x-recorded": "yes" }, 418)
      for (const mode of Split.allModes) {
        const server = yield* Server.serve(fixture, mode)
        const response = yield* HttpClient.get(`${server.url}/v1/anything?q=1`)
        expect(response.status).toBe(418)
        expect(response.headers["x-recorded"]).toBe("yes")
        expect(new Uint8Array(yield* response.arrayBuffer)).toEqual(tricky)
        const [received] = yield* server.requests
        expect(received?.method).toBe("GET")
        expect(received?.url).toBe("/v1/anything?q=1")
      }
    }).pipe(Effect.provide(FetchHttpClient.layer))
  )
})

describe("replay helper", () => {
  it.scoped("runs a client over every mode and gives the common result", () =>
    Effect.gen(function* () {
      const events = [
        {
          id: "c",
          object: "chat.completion.chunk",
          created: 1,
          model: "m",
          choices: [{ index: 0, delta: { content: "é🙂" }, finish_reason: null }]
        },
        {
          id: "c",
          object: "chat.completion.chunk",
          created: 1,
          model: "m",
          choices: [{ index: 0, delta: { content: "\u00a0ü" }, finish_reason: "stop" }]
        }
      ]
      const text = events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`).join("") + "data: [DONE]\r\n\r\n"
      const contents = yield* Harness.replaySuccess(Fixture.literal("utf8 stream", text), (url) =>
        Effect.gen(function* () {
          const service = yield* OpenAiCompatible.make({ baseUrl: `${url}/v1` })
          const chunks = yield* Stream.runCollect(service.chatStream({ model: "m", messages: [] }))
          return Chunk.toReadonlyArray(chunks).map((c) => c.choices[0]?.delta.content)
        }).pipe(Effect.provide(FetchHttpClient.layer))
      )
      expect(contents).toEqual(["é🙂", "\u00a0ü"])
    })
  )

  it.scoped("a failure is a result too, and is the same in every mode", () =>
    Effect.gen(function* () {
      const fixture = Fixture.literal("bad json", '{"id": "x", "choices": [', { "content-type": "application/json" })
      const error = yield* Harness.replayFailure(fixture, (url) =>
        Effect.flatMap(OpenAiCompatible.make({ baseUrl: `${url}/v1` }), (service) =>
          service.chat({ model: "m", messages: [{ role: "user", content: "hi" }] })
        ).pipe(Effect.provide(FetchHttpClient.layer))
      )
      expect(error._tag).toBe("Serialization")
    })
  )
})
