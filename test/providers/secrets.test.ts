/**
 * An API key that an upstream echoes back — in a response header such as `www-authenticate`, in an error body, in a
 * body that fails to decode, or inside a stream — reaches no error, no span attribute or event, and no log line.
 * Spans are caught with a recording tracer (`Tracer.make`), logs with a test logger at every level.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type * as Chat from "../../src/Chat.js"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import type * as LiterLlmError from "../../src/LiterLlmError.js"
import type * as LlmService from "../../src/LlmService.js"
import * as Telemetry from "../../src/Telemetry.js"
import * as Anthropic from "../../src/providers/Anthropic.js"
import * as Gemini from "../../src/providers/Gemini.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"

const secret = "sk-live-ECHOED-0123456789abcdef"

/** Headers a misbehaving upstream or proxy sends back, each quoting the key. */
const echoHeaders = {
  "www-authenticate": `Bearer realm="api", error="invalid_token", error_description="key ${secret} was revoked"`,
  "x-debug-credential": secret,
  "x-request-id": "req-123"
}

const request: Chat.ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "hi" }] }

/** Everything that leaves the spans, as text: names, attributes, events, and the failure of the exit. */
const recordingTracer = (seen: Array<string>): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `${seen.length}`,
        traceId: "trace",
        parent: parent as Option.Option<Tracer.AnySpan>,
        context: context as Context.Context<never>,
        get status() {
          return status
        },
        attributes,
        links: [...links],
        sampled: true,
        kind,
        end: (endTime, exit) => {
          status = { _tag: "Ended", startTime, endTime, exit }
          seen.push(`span ${name}`)
          for (const [key, value] of attributes) seen.push(`${key}=${String(value)}`)
          if (Exit.isFailure(exit)) seen.push(Cause.pretty(exit.cause, { renderErrorCause: true }))
        },
        attribute: (key, value) => {
          attributes.set(key, value)
        },
        event: (name, _time, attrs) => {
          seen.push(`event ${name} ${JSON.stringify(attrs ?? {})}`)
        },
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })

/** Logs at every level, with annotations and causes, as text. */
const recordingLogger = (seen: Array<string>) =>
  Logger.make(({ annotations, cause, message }) => {
    seen.push(`log ${String(message)} ${JSON.stringify([...annotations])} ${Cause.pretty(cause)}`)
  })

const errorTexts = (error: LiterLlmError.LiterLlmError): ReadonlyArray<string> => {
  const cause: unknown = "cause" in error ? error.cause : undefined
  return [
    error.message,
    String(error),
    JSON.stringify(error),
    cause instanceof Error ? `${cause.message} ${String(cause)}` : String(cause)
  ]
}

type Kind = "openai" | "anthropic" | "gemini"

const geminiAnswer = { candidates: [{ content: { role: "model", parts: [{ text: "ok" }] }, finishReason: "STOP" }] }

/** Per provider: the scripts that echo the key, in the order {@link calls} makes its requests. */
const scriptsFor = (kind: Kind): ReadonlyArray<FakeUpstream.Script> => {
  const errorBody =
    kind === "anthropic"
      ? { type: "error", error: { type: "authentication_error", message: `invalid x-api-key ${secret}` } }
      : { error: { message: `Incorrect API key provided: ${secret}`, code: "invalid_api_key" } }
  // the fake upstream has no Gemini routes: its answers get an explicit 200, and a Gemini "stream" is one JSON body
  // (no events), which still carries the echoing headers
  const ok = kind === "gemini" ? { status: 200, body: geminiAnswer } : {}
  const okStream = kind === "gemini" ? ok : {}
  const rejected = kind === "gemini" ? { status: 200 } : {}
  return [
    { status: 401, headers: echoHeaders, body: errorBody },
    { headers: echoHeaders, ...ok },
    { headers: echoHeaders, ...rejected, body: `key ${secret} rejected` },
    { status: 401, headers: echoHeaders, body: errorBody },
    { headers: echoHeaders, ...okStream },
    {
      headers: echoHeaders,
      ...rejected,
      events: [`data: {"error":{"message":"key ${secret} revoked"},"type":"error"}\n\n`]
    },
    { status: 403, headers: echoHeaders, body: errorBody }
  ]
}

const make = (kind: Kind, upstream: FakeUpstream.Service) => {
  const apiKey = Redacted.make(secret)
  const made =
    kind === "openai"
      ? OpenAiCompatible.make({ baseUrl: upstream.baseUrl, apiKey, provider: "echo" })
      : kind === "anthropic"
        ? Anthropic.make({ baseUrl: upstream.url, apiKey })
        : Gemini.make({ baseUrl: upstream.url, apiKey })
  return Effect.provide(made, FetchHttpClient.layer)
}

/** Runs the calls the scripts answer; gives every failure. */
const calls = (service: LlmService.Service) =>
  Effect.gen(function* () {
    const errors: Array<LiterLlmError.LiterLlmError> = []
    const run = <A>(effect: Effect.Effect<A, LiterLlmError.LiterLlmError>) =>
      Effect.flatMap(Effect.either(Effect.withSpan(effect, "caller")), (result) =>
        Effect.sync(() => {
          if (result._tag === "Left") errors.push(result.left)
        })
      )
    yield* run(service.chat(request))
    yield* run(service.chat(request))
    yield* run(service.chat(request))
    yield* run(Stream.runDrain(service.chatStream(request)))
    yield* run(Stream.runDrain(service.chatStream(request)))
    yield* run(Stream.runDrain(service.chatStream(request)))
    yield* run(service.listModels)
    return errors
  })

describe("an API key echoed back by the upstream stays secret", () => {
  for (const kind of ["openai", "anthropic", "gemini"] as const) {
    it.scoped(`${kind}: not in errors, span attributes, span failures or logs`, () =>
      Effect.gen(function* () {
        const seen: Array<string> = []
        const upstream = yield* FakeUpstream.make({ scripts: scriptsFor(kind) })
        const service = yield* Telemetry.make()(yield* make(kind, upstream))
        const errors = yield* calls(service).pipe(
          Effect.withTracer(recordingTracer(seen)),
          Effect.provide(Logger.replace(Logger.defaultLogger, recordingLogger(seen))),
          Logger.withMinimumLogLevel(LogLevel.All)
        )
        // the upstream really echoed it, and the calls really went out and failed where scripted
        expect((yield* upstream.requests).length).toBe(7)
        expect(errors.length).toBeGreaterThanOrEqual(4)
        expect(seen.some((line) => line.startsWith("http.response.header.www-authenticate"))).toBe(true)
        expect(seen.some((line) => line.includes("req-123"))).toBe(true)
        for (const error of errors) {
          for (const text of errorTexts(error)) expect(text, error._tag).not.toContain(secret)
        }
        for (const line of seen) expect(line).not.toContain(secret)
      })
    )
  }

  it.scoped("a key cut short where a quoted body is truncated is removed too, not only the whole key", () =>
    Effect.gen(function* () {
      // a stream event that is not JSON is quoted up to 120 characters: 12 characters of the key fit under the cut
      const padding = "x".repeat(108)
      const upstream = yield* FakeUpstream.make({ scripts: [{ events: [`data: ${padding}${secret}\n\n`] }] })
      const service = yield* make("openai", upstream)
      const error = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      expect(error._tag).toBe("Serialization")
      expect(error.message).toContain(`${padding}<redacted>…`)
      expect(error.message).not.toContain(secret.slice(0, 8))
    })
  )

  it.effect("a transport failure (connection refused) shows the key nowhere either", () =>
    Effect.gen(function* () {
      const seen: Array<string> = []
      const service = yield* Effect.provide(
        OpenAiCompatible.make({ baseUrl: "http://127.0.0.1:1/v1", apiKey: Redacted.make(secret), provider: "gone" }),
        FetchHttpClient.layer
      )
      const error = yield* Effect.flip(
        Effect.withSpan(service.chat(request), "caller").pipe(Effect.withTracer(recordingTracer(seen)))
      )
      expect(error._tag).toBe("Network")
      expect(seen.some((line) => line.startsWith("http.request.header.authorization=<redacted>"))).toBe(true)
      for (const text of errorTexts(error)) expect(text).not.toContain(secret)
      for (const line of seen) expect(line).not.toContain(secret)
    })
  )
})
