/**
 * The four OpenAI operations over real HTTP: what the upstream receives is compared with what the official `openai`
 * SDK sends for the same call (path, JSON body, multipart fields), and answers decode as the API documents them.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import OpenAI, { toFile } from "openai"
import * as LlmService from "../../src/LlmService.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"
import * as Loopback from "../support/loopback.js"

const key = "sk-test-ops-0123456789"

const serviceAt = (url: string, options: Partial<OpenAiCompatible.Options> = {}) =>
  OpenAiCompatible.make({ baseUrl: `${url}/v1`, apiKey: Redacted.make(key), provider: "openai", ...options }).pipe(
    Effect.provide(FetchHttpClient.layer)
  )

const sdkAt = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 })

const json = (body: unknown) => ({ body: JSON.stringify(body) })

const imageAnswer = {
  created: 1733300000,
  data: [{ url: "https://img/1.png", revised_prompt: "a red fox" }],
  size: "1024x1024"
}
const moderationAnswer = {
  id: "modr-1",
  model: "omni-moderation-latest",
  results: [{ flagged: true, categories: { violence: true }, category_scores: { violence: 0.91 } }]
}

const answerFor = (request: Loopback.Received): Loopback.Answer => {
  switch (request.path) {
    case "/v1/images/generations":
      return json(imageAnswer)
    case "/v1/moderations":
      return json(moderationAnswer)
    case "/v1/audio/speech":
      return { headers: { "content-type": "audio/mpeg" }, body: [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])] }
    case "/v1/audio/transcriptions":
      return String(request.headers["content-type"]).includes("multipart")
        ? json({ text: "hello there", usage: { type: "duration", seconds: 2 } })
        : { status: 400, body: "{}" }
    default:
      return { status: 404, body: JSON.stringify({ error: { message: "no route", type: "invalid_request_error" } }) }
  }
}

describe("OpenAI-compatible operations", () => {
  it.scoped("image: the same JSON as the SDK, the answer decoded with unknown fields kept", () =>
    Effect.gen(function* () {
      const server = yield* Loopback.serve(answerFor)
      const service = yield* serviceAt(server.url)
      const request = { model: "dall-e-3", prompt: "a fox", n: 1, size: "1024x1024", quality: "hd" } as const
      const response = yield* service.image(request)
      yield* Effect.promise(() => sdkAt(server.url).images.generate(request))
      const [ours, theirs] = yield* server.requests
      expect(ours.path).toBe(theirs.path)
      expect(JSON.parse(ours.body.toString())).toEqual(JSON.parse(theirs.body.toString()))
      expect(ours.headers.authorization).toBe(`Bearer ${key}`)
      expect(response.data[0].revised_prompt).toBe("a red fox")
      expect((response as unknown as { size: string }).size).toBe("1024x1024")
    })
  )

  it.scoped("moderation: the same JSON as the SDK", () =>
    Effect.gen(function* () {
      const server = yield* Loopback.serve(answerFor)
      const service = yield* serviceAt(server.url)
      const request = { model: "omni-moderation-latest", input: ["one", "two"] }
      const response = yield* service.moderate(request)
      yield* Effect.promise(() => sdkAt(server.url).moderations.create(request))
      const [ours, theirs] = yield* server.requests
      expect(ours.path).toBe("/v1/moderations")
      expect(JSON.parse(ours.body.toString())).toEqual(JSON.parse(theirs.body.toString()))
      expect(response.results[0].flagged).toBe(true)
      expect(response.results[0].category_scores.violence).toBe(0.91)
    })
  )

  it.scoped("moderation: Mistral's answer (no `flagged`) is flagged when any category is", () =>
    Effect.gen(function* () {
      const server = yield* Loopback.serve(() =>
        json({
          id: "mod-e5f1",
          model: "mistral-moderation-latest",
          results: [
            {
              categories: { sexual: false, violence_and_threats: true, pii: false },
              category_scores: { sexual: 0.001, violence_and_threats: 0.82, pii: 0.01 }
            },
            { categories: { sexual: false, violence_and_threats: false }, category_scores: { sexual: 0.0 } }
          ]
        })
      )
      const service = yield* serviceAt(server.url, { provider: "mistral" })
      const response = yield* service.moderate({ model: "mistral-moderation-latest", input: ["a", "b"] })
      expect(response.results.map((r) => r.flagged)).toEqual([true, false])
      const [sent] = yield* server.requests
      expect(sent.path).toBe("/v1/moderations")
    })
  )

  it.scoped("speech: the same JSON as the SDK; the audio streams back with its content type", () =>
    Effect.gen(function* () {
      const server = yield* Loopback.serve(answerFor)
      const service = yield* serviceAt(server.url)
      const request = {
        model: "gpt-4o-mini-tts",
        input: "Hello",
        voice: "alloy",
        response_format: "mp3",
        speed: 1.25
      } as const
      const response = yield* service.speech(request)
      const bytes = yield* Stream.runCollect(response.audio)
      yield* Effect.promise(() =>
        sdkAt(server.url)
          .audio.speech.create(request)
          .then((r) => r.arrayBuffer())
      )
      const [ours, theirs] = yield* server.requests
      expect(ours.path).toBe("/v1/audio/speech")
      expect(JSON.parse(ours.body.toString())).toEqual(JSON.parse(theirs.body.toString()))
      expect(response.contentType).toBe("audio/mpeg")
      expect(Chunk.toReadonlyArray(bytes).flatMap((chunk) => [...chunk])).toEqual([1, 2, 3, 4, 5])
    })
  )

  it.scoped("transcription: the same multipart fields as the SDK, from bytes, a Blob and a stream", () =>
    Effect.gen(function* () {
      const server = yield* Loopback.serve(answerFor)
      const service = yield* serviceAt(server.url)
      const audio = new Uint8Array(3000).map((_, i) => i % 251)
      const fields = {
        model: "whisper-1",
        language: "en",
        temperature: 0.2,
        timestamp_granularities: ["word", "segment"]
      }
      const fromBytes = yield* service.transcribe({ ...fields, file: audio, filename: "talk.wav" })
      yield* service.transcribe({ ...fields, file: new Blob([audio]), filename: "talk.wav" })
      yield* service.transcribe({
        ...fields,
        file: Stream.fromIterable([audio.slice(0, 1000), audio.slice(1000)]),
        filename: "talk.wav"
      })
      yield* Effect.promise(() =>
        toFile(audio, "talk.wav", { type: "audio/wav" }).then((file) =>
          sdkAt(server.url).audio.transcriptions.create({
            ...fields,
            file,
            timestamp_granularities: ["word", "segment"]
          })
        )
      )
      const requests = yield* server.requests
      const forms = yield* Effect.promise(() => Promise.all(requests.map(Loopback.formOf)))
      const summary = (form: FormData) =>
        [...(form as unknown as Iterable<[string, string | File]>)].map(([name, value]) => [
          name,
          typeof value === "string" ? value : `${value.name}:${value.type}:${value.size}`
        ])
      const sdk = summary(forms[3])
      for (const form of forms.slice(0, 3)) expect(summary(form).sort()).toEqual([...sdk].sort())
      const file = forms[2].get("file") as File
      expect(new Uint8Array(yield* Effect.promise(() => file.arrayBuffer()))).toEqual(audio)
      expect(fromBytes.text).toBe("hello there")
    })
  )

  it.scoped("transcription: a text format answers { text } with the raw text", () =>
    Effect.gen(function* () {
      const server = yield* Loopback.serve(() => ({
        headers: { "content-type": "text/plain" },
        body: "1\n00:00 --> 00:01\nhi\n"
      }))
      const service = yield* serviceAt(server.url)
      const response = yield* service.transcribe({
        model: "whisper-1",
        file: new Uint8Array([1]),
        response_format: "srt"
      })
      expect(response.text).toBe("1\n00:00 --> 00:01\nhi\n")
    })
  )

  it.scoped(
    "transcription: a file over maxFileSize is a BadRequest — before sending when its size is known, mid-upload for a stream",
    () =>
      Effect.gen(function* () {
        const server = yield* Loopback.serve(answerFor, { countOnly: true })
        const service = yield* serviceAt(server.url, { maxFileSize: 1000 })
        const known = yield* Effect.flip(service.transcribe({ model: "whisper-1", file: new Uint8Array(1001) }))
        expect(known._tag).toBe("BadRequest")
        expect(known.message).toContain("file")
        expect(yield* server.requests).toHaveLength(0)
        const streamed = yield* Effect.flip(
          service.transcribe({
            model: "whisper-1",
            file: Stream.repeatValue(new Uint8Array(100)).pipe(Stream.take(50))
          })
        )
        expect(streamed._tag).toBe("BadRequest")
        expect(streamed.message).toContain("larger than")
      })
  )

  it.scoped("upstream errors map as for chat (a 404 is NotFound, not a success)", () =>
    Effect.gen(function* () {
      const server = yield* Loopback.serve(() => ({
        status: 429,
        headers: { "content-type": "application/json", "retry-after": "3" },
        body: JSON.stringify({ error: { message: "slow down", type: "rate_limit_error" } })
      }))
      const service = yield* serviceAt(server.url)
      const error = yield* Effect.flip(service.image({ model: "dall-e-3", prompt: "x" }))
      expect(error._tag).toBe("RateLimited")
      const speech = yield* Effect.flip(service.speech({ model: "tts-1", input: "x", voice: "alloy" }))
      expect(speech._tag).toBe("RateLimited")
    })
  )

  it.scoped("bad requests are refused before anything is sent, naming the field", () =>
    Effect.gen(function* () {
      const server = yield* Loopback.serve(answerFor)
      const service = yield* serviceAt(server.url)
      const cases = [
        [service.image({ model: "m", prompt: "  " }), "prompt"],
        [service.image({ model: "m", prompt: "x", n: 0 }), "n"],
        [service.speech({ model: "m", input: "", voice: "alloy" }), "input"],
        [service.speech({ model: "m", input: "x", voice: "alloy", speed: Number.NaN }), "speed"],
        [service.moderate({ model: "m", input: [] }), "input"],
        [service.transcribe({ model: "m", file: new Uint8Array(0) }), "file"],
        [service.transcribe({ model: "m", file: "not a file" as unknown as Uint8Array }), "file"]
      ] as const
      for (const [call, field] of cases) {
        const error = yield* Effect.flip(call as Effect.Effect<unknown, { _tag: string; message: string }>)
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain(`${field}:`)
      }
      expect(yield* server.requests).toHaveLength(0)
    })
  )

  it.effect("a service built without an operation fails with EndpointNotSupported naming it", () =>
    Effect.gen(function* () {
      const service = LlmService.make({ provider: "p" })
      const exit = yield* Effect.exit(service.rerank({ model: "m", query: "q", documents: ["a"] }))
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("EndpointNotSupported")
      const error = yield* Effect.flip(service.transcribe({ model: "m", file: new Uint8Array(1) }))
      expect(error).toMatchObject({ _tag: "EndpointNotSupported", endpoint: "transcribe", provider: "p" })
    })
  )
})
