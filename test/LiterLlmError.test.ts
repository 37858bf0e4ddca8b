import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, TestClock } from "effect"
import * as LiterLlmError from "../src/LiterLlmError.js"

const openAiError = (message: string, code: string | null = null, type = "invalid_request_error") =>
  JSON.stringify({ error: { message, type, param: null, code } })

const anthropicError = (type: string, message: string) => JSON.stringify({ type: "error", error: { type, message } })

const map = (status: number, body?: unknown, headers?: LiterLlmError.HeadersInput) =>
  LiterLlmError.fromResponse({ status, body, headers, provider: "acme" })

describe("fromResponse: the status table", () => {
  it.effect.each([
    [401, "Authentication"],
    [403, "Authentication"],
    [404, "NotFound"],
    [405, "BadRequest"],
    [413, "BadRequest"],
    [409, "BadRequest"],
    [418, "BadRequest"],
    [451, "BadRequest"],
    [408, "Timeout"],
    [500, "ServerError"],
    [502, "ServiceUnavailable"],
    [503, "ServiceUnavailable"],
    [504, "ServiceUnavailable"],
    [529, "ServiceUnavailable"],
    [501, "ServerError"],
    [507, "ServerError"],
    [599, "ServerError"],
    [302, "ServerError"]
  ] as const)("HTTP %i → %s", ([status, tag]) =>
    Effect.gen(function* () {
      const error = yield* map(status, openAiError("something went wrong", null, "server_error"))
      expect(error._tag).toBe(tag)
      expect(error).toMatchObject({ status, provider: "acme" })
      expect(error.message).toContain("HTTP " + status)
      expect(error.message).toContain("something went wrong")
    })
  )

  it.effect("a plain 400 and 422 are BadRequest", () =>
    Effect.gen(function* () {
      for (const status of [400, 422]) {
        const error = yield* map(status, openAiError("'messages' is a required property"))
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain("'messages' is a required property")
      }
    })
  )
})

describe("fromResponse: context window and content policy", () => {
  it.effect.each([
    ["OpenAI code", openAiError("This request is too large.", "context_length_exceeded")],
    [
      "OpenAI message",
      openAiError(
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens.",
        null
      )
    ],
    ["Anthropic", anthropicError("invalid_request_error", "prompt is too long: 210345 tokens > 200000 maximum")],
    ["context window wording", openAiError("Input exceeds the context window of this model")],
    ["too many tokens wording", JSON.stringify({ message: "Request has too many tokens for model llama-3" })],
    ["parsed JSON body", { error: { message: "bad", code: "context_length_exceeded" } }]
  ])("%s → ContextWindowExceeded (400 and 422)", ([, body]) =>
    Effect.gen(function* () {
      for (const status of [400, 422]) {
        const error = yield* map(status, body)
        expect(error._tag).toBe("ContextWindowExceeded")
        expect(error).toMatchObject({ status, provider: "acme" })
      }
    })
  )

  it.effect.each([
    [
      "content_policy_violation",
      openAiError("Your request was rejected by our safety system", "content_policy_violation")
    ],
    ["content_filter", openAiError("The response was filtered", "content_filter")],
    ["type only", JSON.stringify({ error: { message: "nope", type: "content_policy_violation" } })]
  ])("%s → ContentPolicy", ([, body]) =>
    Effect.gen(function* () {
      for (const status of [400, 422]) {
        const error = yield* map(status, body)
        expect(error._tag).toBe("ContentPolicy")
      }
    })
  )

  it.effect("detection is limited to 400/422: the same body on a 500 is a ServerError", () =>
    Effect.gen(function* () {
      const error = yield* map(500, openAiError("maximum context length is 10", "context_length_exceeded"))
      expect(error._tag).toBe("ServerError")
    })
  )

  it.effect("an Anthropic error body's message is read", () =>
    Effect.gen(function* () {
      const error = yield* map(529, anthropicError("overloaded_error", "Overloaded"))
      expect(error._tag).toBe("ServiceUnavailable")
      expect(error.message).toContain("Overloaded")
    })
  )
})

describe("fromResponse: odd bodies", () => {
  it.effect("a non-JSON body is kept as the message, truncated when huge", () =>
    Effect.gen(function* () {
      const html = yield* map(502, "<html><body>502 Bad Gateway</body></html>")
      expect(html._tag).toBe("ServiceUnavailable")
      expect(html.message).toContain("502 Bad Gateway")
      const huge = yield* map(400, "x".repeat(10_000))
      expect(huge._tag).toBe("BadRequest")
      expect(huge.message.length).toBeLessThan(1000)
    })
  )

  it.effect("an empty or missing body still maps by status, with a useful message", () =>
    Effect.gen(function* () {
      for (const body of ["", "   ", undefined, null]) {
        const error = yield* map(400, body)
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain("HTTP 400")
        expect(error.message).toMatch(/fix the request/)
      }
      expect((yield* map(503, "")).message).toMatch(/retry|fail over/)
    })
  )

  it.effect('`{"error": "text"}` and Gemini\'s array-wrapped errors are read', () =>
    Effect.gen(function* () {
      expect((yield* map(400, JSON.stringify({ error: "model is required" }))).message).toContain("model is required")
      const gemini = yield* map(
        400,
        JSON.stringify([
          {
            error: {
              code: 400,
              message: "The input token count exceeds the maximum number of tokens allowed",
              status: "INVALID_ARGUMENT"
            }
          }
        ])
      )
      expect(gemini._tag).toBe("ContextWindowExceeded")
    })
  )

  it.effect("without a provider the message still names the status", () =>
    Effect.gen(function* () {
      const error = yield* LiterLlmError.fromResponse({ status: 401 })
      expect(error._tag).toBe("Authentication")
      expect(error).toMatchObject({ status: 401, provider: undefined })
      expect(error.message).toMatch(/HTTP 401.*API key/)
    })
  )
})

describe("fromResponse: Retry-After", () => {
  const retryAfterOf = (headers: LiterLlmError.HeadersInput) =>
    Effect.map(map(429, "", headers), (error) => {
      expect(error._tag).toBe("RateLimited")
      return (error as LiterLlmError.RateLimited).retryAfter
    })

  it.effect("retry-after-ms", () =>
    Effect.gen(function* () {
      expect(yield* retryAfterOf({ "retry-after-ms": "1500" })).toEqual(Duration.millis(1500))
      // retry-after-ms wins over retry-after
      expect(yield* retryAfterOf({ "Retry-After-Ms": "250", "Retry-After": "9" })).toEqual(Duration.millis(250))
    })
  )

  it.effect("without a header, Google's RetryInfo in the body (Gemini's 429); a header still wins", () =>
    Effect.gen(function* () {
      const body = JSON.stringify({
        error: {
          code: 429,
          status: "RESOURCE_EXHAUSTED",
          message: "Resource has been exhausted",
          details: [
            { "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [] },
            { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "34.4s" }
          ]
        }
      })
      const fromBody = yield* map(429, body, {})
      expect(fromBody._tag === "RateLimited" && fromBody.retryAfter).toEqual(Duration.millis(34_400))
      const fromHeader = yield* map(429, body, { "retry-after": "2" })
      expect(fromHeader._tag === "RateLimited" && fromHeader.retryAfter).toEqual(Duration.seconds(2))
    })
  )

  it.effect("retry-after in seconds, any header casing, also from a Headers object", () =>
    Effect.gen(function* () {
      expect(yield* retryAfterOf({ "Retry-After": "7" })).toEqual(Duration.seconds(7))
      expect(yield* retryAfterOf({ "retry-after": "0.5" })).toEqual(Duration.millis(500))
      expect(yield* retryAfterOf(new Headers({ "retry-after": "3" }))).toEqual(Duration.seconds(3))
      expect(yield* retryAfterOf({ "retry-after": ["4", "5"] })).toEqual(Duration.seconds(4))
    })
  )

  it.effect("retry-after as an HTTP-date is measured against the Clock", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2025-01-01T00:00:00Z"))
      expect(yield* retryAfterOf({ "retry-after": "Wed, 01 Jan 2025 00:00:30 GMT" })).toEqual(Duration.seconds(30))
      yield* TestClock.adjust("20 seconds")
      expect(yield* retryAfterOf({ "retry-after": "Wed, 01 Jan 2025 00:00:30 GMT" })).toEqual(Duration.seconds(10))
      // a date in the past means "now"
      yield* TestClock.adjust("1 minute")
      expect(yield* retryAfterOf({ "retry-after": "Wed, 01 Jan 2025 00:00:30 GMT" })).toEqual(Duration.zero)
    })
  )

  it.effect("is capped at maxRetryAfter", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2025-01-01T00:00:00Z"))
      expect(yield* retryAfterOf({ "retry-after": "86400" })).toEqual(LiterLlmError.maxRetryAfter)
      expect(yield* retryAfterOf({ "retry-after-ms": "99999999" })).toEqual(LiterLlmError.maxRetryAfter)
      expect(yield* retryAfterOf({ "retry-after": "Thu, 02 Jan 2025 00:00:00 GMT" })).toEqual(
        LiterLlmError.maxRetryAfter
      )
      expect(Duration.toMinutes(LiterLlmError.maxRetryAfter)).toBe(10)
    })
  )

  it.effect("absent or unreadable headers leave retryAfter undefined and say 'later'", () =>
    Effect.gen(function* () {
      expect(yield* retryAfterOf({})).toBeUndefined()
      expect(yield* retryAfterOf({ "retry-after": "soon" })).toBeUndefined()
      expect(yield* retryAfterOf({ "retry-after-ms": "-5" })).toBeUndefined()
      const error = yield* map(429, openAiError("Rate limit reached", "rate_limit_exceeded"))
      expect(error.message).toMatch(/retry later/)
      const timed = yield* map(429, "", { "retry-after": "2" })
      expect(timed.message).toMatch(/retry after 2s/)
    })
  )
})

const everyVariant: ReadonlyArray<readonly [LiterLlmError.LiterLlmError, boolean]> = [
  [new LiterLlmError.Authentication(), false],
  [new LiterLlmError.RateLimited(), true],
  [new LiterLlmError.BadRequest(), false],
  [new LiterLlmError.ContextWindowExceeded(), false],
  [new LiterLlmError.ContentPolicy(), false],
  [new LiterLlmError.NotFound(), false],
  [new LiterLlmError.ServerError(), true],
  [new LiterLlmError.ServiceUnavailable(), true],
  [new LiterLlmError.Timeout(), true],
  [new LiterLlmError.Network(), true],
  [new LiterLlmError.Streaming(), false],
  [new LiterLlmError.EndpointNotSupported({ endpoint: "embed", provider: "acme" }), false],
  [new LiterLlmError.InvalidHeader({ name: "x-api-key", reason: "contains a newline" }), false],
  [new LiterLlmError.Serialization(), false],
  [new LiterLlmError.BudgetExceeded(), false],
  [new LiterLlmError.HookRejected(), false],
  [new LiterLlmError.InternalError(), false],
  [new LiterLlmError.AllDeploymentsFailed({ attempts: [] }), true],
  [new LiterLlmError.NoDeploymentAvailable(), true],
  [new LiterLlmError.QuotaExceeded(), false]
]

describe("fromResponse: a used-up quota", () => {
  it.effect.each([
    [
      "OpenAI 429 insufficient_quota",
      429,
      openAiError("You exceeded your current quota.", "insufficient_quota", "insufficient_quota")
    ],
    ["Anthropic billing_error", 402, anthropicError("billing_error", "Billing error")],
    ["Anthropic's low credit balance", 400, anthropicError("invalid_request_error", "Your credit balance is too low.")],
    ["any 402", 402, JSON.stringify({ error: { message: "Insufficient Balance" } })],
    [
      "Gemini's QuotaFailure without RetryInfo",
      429,
      {
        error: {
          code: 429,
          status: "RESOURCE_EXHAUSTED",
          details: [{ "@type": "type.googleapis.com/google.rpc.QuotaFailure" }]
        }
      }
    ]
  ] as const)("%s → QuotaExceeded", ([, status, body]) =>
    Effect.gen(function* () {
      const error = yield* map(status, body)
      expect(error._tag).toBe("QuotaExceeded")
      expect(error).toMatchObject({ status, provider: "acme" })
      expect(LiterLlmError.shouldFailover(error)).toBe(true)
      expect(LiterLlmError.isTransient(error)).toBe(false)
    })
  )

  it.effect("a 429 that says when to come back is a rate limit, whatever its message", () =>
    Effect.gen(function* () {
      const said = openAiError("You exceeded your current quota for this minute.")
      const error = yield* map(429, said, { "retry-after": "5" })
      expect(error._tag).toBe("RateLimited")
      expect((yield* map(429, said))._tag).toBe("QuotaExceeded")
    })
  )
})

describe("variants", () => {
  it("the table covers all 20 variants once", () => {
    expect(new Set(everyVariant.map(([e]) => e._tag)).size).toBe(20)
  })

  it.each(everyVariant.map(([e, transient]) => [e._tag, e, transient] as const))(
    "%s: isTransient and a default message that says what to do",
    (_tag, error, transient) => {
      expect(LiterLlmError.isTransient(error)).toBe(transient)
      expect(LiterLlmError.isLiterLlmError(error)).toBe(true)
      expect(error.message.length).toBeGreaterThan(20)
      expect(error.message).toMatch(/retry|check|fix|change|shorten|raise|report|use |reset|add |see |send /i)
    }
  )

  it("an explicit message replaces the default, fields are kept", () => {
    const error = new LiterLlmError.RateLimited({ message: "slow down", retryAfter: Duration.seconds(3), status: 429 })
    expect(error.message).toBe("slow down")
    expect(error.retryAfter).toEqual(Duration.seconds(3))
    expect(new LiterLlmError.RateLimited({ retryAfter: Duration.seconds(3) }).message).toMatch(/after 3s/)
  })

  it("EndpointNotSupported, BudgetExceeded and AllDeploymentsFailed name what failed", () => {
    expect(new LiterLlmError.EndpointNotSupported({ endpoint: "embed", provider: "acme" }).message).toMatch(
      /acme.*embed/
    )
    expect(new LiterLlmError.BudgetExceeded({ model: "gpt-4o" }).message).toContain('"gpt-4o"')
    expect(new LiterLlmError.BudgetExceeded().message).toContain("global")
    const failed = new LiterLlmError.AllDeploymentsFailed({
      attempts: [
        { deployment: "a", error: new LiterLlmError.Timeout(), duration: Duration.seconds(1) },
        { deployment: "b", error: new LiterLlmError.ServerError(), duration: Duration.seconds(2) }
      ]
    })
    expect(failed.message).toMatch(/all 2 attempt\(s\) failed: a: Timeout, b: ServerError/)
  })

  it("isLiterLlmError rejects look-alikes", () => {
    expect(LiterLlmError.isLiterLlmError({ _tag: "Something" })).toBe(false)
    expect(LiterLlmError.isLiterLlmError(new Error("x"))).toBe(false)
    expect(LiterLlmError.isLiterLlmError(null)).toBe(false)
    expect(LiterLlmError.isLiterLlmError({ _tag: "Timeout", message: "m" })).toBe(true)
  })

  it.effect("errors fail effects as typed values and are caught by tag", () =>
    Effect.gen(function* () {
      const result = yield* Effect.fail(new LiterLlmError.Timeout({ provider: "acme" })).pipe(
        Effect.catchTag("Timeout", (e) => Effect.succeed(e.provider))
      )
      expect(result).toBe("acme")
    })
  )
})
