/**
 * The test kit's answers for images, speech, transcription, moderation and rerank: deterministic, instant (or after
 * the kit's `latency`), failing exactly as the kit's script says — the same `admit` step as chat counts them.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Image from "../Image.js"
import type * as LiterLlmError from "../LiterLlmError.js"
import type * as LlmService from "../LlmService.js"
import type * as Moderation from "../Moderation.js"
import type * as Rerank from "../Rerank.js"
import type * as Speech from "../Speech.js"
import type * as Transcription from "../Transcription.js"

export type Operations = Pick<LlmService.Service, "image" | "speech" | "transcribe" | "moderate" | "rerank">

export interface Script {
  readonly reply: string
  readonly model: string | undefined
  /** Audio bytes of every speech answer. */
  readonly audio: Uint8Array
  /** Chunks the audio is split into. */
  readonly chunks: number
  /** Words that make moderation flag an input. */
  readonly flagged: ReadonlyArray<string>
}

/** Words shared by query and document, as a share of the query's words: a stable stand-in for relevance. */
const overlap = (query: string, document: string): number => {
  const words = (text: string) =>
    new Set(
      text
        .toLowerCase()
        .split(/\W+/)
        .filter((w) => w !== "")
    )
  const q = words(query)
  if (q.size === 0) return 0
  const d = words(document)
  let shared = 0
  for (const w of q) if (d.has(w)) shared++
  return shared / q.size
}

export const make = (
  script: Script,
  admit: Effect.Effect<number, LiterLlmError.LiterLlmError>,
  wait: Effect.Effect<void>
): Operations => {
  const begin = Effect.zipRight(wait, admit)
  const image = (request: Image.ImageRequest) =>
    Effect.gen(function* () {
      const call = yield* begin
      const created = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const n = request.n ?? 1
      const data = Array.from({ length: n }, (_, i) =>
        request.response_format === "b64_json"
          ? { b64_json: btoa(`${script.reply}-${call}-${i}`), revised_prompt: request.prompt }
          : { url: `https://images.test/${call}/${i}.png`, revised_prompt: request.prompt }
      )
      return { created, data } satisfies Image.ImageResponse
    })
  const speech = (_request: Speech.SpeechRequest) =>
    Effect.map(begin, (): Speech.SpeechResponse => {
      const size = Math.max(1, Math.ceil(script.audio.byteLength / Math.max(1, script.chunks)))
      const pieces: Array<Uint8Array> = []
      for (let at = 0; at < script.audio.byteLength; at += size) pieces.push(script.audio.slice(at, at + size))
      return { contentType: "audio/mpeg", audio: Stream.fromIterable(pieces) }
    })
  const transcribe = (request: Transcription.TranscriptionRequest) =>
    Effect.gen(function* () {
      yield* begin
      // read the upload as a provider would, so a caller's stream is really consumed
      let size = 0
      if (request.file instanceof Uint8Array) size = request.file.byteLength
      else if (request.file instanceof Blob) size = request.file.size
      else {
        size = yield* Stream.runFold(
          request.file as Stream.Stream<Uint8Array, never>,
          0,
          (total, chunk) => total + chunk.byteLength
        )
      }
      return { text: script.reply, duration: size / 16000 } satisfies Transcription.TranscriptionResponse
    })
  const moderate = (request: Moderation.ModerationRequest) =>
    Effect.gen(function* () {
      const call = yield* begin
      const inputs = typeof request.input === "string" ? [request.input] : request.input
      const results = inputs.map((input) => {
        const text = (typeof input === "string" ? input : JSON.stringify(input)).toLowerCase()
        const hit = script.flagged.some((word) => text.includes(word.toLowerCase()))
        return { flagged: hit, categories: { harassment: hit }, category_scores: { harassment: hit ? 0.9 : 0.01 } }
      })
      return { id: `modr-test-${call}`, model: script.model ?? request.model, results }
    })
  const rerank = (request: Rerank.RerankRequest) =>
    Effect.map(begin, (): Rerank.RerankResponse => {
      const texts = request.documents.map((d) => (typeof d === "string" ? d : d.text))
      const ranked = texts
        .map((text, index) => ({
          index,
          relevance_score: overlap(request.query, text),
          ...(request.return_documents === true ? { document: { text } } : {})
        }))
        .sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index)
      return {
        model: script.model ?? request.model,
        results: request.top_n === undefined ? ranked : ranked.slice(0, request.top_n),
        usage: { total_tokens: Math.ceil((texts.join(" ").length + request.query.length) / 4) }
      }
    })
  return { image, speech, transcribe, moderate, rerank }
}
