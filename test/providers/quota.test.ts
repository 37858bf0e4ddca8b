/**
 * Each provider's documented "out of quota" answer, over real HTTP from a FakeUpstream on 127.0.0.1, becomes
 * `QuotaExceeded`; the rate limits next to it stay `RateLimited`.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as Chat from "../../src/Chat.js"
import * as Deployment from "../../src/Deployment.js"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import type * as LiterLlmError from "../../src/LiterLlmError.js"
import * as Anthropic from "../../src/providers/Anthropic.js"
import * as Gemini from "../../src/providers/Gemini.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"
import * as Router from "../../src/Router.js"
import * as Strategy from "../../src/Strategy.js"

const apiKey = Redacted.make("sk-quota-test-0123456789")
const request: Chat.ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "hi" }] }

const openAi = (upstream: FakeUpstream.Service) =>
  OpenAiCompatible.make({ baseUrl: upstream.baseUrl, apiKey, provider: "openai" }).pipe(
    Effect.provide(FetchHttpClient.layer)
  )
const anthropic = (upstream: FakeUpstream.Service) =>
  Anthropic.make({ baseUrl: upstream.url, apiKey }).pipe(Effect.provide(FetchHttpClient.layer))
const gemini = (upstream: FakeUpstream.Service) =>
  Gemini.make({ baseUrl: upstream.url, apiKey }).pipe(Effect.provide(FetchHttpClient.layer))

/** The error a chat and a stream each get from one scripted answer. */
const bothFail = (make: typeof openAi, script: FakeUpstream.Script) =>
  Effect.gen(function* () {
    const upstream = yield* FakeUpstream.make({ script })
    const service = yield* make(upstream)
    const chat = yield* Effect.flip(service.chat(request))
    const stream = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
    return [chat, stream] as const
  })

const expectQuota = (errors: ReadonlyArray<LiterLlmError.LiterLlmError>, status: number, provider: string) => {
  for (const error of errors) {
    expect(error._tag).toBe("QuotaExceeded")
    expect(error).toMatchObject({ status, provider })
    expect(error.message).toContain("quota")
  }
}

// OpenAI's answer when the account's credit or monthly budget is spent.
const insufficientQuota = {
  error: {
    message: "You exceeded your current quota, please check your plan and billing details.",
    type: "insufficient_quota",
    param: null,
    code: "insufficient_quota"
  }
}

describe("OpenAI-compatible quota answers", () => {
  it.scoped("429 insufficient_quota is QuotaExceeded, for chat and streams", () =>
    Effect.map(bothFail(openAi, { status: 429, body: insufficientQuota }), (errors) =>
      expectQuota(errors, 429, "openai")
    )
  )

  it.scoped("a 429 rate limit with its Retry-After stays RateLimited", () =>
    Effect.gen(function* () {
      const body = { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } }
      const [chat] = yield* bothFail(openAi, { status: 429, body, headers: { "retry-after": "2" } })
      expect(chat._tag).toBe("RateLimited")
      expect((chat as LiterLlmError.RateLimited).retryAfter).toEqual(Duration.seconds(2))
    })
  )

  it.scoped("402 Payment Required (OpenRouter's insufficient credits) is QuotaExceeded", () =>
    Effect.map(
      bothFail(openAi, { status: 402, body: { error: { message: "Insufficient credits", code: 402 } } }),
      (errors) => expectQuota(errors, 402, "openai")
    )
  )

  it.scoped("an insufficient_quota error event opening a 200 stream is QuotaExceeded", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({
        script: { events: [`data: ${JSON.stringify(insufficientQuota)}\n\n`] }
      })
      const service = yield* openAi(upstream)
      const error = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      expect(error._tag).toBe("QuotaExceeded")
    })
  )
})

describe("Anthropic quota answers", () => {
  it.scoped("billing_error is QuotaExceeded", () =>
    Effect.map(
      bothFail(anthropic, {
        status: 402,
        body: { type: "error", error: { type: "billing_error", message: "Billing error" } }
      }),
      (errors) => expectQuota(errors, 402, "anthropic")
    )
  )

  it.scoped("a 400 saying the credit balance is too low is QuotaExceeded, other 400s stay BadRequest", () =>
    Effect.gen(function* () {
      const credit = {
        type: "error",
        error: {
          type: "invalid_request_error",
          message: "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing."
        }
      }
      expectQuota(yield* bothFail(anthropic, { status: 400, body: credit }), 400, "anthropic")
      const other = { type: "error", error: { type: "invalid_request_error", message: "messages: field required" } }
      const [chat] = yield* bothFail(anthropic, { status: 400, body: other })
      expect(chat._tag).toBe("BadRequest")
    })
  )

  it.scoped("a billing_error event before the message started is QuotaExceeded", () =>
    Effect.gen(function* () {
      const event = { type: "error", error: { type: "billing_error", message: "Billing error" } }
      const upstream = yield* FakeUpstream.make({
        script: { events: [`event: error\ndata: ${JSON.stringify(event)}\n\n`] }
      })
      const service = yield* anthropic(upstream)
      const error = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      expect(error._tag).toBe("QuotaExceeded")
    })
  )
})

const exhausted = (message: string, details: ReadonlyArray<unknown>) => ({
  error: { code: 429, message, status: "RESOURCE_EXHAUSTED", details }
})
const quotaFailure = {
  "@type": "type.googleapis.com/google.rpc.QuotaFailure",
  violations: [{ quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests" }]
}
const retryInfo = { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "20s" }

describe("Gemini quota answers", () => {
  it.scoped("RESOURCE_EXHAUSTED with a QuotaFailure and no RetryInfo is QuotaExceeded", () =>
    Effect.map(
      bothFail(gemini, { status: 429, body: exhausted("Quota exceeded for metric", [quotaFailure]) }),
      (errors) => expectQuota(errors, 429, "gemini")
    )
  )

  it.scoped("RESOURCE_EXHAUSTED saying the current quota is exceeded, without details, is QuotaExceeded", () =>
    Effect.map(
      bothFail(gemini, {
        status: 429,
        body: exhausted("You exceeded your current quota, please check your plan and billing details.", [])
      }),
      (errors) => expectQuota(errors, 429, "gemini")
    )
  )

  it.scoped("RESOURCE_EXHAUSTED with a RetryInfo, or the bare per-minute answer, stays RateLimited", () =>
    Effect.gen(function* () {
      const [withDelay] = yield* bothFail(gemini, {
        status: 429,
        body: exhausted("Quota exceeded for metric", [quotaFailure, retryInfo])
      })
      expect(withDelay._tag).toBe("RateLimited")
      expect((withDelay as LiterLlmError.RateLimited).retryAfter).toEqual(Duration.seconds(20))
      const [bare] = yield* bothFail(gemini, {
        status: 429,
        body: exhausted("Resource has been exhausted (e.g. check quota).", [])
      })
      expect(bare._tag).toBe("RateLimited")
    })
  )
})

describe("a router over real upstreams", () => {
  it.scoped("asks the out-of-quota upstream once and answers from the next", () =>
    Effect.gen(function* () {
      const spent = yield* FakeUpstream.make({ script: { status: 429, body: insufficientQuota } })
      const fine = yield* FakeUpstream.make({ script: { reply: "from the second" } })
      const deployment = (name: string, upstream: FakeUpstream.Service) =>
        Deployment.make({
          name,
          layer: OpenAiCompatible.layer({ baseUrl: upstream.baseUrl, apiKey }).pipe(
            Layer.provide(FetchHttpClient.layer)
          )
        })
      const router = yield* Router.make({
        deployments: [deployment("spent", spent), deployment("fine", fine)],
        strategy: Strategy.fallback(),
        retry: Schedule.recurs(2)
      })
      for (let i = 0; i < 3; i++) {
        const response = yield* router.service.chat(request)
        expect(response.choices[0].message.content).toBe("from the second")
      }
      expect(yield* spent.requests).toHaveLength(1) // never retried, then resting
      expect(yield* fine.requests).toHaveLength(3)
    })
  )
})
