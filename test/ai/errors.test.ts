import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { EffectAi } from "../../src/ai/index.js"
import * as LiterLlmError from "../../src/LiterLlmError.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"
import { upstream } from "./kit.js"

const generate = LanguageModel.generateText({ prompt: "hi" })

describe("EffectAi errors over real HTTP", () => {
  it.scoped("a 429 becomes HttpResponseError with the status, the retry delay as headers, and no secret", () =>
    Effect.gen(function* () {
      const { llm } = yield* upstream({ script: { status: 429, headers: { "retry-after": "7" } } })
      const error = yield* generate.pipe(
        Effect.provide(EffectAi.layer({ model: "m" })),
        Effect.provide(llm),
        Effect.flip
      )
      expect(error._tag).toBe("HttpResponseError")
      if (error._tag !== "HttpResponseError") return
      expect(error.response.status).toBe(429)
      expect(error.response.headers).toMatchObject({ "retry-after": "7", "retry-after-ms": "7000" })
      expect(EffectAi.isRetryable(error)).toBe(true)
      expect(EffectAi.retryAfter(error)).toEqual(Option.some(Duration.seconds(7)))
      expect(JSON.parse(error.body ?? "{}").error.type).toBe("RateLimited")
      expect(error.description).toContain("RateLimited")
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain("sk-test")
    })
  )

  it.scoped("a refused connection becomes HttpRequestError (Transport), retryable, carrying the Network error", () =>
    Effect.gen(function* () {
      const closed = OpenAiCompatible.layer({
        baseUrl: "http://127.0.0.1:9/v1",
        apiKey: Redacted.make("sk-test")
      }).pipe(Layer.provide(FetchHttpClient.layer), Layer.orDie)
      const error = yield* generate.pipe(
        Effect.provide(EffectAi.layer({ model: "m" })),
        Effect.provide(closed),
        Effect.flip
      )
      expect(error._tag).toBe("HttpRequestError")
      expect(error._tag === "HttpRequestError" && error.reason).toBe("Transport")
      expect(error._tag === "HttpRequestError" && (error.cause as LiterLlmError.LiterLlmError)._tag).toBe("Network")
      expect(EffectAi.isRetryable(error)).toBe(true)
    })
  )
})

const attempt = (error: LiterLlmError.LiterLlmError) => ({ deployment: "d", error, duration: Duration.millis(1) })

/** Every variant, as the library makes it, with the AiError and status it must become. */
const table: ReadonlyArray<readonly [LiterLlmError.LiterLlmError, AiError.AiError["_tag"], number | undefined]> = [
  [new LiterLlmError.Authentication({ status: 403 }), "HttpResponseError", 403],
  [new LiterLlmError.Authentication(), "HttpResponseError", 401],
  [new LiterLlmError.RateLimited({ retryAfter: Duration.seconds(2) }), "HttpResponseError", 429],
  [new LiterLlmError.BadRequest({ status: 422 }), "HttpResponseError", 422],
  [new LiterLlmError.BadRequest({ message: "invalid chat request: …; nothing was sent" }), "MalformedInput", undefined],
  [new LiterLlmError.ContextWindowExceeded({ status: 400 }), "HttpResponseError", 400],
  [new LiterLlmError.ContentPolicy({ status: 400 }), "HttpResponseError", 400],
  [new LiterLlmError.NotFound({ status: 404 }), "HttpResponseError", 404],
  [new LiterLlmError.ServerError({ status: 500 }), "HttpResponseError", 500],
  [new LiterLlmError.ServerError({ status: 302 }), "HttpResponseError", 500],
  [new LiterLlmError.ServiceUnavailable({ status: 529 }), "HttpResponseError", 529],
  [new LiterLlmError.ServiceUnavailable(), "HttpResponseError", 503],
  [new LiterLlmError.Timeout(), "HttpResponseError", 408],
  [new LiterLlmError.Network(), "HttpRequestError", undefined],
  [new LiterLlmError.Streaming(), "MalformedOutput", undefined],
  [new LiterLlmError.Streaming({ status: 500 }), "MalformedOutput", undefined],
  [new LiterLlmError.Serialization(), "MalformedOutput", undefined],
  [new LiterLlmError.InvalidHeader({ name: "x", reason: "bad" }), "MalformedInput", undefined],
  [new LiterLlmError.EndpointNotSupported({ endpoint: "embed", provider: "p" }), "UnknownError", undefined],
  [new LiterLlmError.BudgetExceeded(), "UnknownError", undefined],
  [new LiterLlmError.HookRejected(), "UnknownError", undefined],
  [new LiterLlmError.InternalError(), "UnknownError", undefined],
  [new LiterLlmError.NoDeploymentAvailable({ retryAfter: Duration.seconds(30) }), "HttpResponseError", 503],
  [
    new LiterLlmError.AllDeploymentsFailed({ attempts: [attempt(new LiterLlmError.RateLimited({ status: 429 }))] }),
    "HttpResponseError",
    429
  ],
  [new LiterLlmError.AllDeploymentsFailed({ attempts: [] }), "HttpResponseError", 503]
]

describe("EffectAi.toAiError", () => {
  it.effect("maps every library error as the module docs' table says; retryable exactly when transient", () =>
    Effect.sync(() => {
      for (const [error, tag, status] of table) {
        const mapped = EffectAi.toAiError(error)
        expect([error._tag, mapped._tag]).toEqual([error._tag, tag])
        expect([error._tag, mapped._tag === "HttpResponseError" ? mapped.response.status : undefined]).toEqual([
          error._tag,
          status
        ])
        expect([error._tag, EffectAi.isRetryable(mapped)]).toEqual([error._tag, LiterLlmError.isTransient(error)])
        if (mapped._tag !== "HttpResponseError") expect(mapped.cause).toBe(error)
      }
    })
  )

  it.effect("an answered error reads back as the same variant through LiterLlmError.fromResponse", () =>
    Effect.gen(function* () {
      for (const [error] of table) {
        const mapped = EffectAi.toAiError(error)
        if (mapped._tag !== "HttpResponseError" || error._tag.endsWith("Failed") || error._tag.startsWith("No"))
          continue
        const back = yield* LiterLlmError.fromResponse({
          status: mapped.response.status,
          headers: mapped.response.headers,
          body: mapped.body
        })
        expect([error._tag, back._tag]).toEqual([error._tag, error._tag])
      }
    })
  )

  it.effect("AllDeploymentsFailed carries the last attempt's status and the shortest delay any attempt gave", () =>
    Effect.sync(() => {
      const error = new LiterLlmError.AllDeploymentsFailed({
        attempts: [
          attempt(new LiterLlmError.RateLimited({ status: 429, retryAfter: Duration.seconds(9) })),
          attempt(new LiterLlmError.RateLimited({ status: 429, retryAfter: Duration.millis(1500) })),
          attempt(new LiterLlmError.ServiceUnavailable({ status: 502 }))
        ]
      })
      const mapped = EffectAi.toAiError(error, "streamText")
      expect(mapped._tag === "HttpResponseError" && mapped.response.status).toBe(502)
      expect(mapped._tag === "HttpResponseError" && mapped.method).toBe("streamText")
      expect(EffectAi.retryAfter(mapped)).toEqual(Option.some(Duration.millis(1500)))
    })
  )

  it.effect("isRetryable and retryAfter read any provider's AiError by its fields alone", () =>
    Effect.sync(() => {
      const request = {
        method: "POST" as const,
        url: "https://x/v1/responses",
        urlParams: [],
        hash: Option.none(),
        headers: {}
      }
      const answered = (status: number, headers: Record<string, string> = {}) =>
        new AiError.HttpResponseError({
          module: "OpenAiClient",
          method: "createResponse",
          reason: "StatusCode",
          request,
          response: { status, headers }
        })
      expect(EffectAi.isRetryable(answered(500))).toBe(true)
      expect(EffectAi.isRetryable(answered(429))).toBe(true)
      expect(EffectAi.isRetryable(answered(400))).toBe(false)
      expect(EffectAi.isRetryable(new AiError.MalformedOutput({ module: "m", method: "x" }))).toBe(false)
      expect(EffectAi.retryAfter(answered(429, { "Retry-After": "3" }))).toEqual(Option.some(Duration.seconds(3)))
      expect(EffectAi.retryAfter(answered(429, { "retry-after": "86400" }))).toEqual(
        Option.some(LiterLlmError.maxRetryAfter)
      )
      expect(EffectAi.retryAfter(answered(429, { "retry-after": "soon" }))).toEqual(Option.none())
    })
  )
})
