import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Errors from "../../src/gateway/internal/http/errors.js"
import * as LiterLlmError from "../../src/LiterLlmError.js"
import * as Validate from "../../src/internal/validate.js"

const statusOf = (error: LiterLlmError.LiterLlmError) => Errors.ofError(error).status

const headersOf = (reply: Errors.ErrorReply) =>
  Effect.sync(() => {
    const response = Errors.toResponse(reply, { "x-request-id": "r1" })
    return { status: response.status, headers: response.headers }
  })

describe("gateway error mapping", () => {
  it.effect("maps every error to the status an OpenAI client expects", () =>
    Effect.sync(() => {
      expect(statusOf(new LiterLlmError.Authentication({}))).toBe(401)
      expect(statusOf(new LiterLlmError.Authentication({ status: 403 }))).toBe(403)
      expect(statusOf(new LiterLlmError.RateLimited({}))).toBe(429)
      expect(statusOf(new LiterLlmError.BadRequest({}))).toBe(400)
      expect(statusOf(new LiterLlmError.ContextWindowExceeded({}))).toBe(400)
      expect(statusOf(new LiterLlmError.ContentPolicy({}))).toBe(400)
      expect(statusOf(new LiterLlmError.NotFound({}))).toBe(404)
      expect(statusOf(new LiterLlmError.ServerError({}))).toBe(500)
      expect(statusOf(new LiterLlmError.ServiceUnavailable({}))).toBe(503)
      expect(statusOf(new LiterLlmError.Timeout({}))).toBe(504)
      expect(statusOf(new LiterLlmError.Network({}))).toBe(502)
      expect(statusOf(new LiterLlmError.Streaming({}))).toBe(502)
      expect(statusOf(new LiterLlmError.Serialization({}))).toBe(502)
      expect(statusOf(new LiterLlmError.EndpointNotSupported({ endpoint: "embeddings", provider: "x" }))).toBe(400)
      expect(statusOf(new LiterLlmError.InvalidHeader({ name: "a", reason: "b" }))).toBe(500)
      expect(statusOf(new LiterLlmError.BudgetExceeded({}))).toBe(429)
      expect(statusOf(new LiterLlmError.HookRejected({}))).toBe(400)
      expect(statusOf(new LiterLlmError.InternalError({}))).toBe(500)
      expect(statusOf(new LiterLlmError.NoDeploymentAvailable({}))).toBe(503)
      expect(statusOf(new LiterLlmError.AllDeploymentsFailed({ attempts: [] }))).toBe(503)
    })
  )

  it.effect("OpenAI's body: message, type, param, code; the codes OpenAI uses where it has them", () =>
    Effect.sync(() => {
      const reply = Errors.ofError(new LiterLlmError.ContextWindowExceeded({ message: "too long" }))
      expect(Errors.body(reply)).toEqual({
        error: {
          message: "too long",
          type: "invalid_request_error",
          param: "messages",
          code: "context_length_exceeded"
        }
      })
      const invalid = Validate.chatProblem({ model: "m", messages: [], temperature: Number.NaN })!
      expect(Errors.body(Errors.ofError(invalid)).error.param).toBe("temperature")
      expect(Errors.body(Errors.ofError(new LiterLlmError.BadRequest({ message: "nope" }))).error.param).toBeNull()
    })
  )

  it.effect("retry-after in seconds (rounded up) and milliseconds when the wait is known", () =>
    Effect.gen(function* () {
      const { status, headers } = yield* headersOf(
        Errors.ofError(new LiterLlmError.RateLimited({ retryAfter: Duration.millis(1500) }))
      )
      expect(status).toBe(429)
      expect(headers["retry-after"]).toBe("2")
      expect(headers["retry-after-ms"]).toBe("1500")
      expect(headers["x-should-retry"]).toBeUndefined()
      expect(headers["x-request-id"]).toBe("r1")
    })
  )

  it.effect("x-should-retry: false where retrying cannot help, absent where it may", () =>
    Effect.gen(function* () {
      const never = [
        new LiterLlmError.BadRequest({}),
        new LiterLlmError.Authentication({}),
        new LiterLlmError.BudgetExceeded({}),
        new LiterLlmError.InternalError({}),
        new LiterLlmError.NotFound({})
      ]
      for (const error of never) {
        expect((yield* headersOf(Errors.ofError(error))).headers["x-should-retry"]).toBe("false")
      }
      const maybe = [
        new LiterLlmError.ServiceUnavailable({}),
        new LiterLlmError.Timeout({}),
        new LiterLlmError.Network({})
      ]
      for (const error of maybe) {
        expect((yield* headersOf(Errors.ofError(error))).headers["x-should-retry"]).toBeUndefined()
      }
    })
  )

  it.effect("every deployment rate limited is a 429 with the soonest wait, not an outage", () =>
    Effect.sync(() => {
      const attempt = (deployment: string, error: LiterLlmError.LiterLlmError) => ({
        deployment,
        error,
        duration: Duration.millis(1)
      })
      const limited = Errors.ofError(
        new LiterLlmError.AllDeploymentsFailed({
          attempts: [
            attempt("a", new LiterLlmError.RateLimited({ retryAfter: Duration.seconds(5) })),
            attempt("b", new LiterLlmError.RateLimited({ retryAfter: Duration.seconds(2) }))
          ]
        })
      )
      expect(limited.status).toBe(429)
      expect(limited.retryAfter).toEqual(Duration.seconds(2))
      const mixed = Errors.ofError(
        new LiterLlmError.AllDeploymentsFailed({
          attempts: [
            attempt("a", new LiterLlmError.RateLimited({})),
            attempt("b", new LiterLlmError.ServiceUnavailable({}))
          ]
        })
      )
      expect(mixed.status).toBe(503)
    })
  )
})
