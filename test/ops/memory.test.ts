/**
 * Audio in bounded memory, as a test: a 200 MB transcription upload made lazily in 64 KiB pieces goes through the
 * OpenAI-compatible client (undici) to a loopback upstream that counts the bytes and drops them, and a 200 MB speech
 * answer, written by the upstream only as fast as it is read, is drained as it arrives. Resident memory is sampled
 * from the streams' own chunks (every piece the upload hands to the client, every piece of audio the caller gets),
 * so the peak is seen while the bytes pass, with no timer. The bound is a fraction of the payload: a client that
 * kept the upload or the answer whole could not stay under it.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"
import * as Loopback from "../support/loopback.js"

const MB = 1024 * 1024
const SIZE = 200 * MB
const PIECE = 64 * 1024
/** Peak growth allowed over the resident size before each run: buffers between collections, never the payload. */
const BOUND = 100 * MB

/** Audio answered `PIECE` bytes at a time, made as the socket drains. */
function* audio(total: number): Iterable<Uint8Array> {
  const piece = new Uint8Array(PIECE).fill(7)
  for (let sent = 0; sent < total; sent += PIECE) yield piece
}

/** The highest resident size seen by `sample`, from a starting point. */
const peakMeter = () => {
  const before = process.memoryUsage.rss()
  let peak = before
  return {
    sample: () => void (peak = Math.max(peak, process.memoryUsage.rss())),
    growth: () => (peak - before) / MB
  }
}

describe("audio in bounded memory", () => {
  it.live(
    "a 200 MB lazy upload and a 200 MB speech answer pass with peak RSS growth under 100 MB (half the payload)",
    () =>
      Effect.gen(function* () {
        const server = yield* Loopback.serve(
          (request) =>
            request.path.endsWith("/audio/transcriptions")
              ? { body: JSON.stringify({ text: `received ${request.size}` }) }
              : { headers: { "content-type": "audio/mpeg" }, body: audio(SIZE) },
          { countOnly: true }
        )
        const service = yield* OpenAiCompatible.make({ baseUrl: `${server.url}/v1`, maxFileSize: SIZE + 1 })

        const upload = peakMeter()
        const file = Stream.repeatEffect(Effect.sync(() => new Uint8Array(PIECE).fill(3))).pipe(
          Stream.take(SIZE / PIECE),
          Stream.tap(() => Effect.sync(upload.sample))
        )
        const transcription = yield* service.transcribe({ model: "whisper-1", file, filename: "long.wav" })
        upload.sample()
        // the multipart framing adds a few hundred bytes to the audio
        expect(Number(transcription.text.replace("received ", ""))).toBeGreaterThan(SIZE)
        expect(upload.growth()).toBeLessThan(BOUND / MB)

        const speech = peakMeter()
        const answer = yield* service.speech({ model: "tts-1", voice: "alloy", input: "a long answer" })
        const received = yield* Stream.runFold(answer.audio, 0, (total, chunk) => {
          speech.sample()
          return total + chunk.byteLength
        })
        expect(answer.contentType).toBe("audio/mpeg")
        expect(received).toBe(SIZE)
        expect(speech.growth()).toBeLessThan(BOUND / MB)
      }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)),
    30_000
  )
})
