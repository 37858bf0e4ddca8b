/**
 * Recorded answers of the non-chat operations (see fixtures/README.md) replayed through `OpenAiCompatible` in every
 * split mode: images, moderations and transcriptions as OpenAI, Groq and Mistral sent them. Each field the library
 * promises is checked against the recording, and fields it does not model are kept as the provider sent them.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Image from "../../src/Image.js"
import type * as LiterLlmError from "../../src/LiterLlmError.js"
import type * as Moderation from "../../src/Moderation.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"
import type * as Transcription from "../../src/Transcription.js"
import * as Fixture from "./fixture.js"
import * as Harness from "./harness.js"
import * as Server from "./server.js"
import * as Split from "./split.js"

const service = (url: string) =>
  OpenAiCompatible.make({ baseUrl: `${url}/v1`, provider: "replay" }).pipe(Effect.provide(FetchHttpClient.layer))

const image = (fixture: Fixture.Fixture, request: Image.ImageRequest = { model: "m", prompt: "p" }) =>
  Harness.replaySuccess(fixture, (url) => Effect.flatMap(service(url), (s) => s.image(request)))

const moderate = (fixture: Fixture.Fixture, request: Moderation.ModerationRequest = { model: "m", input: "x" }) =>
  Harness.replaySuccess(fixture, (url) => Effect.flatMap(service(url), (s) => s.moderate(request)))

const audio = new Uint8Array([0x49, 0x44, 0x33, 0x04, 0, 0, 0, 0])
const transcribe = (fixture: Fixture.Fixture, extra: Partial<Transcription.TranscriptionRequest> = {}) =>
  Harness.replaySuccess(fixture, (url) =>
    Effect.flatMap(service(url), (s) => s.transcribe({ model: "whisper-1", file: audio, ...extra }))
  )

/** A field the schema does not model, read from the decoded answer. */
const extra = (value: object, key: string): unknown => (value as Record<string, unknown>)[key]

/** The JSON body the server received for `call`, against a server answering with `fixture`. */
const sent = <A, E>(fixture: Fixture.Fixture, call: (url: string) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const server = yield* Server.serve(fixture, Split.whole)
    yield* Effect.either(call(server.url))
    const [request] = yield* server.requests
    return { path: request!.url, body: JSON.parse(request!.body) as unknown }
  })

const v = (path: string) => `vercel-ai/${path}`

describe("replay: images", () => {
  it.scoped("gpt-image-1: two base64 images, a revised prompt on the first only", () =>
    Effect.gen(function* () {
      const response = yield* image(Fixture.json(v("openai/openai-image.json")))
      expect(response.created).toBe(1770935200)
      expect(response.data).toHaveLength(2)
      expect(response.data[0]!.b64_json).toMatch(/^iVBORw0KGgo/)
      expect(response.data[0]!.revised_prompt).toMatch(/^A small and adorable baby sea otter/)
      expect(response.data[1]!.b64_json).toMatch(/^iVBORw0KGgo/)
      expect(response.data[1]!.revised_prompt).toBeUndefined()
      expect(response.data[0]!.url).toBeUndefined()
    })
  )

  it.scoped("dall-e-3: a URL and a revised prompt; the request is the one the recording answered", () =>
    Effect.gen(function* () {
      const fixture = Fixture.json(
        "ruby-openai/images_generate_A_lion_cooking_pasta_wearing_a_hat_of_some_sort.body.json"
      )
      const request = {
        model: "dall-e-3",
        prompt: "A lion cooking pasta wearing a hat of some sort",
        size: "1024x1792"
      }
      const response = yield* image(fixture, request)
      expect(response.created).toBe(1705664481)
      expect(response.data).toHaveLength(1)
      expect(response.data[0]!.url).toMatch(/^https:\/\/oaidalleapiprodscus\.blob\.core\.windows\.net\/.*img-lPnt/)
      expect(response.data[0]!.revised_prompt).toMatch(/^Imagine a scene where a majestic African lion/)
      // the recorded request body, as ruby-openai sent it, field for field
      expect(yield* sent(fixture, (url) => Effect.flatMap(service(url), (s) => s.image(request)))).toEqual({
        path: "/v1/images/generations",
        body: { prompt: "A lion cooking pasta wearing a hat of some sort", size: "1024x1792", model: "dall-e-3" }
      })
    })
  )

  it.scoped("dall-e-2: a URL and no revised prompt", () =>
    Effect.gen(function* () {
      const response = yield* image(
        Fixture.json("ruby-openai/images_generate_A_baby_sea_otter_cooking_pasta_wearing_a_hat_of_some_sort.body.json")
      )
      expect(response.created).toBe(1682327489)
      expect(response.data[0]!.url).toContain("img-q1ZqrIMOs7NAgULHclNQ8QOt.png")
      expect(response.data[0]!.revised_prompt).toBeUndefined()
      expect(response.usage).toBeUndefined()
    })
  )

  it.scoped("gpt-image-1 refusing response_format (400) is BadRequest naming the parameter", () =>
    Effect.gen(function* () {
      const error: LiterLlmError.LiterLlmError = yield* Harness.replayFailure(
        Fixture.json(v("openai/gpt-image-response-format-error.json"), 400),
        (url) => Effect.flatMap(service(url), (s) => s.image({ model: "gpt-image-1", prompt: "p" }))
      )
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toContain("Unknown parameter: 'response_format'.")
      expect((error as LiterLlmError.BadRequest).status).toBe(400)
    })
  )
})

describe("replay: moderations", () => {
  it.scoped("omni-moderation-latest: flagged for harassment, applied input types kept; the request as recorded", () =>
    Effect.gen(function* () {
      const fixture = Fixture.json("llmrb-llm/openai/moderations/create_1.body.json")
      const request = { model: "omni-moderation-latest", input: [{ type: "text", text: "I hate you" }] }
      const response = yield* moderate(fixture, request)
      expect(response.id).toBe("modr-2284")
      expect(response.model).toBe("omni-moderation-latest")
      const [result] = response.results
      expect(result!.flagged).toBe(true)
      expect(Object.keys(result!.categories)).toHaveLength(13)
      expect(Object.entries(result!.categories).filter(([, hit]) => hit)).toEqual([["harassment", true]])
      expect(result!.category_scores.harassment).toBeCloseTo(0.7922938252487682, 15)
      expect(result!.category_scores["hate/threatening"]).toBeCloseTo(6.962256250138369e-7, 20)
      expect(extra(result!, "category_applied_input_types")).toMatchObject({ harassment: ["text"] })
      expect(yield* sent(fixture, (url) => Effect.flatMap(service(url), (s) => s.moderate(request)))).toEqual({
        path: "/v1/moderations",
        body: { input: [{ type: "text", text: "I hate you" }], model: "omni-moderation-latest" }
      })
    })
  )

  it.scoped("text-moderation-007: nothing flagged, eleven scores", () =>
    Effect.gen(function* () {
      const response = yield* moderate(Fixture.json("ruby-openai/moderations_have_a_great_day_.body.json"))
      expect(response.id).toBe("modr-C32SYHp4XLB0KRtDcKtdRbiP8kSTM")
      expect(response.model).toBe("text-moderation-007")
      expect(response.results[0]!.flagged).toBe(false)
      expect(Object.values(response.results[0]!.categories).every((hit) => hit === false)).toBe(true)
      expect(Object.keys(response.results[0]!.category_scores)).toHaveLength(11)
      expect(response.results[0]!.category_scores.violence).toBeCloseTo(0.00001449603951186873, 20)
    })
  )

  it.scoped("Mistral: no flagged field, so not flagged when no category is; usage kept", () =>
    Effect.gen(function* () {
      const response = yield* moderate(Fixture.json("crystal-mistral/mistral-moderation.json"))
      expect(response.id).toBe("bda4b52e0efe466792f03ad665b9a328")
      expect(response.model).toBe("mistral-moderation-2411")
      expect(response.results[0]!.flagged).toBe(false)
      expect(Object.keys(response.results[0]!.categories)).toEqual([
        "sexual",
        "hate_and_discrimination",
        "violence_and_threats",
        "dangerous_and_criminal_content",
        "selfharm",
        "health",
        "financial",
        "law",
        "pii"
      ])
      expect(response.results[0]!.category_scores.pii).toBeCloseTo(0.0006070755189284682, 18)
      expect(extra(response, "usage")).toEqual({ prompt_tokens: 7, completion_tokens: 0, total_tokens: 96 })
    })
  )
})

describe("replay: transcriptions", () => {
  it.scoped("OpenAI verbose_json: language, duration, words and duration usage", () =>
    Effect.gen(function* () {
      const response = yield* transcribe(Fixture.json(v("openai/openai-transcription.json")), {
        response_format: "verbose_json",
        timestamp_granularities: ["word"]
      })
      expect(response.text).toMatch(/^Galileo was an American robotic space program/)
      expect(response.language).toBe("english")
      expect(response.duration).toBe(36.709999084472656)
      expect(response.usage).toEqual({ type: "duration", seconds: 37 })
      expect(extra(response, "task")).toBe("transcribe")
      expect(extra(response, "words")).toEqual([
        { word: "Galileo", start: 0, end: 0.6600000262260437 },
        { word: "was", start: 0.6600000262260437, end: 0.8999999761581421 },
        { word: "an", start: 0.8999999761581421, end: 1.1399999856948853 },
        { word: "American", start: 1.1399999856948853, end: 1.5 },
        { word: "robotic", start: 1.5, end: 2.0199999809265137 }
      ])
    })
  )

  it.scoped("OpenAI json from whisper-1 (duration usage) and gpt-4o-transcribe (token usage)", () =>
    Effect.gen(function* () {
      const whisper = yield* transcribe(Fixture.json("llmrb-llm/openai/audio/successful_transcription.body.json"))
      expect(whisper).toEqual({ text: "A dog on a rocket to the moon.", usage: { type: "duration", seconds: 2 } })
      const tokens = yield* transcribe(Fixture.json(v("openai/openai-transcription-issue-14721-audio-mp4.json")), {
        model: "gpt-4o-transcribe"
      })
      expect(tokens.text).toMatch(/^Honestly, it was a pretty steep learning curve/)
      expect(tokens.usage).toEqual({
        type: "tokens",
        total_tokens: 169,
        input_tokens: 122,
        input_token_details: { text_tokens: 0, audio_tokens: 122 },
        output_tokens: 47
      })
      expect(tokens.duration).toBeUndefined()
    })
  )

  it.scoped("OpenAI refusing the audio format (400) is BadRequest with the provider's message", () =>
    Effect.gen(function* () {
      const error: LiterLlmError.LiterLlmError = yield* Harness.replayFailure(
        Fixture.json(v("openai/openai-transcription-issue-14721-audio-wav-error.json"), 400),
        (url) => Effect.flatMap(service(url), (s) => s.transcribe({ model: "gpt-4o-transcribe", file: audio }))
      )
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toContain("This model does not support the format you provided.")
    })
  )

  it.scoped("Groq: json with its x_groq id; verbose_json with words and segments null; text as plain text", () =>
    Effect.gen(function* () {
      const plain = yield* transcribe(Fixture.json(v("groq/groq-transcription.json")))
      expect(plain.text).toBe(" Hello from the Versal AISDK.")
      expect(extra(plain, "x_groq")).toEqual({ id: "req_01kha51bpcezj8q824a6zfchr1" })
      const verbose = yield* transcribe(Fixture.json(v("groq/groq-transcription-word-timestamps.json")), {
        model: "whisper-large-v3",
        response_format: "verbose_json"
      })
      expect(verbose.language).toBe("English")
      expect(verbose.duration).toBe(36.712501248)
      expect(extra(verbose, "segments")).toBeNull()
      const words = extra(verbose, "words") as ReadonlyArray<{ readonly word: string }>
      expect(words).toHaveLength(83)
      expect(words.map((w) => w.word).join(" ")).toBe(verbose.text.trim())
      const text = yield* transcribe(Fixture.recorded(v("groq/groq-transcription-text.json")), {
        model: "whisper-large-v3",
        response_format: "text"
      })
      expect(text.text).toBe(verbose.text)
      expect(Object.keys(text)).toEqual(["text"])
    })
  )

  it.scoped("Mistral voxtral: language null, speaker segments, audio seconds in usage", () =>
    Effect.gen(function* () {
      const response = yield* transcribe(Fixture.json(v("mistral/mistral-transcription.json")), {
        model: "voxtral-mini-latest"
      })
      expect(response.text).toMatch(/became the first spacecraft to orbit Jupiter\.$/)
      expect(response.language).toBeNull()
      expect(response.usage).toMatchObject({ prompt_audio_seconds: 36, total_tokens: 164 })
      expect(extra(response, "model")).toBe("voxtral-mini-latest")
      const segments = extra(response, "segments") as ReadonlyArray<{ readonly speaker_id: string }>
      expect(segments.map((s) => s.speaker_id)).toEqual(["speaker_1", "speaker_1", "speaker_1", "speaker_1"])
    })
  )
})
