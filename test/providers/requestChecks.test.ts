/**
 * Every provider (and the test kit standing in for one) refuses a request with out-of-range numbers before anything
 * is sent: a `BadRequest` naming the field, and the upstream records no request.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type * as Chat from "../../src/Chat.js"
import type * as Embedding from "../../src/Embedding.js"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import type * as LlmService from "../../src/LlmService.js"
import * as Validate from "../../src/internal/validate.js"
import * as LlmTest from "../../src/LlmTest.js"
import * as Anthropic from "../../src/providers/Anthropic.js"
import * as Gemini from "../../src/providers/Gemini.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"

const base: Chat.ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "hi" }] }

/** A field, a bad value, and the name the error must carry. */
const badChats: ReadonlyArray<readonly [string, Chat.ChatCompletionRequest]> = [
  ["max_tokens", { ...base, max_tokens: -1 }],
  ["max_tokens", { ...base, max_tokens: Number.NaN }],
  ["max_tokens", { ...base, max_tokens: Number.POSITIVE_INFINITY }],
  ["max_tokens", { ...base, max_tokens: 12.5 }],
  ["max_completion_tokens", { ...base, max_completion_tokens: Number.NEGATIVE_INFINITY }],
  ["max_completion_tokens", { ...base, max_completion_tokens: 0.5 }],
  ["temperature", { ...base, temperature: Number.NaN }],
  ["temperature", { ...base, temperature: Number.POSITIVE_INFINITY }],
  ["top_p", { ...base, top_p: Number.NaN }],
  ["presence_penalty", { ...base, presence_penalty: Number.NEGATIVE_INFINITY }],
  ["frequency_penalty", { ...base, frequency_penalty: Number.NaN }],
  ["n", { ...base, n: 0 }],
  ["n", { ...base, n: Number.NaN }]
]

const badEmbeddings: ReadonlyArray<readonly [string, Embedding.EmbeddingRequest]> = [
  ["dimensions", { model: "e", input: "x", dimensions: Number.NaN }],
  ["dimensions", { model: "e", input: "x", dimensions: -3 }]
]

type Provider = "openai" | "anthropic" | "gemini"

const serviceFor = (provider: Provider, upstream: FakeUpstream.Service) => {
  const apiKey = Redacted.make("sk-checks-0123456789")
  const made =
    provider === "openai"
      ? OpenAiCompatible.make({ baseUrl: upstream.baseUrl, apiKey, provider: "fake" })
      : provider === "anthropic"
        ? Anthropic.make({ baseUrl: upstream.url, apiKey })
        : Gemini.make({ baseUrl: upstream.url, apiKey })
  return Effect.provide(made, FetchHttpClient.layer)
}

/** Runs every bad request through chat and chatStream (and embed where offered), collecting the errors. */
const rejectAll = (service: LlmService.Service, withEmbed: boolean) =>
  Effect.gen(function* () {
    for (const [field, request] of badChats) {
      const chat = yield* Effect.flip(service.chat(request))
      const stream = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      for (const error of [chat, stream]) {
        expect(error._tag, field).toBe("BadRequest")
        expect(error.message).toContain(field)
        expect(error.message).toContain("nothing was sent")
      }
    }
    if (!withEmbed) return
    for (const [field, request] of badEmbeddings) {
      const error = yield* Effect.flip(service.embed(request))
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toContain(field)
    }
  })

/** The rules, written out once more as plain predicates: the reference the property tests hold `Validate` to. */
const finite = (v: unknown) => v == null || (typeof v === "number" && Number.isFinite(v))
const whole = (v: unknown, min: number) => v == null || (typeof v === "number" && Number.isSafeInteger(v) && v >= min)
const chatSurelyValid = (r: Record<string, unknown>): boolean =>
  typeof r["model"] === "string" &&
  Array.isArray(r["messages"]) &&
  whole(r["max_tokens"], 0) &&
  whole(r["max_completion_tokens"], 0) &&
  finite(r["temperature"]) &&
  finite(r["top_p"]) &&
  finite(r["presence_penalty"]) &&
  finite(r["frequency_penalty"]) &&
  whole(r["n"], 1) &&
  whole(r["top_logprobs"], 0) &&
  whole(r["seed"], Number.NEGATIVE_INFINITY)
const embeddingSurelyValid = (r: Record<string, unknown>): boolean =>
  typeof r["model"] === "string" &&
  (typeof r["input"] === "string" || Array.isArray(r["input"])) &&
  (r["dimensions"] === undefined || whole(r["dimensions"], 1))

describe("requests are checked before anything is sent", () => {
  for (const provider of ["openai", "anthropic", "gemini"] as const) {
    it.scoped(`${provider}: out-of-range numbers are BadRequest naming the field; the upstream receives nothing`, () =>
      Effect.gen(function* () {
        const upstream = yield* FakeUpstream.make()
        const service = yield* serviceFor(provider, upstream)
        yield* rejectAll(service, provider !== "anthropic")
        expect(yield* upstream.requests).toHaveLength(0)
      })
    )
  }

  it.scoped("openai: a request with valid numbers still goes out, with its numbers intact (never null)", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make()
      const service = yield* serviceFor("openai", upstream)
      yield* service.chat({ ...base, max_tokens: 0, temperature: 0.5, top_p: 1, n: 1, presence_penalty: -1 })
      const [sent] = yield* upstream.requests
      expect(sent?.body).toMatchObject({ max_tokens: 0, temperature: 0.5, top_p: 1, n: 1, presence_penalty: -1 })
    })
  )

  it.effect("LlmTest: the same requests fail the same way and are neither recorded nor counted", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      yield* rejectAll(test.service, true)
      expect(yield* test.requests).toHaveLength(0)
      expect(yield* test.calls).toBe(0)
      yield* test.service.chat(base)
      expect(yield* test.calls).toBe(1)
    })
  )

  /** Any value a numeric field may hold in a request built from untyped JSON. */
  const anyNumber = FastCheck.oneof(
    FastCheck.constantFrom(undefined, null, Number.NaN, Infinity, -Infinity, -0, 0.5, 2 ** 60, "3", true),
    FastCheck.integer({ min: -3, max: 5 }),
    FastCheck.double()
  )
  const fields = [
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "n",
    "top_logprobs",
    "seed"
  ] as const

  it.prop(
    "Validate accepts exactly the chat requests the reference rules accept",
    {
      values: FastCheck.array(anyNumber, { minLength: fields.length, maxLength: fields.length }),
      model: FastCheck.constantFrom("m", 1, undefined),
      messages: FastCheck.constantFrom([], [{ role: "user", content: "x" }], null, "x")
    },
    ({ messages, model, values }) => {
      const request: Record<string, unknown> = { model, messages }
      fields.forEach((field, i) => {
        if (values[i] !== undefined) request[field] = values[i]
      })
      expect(chatSurelyValid(request)).toBe(Validate.chatProblem(request) === undefined)
    }
  )

  it.prop(
    "Validate accepts exactly the embeddings requests the reference rules accept",
    {
      dimensions: anyNumber,
      input: FastCheck.constantFrom("x", ["x"], [1, 2], 3, null),
      model: FastCheck.constantFrom("e", null)
    },
    ({ dimensions, input, model }) => {
      const request = dimensions === undefined ? { model, input } : { model, input, dimensions }
      expect(embeddingSurelyValid(request)).toBe(Validate.embeddingProblem(request) === undefined)
    }
  )
})
