import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Http from "node:http"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Chat from "../../src/Chat.js"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import * as LlmService from "../../src/LlmService.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"

const secret = "sk-test-SECRET-0123456789"

const request: Chat.ChatCompletionRequest = {
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hello" }]
}

const setup = (options: FakeUpstream.Options = {}, client: Partial<OpenAiCompatible.Options> = {}) =>
  Effect.gen(function* () {
    const upstream = yield* FakeUpstream.make(options)
    const service = yield* OpenAiCompatible.make({
      baseUrl: upstream.baseUrl,
      apiKey: Redacted.make(secret),
      provider: "fake",
      ...client
    }).pipe(Effect.provide(FetchHttpClient.layer))
    return { upstream, service }
  })

const collect = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.map(Stream.runCollect(stream), (chunk) => Chunk.toReadonlyArray(chunk))

/** One raw SSE event of a chunk adding `content`, for scripts that write the stream by hand. */
const contentEvent = (content: string) =>
  `data: ${JSON.stringify({
    id: "c1",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta: { content }, finish_reason: null }]
  })}\n\n`

/** Runs a stream to its end and gives what arrived plus the failure, if any. */
const collectUntilFailure = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.gen(function* () {
    const seen: Array<A> = []
    const exit = yield* Stream.runForEach(stream, (a) => Effect.sync(() => seen.push(a))).pipe(Effect.flip)
    return { seen, error: exit }
  })

describe("OpenAiCompatible over loopback", () => {
  it.scoped("chat sends the request with bearer auth and decodes the answer", () =>
    Effect.gen(function* () {
      const { service, upstream } = yield* setup({ script: { reply: "Hello there" } })
      const response = yield* service.chat({ ...request, temperature: 0.2, extra_body: { top_k: 5 } })
      expect(response.choices[0]!.message.content).toBe("Hello there")
      expect(response.usage?.total_tokens).toBeGreaterThan(0)
      const [received] = yield* upstream.requests
      expect(received!.method).toBe("POST")
      expect(received!.url).toBe("/v1/chat/completions")
      expect(received!.headers["authorization"]).toBe(`Bearer ${secret}`)
      expect(received!.headers["content-type"]).toContain("application/json")
      expect(received!.body).toEqual({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Say hello" }],
        temperature: 0.2,
        top_k: 5
      })
    })
  )

  it.scoped("strips the provider prefix, or replaces the model when one is configured", () =>
    Effect.gen(function* () {
      const { service, upstream } = yield* setup({}, { provider: "groq" })
      yield* service.chat({ ...request, model: "groq/llama-3.1-8b-instant" })
      const pinned = yield* setup({}, { provider: "groq", model: "llama-3.3-70b" })
      yield* pinned.service.chat(request)
      expect(((yield* upstream.requests)[0]!.body as { model: string }).model).toBe("llama-3.1-8b-instant")
      expect(((yield* pinned.upstream.requests)[0]!.body as { model: string }).model).toBe("llama-3.3-70b")
    })
  )

  it.scoped("sends the key in a named header or not at all", () =>
    Effect.gen(function* () {
      const named = yield* setup({}, { auth: { header: "api-key" } })
      yield* named.service.listModels
      const none = yield* setup({}, { auth: "none" })
      yield* none.service.listModels
      const [a] = yield* named.upstream.requests
      const [b] = yield* none.upstream.requests
      expect(a!.headers["api-key"]).toBe(secret)
      expect(a!.headers["authorization"]).toBeUndefined()
      expect(b!.headers["authorization"]).toBeUndefined()
    })
  )

  it.scoped("chatStream streams content and ends with a usage chunk", () =>
    Effect.gen(function* () {
      const { service, upstream } = yield* setup({ script: { reply: "one two three four", chunks: 4 } })
      const chunks = yield* collect(service.chatStream(request))
      const assembled = Chat.assembleChunks(chunks)
      expect(assembled.choices[0]!.message.content).toBe("one two three four")
      expect(assembled.choices[0]!.finish_reason).toBe("stop")
      const last = chunks[chunks.length - 1]!
      expect(last.choices).toEqual([])
      expect(last.usage?.completion_tokens).toBeGreaterThan(0)
      const body = (yield* upstream.requests)[0]!.body as Record<string, unknown>
      expect(body["stream"]).toBe(true)
      expect(body["stream_options"]).toEqual({ include_usage: true })
      expect((yield* upstream.requests)[0]!.headers["accept"]).toBe("text/event-stream")
    })
  )

  it.scoped("chatStream carries tool-call deltas that assemble into whole calls", () =>
    Effect.gen(function* () {
      const { service } = yield* setup({
        script: {
          reply: "",
          toolCalls: [
            { name: "get_weather", arguments: '{"city":"Paris","unit":"c"}', id: "call_1" },
            { name: "get_time", arguments: '{"tz":"CET"}', id: "call_2" }
          ]
        }
      })
      const chunks = yield* collect(service.chatStream(request))
      const toolDeltas = chunks.filter((c) => c.choices[0]?.delta.tool_calls != null)
      expect(toolDeltas.length).toBeGreaterThanOrEqual(4)
      const message = Chat.assembleChunks(chunks).choices[0]!
      expect(message.finish_reason).toBe("tool_calls")
      expect(message.message.tool_calls).toEqual([
        { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","unit":"c"}' } },
        { id: "call_2", type: "function", function: { name: "get_time", arguments: '{"tz":"CET"}' } }
      ])
    })
  )

  it.scoped("embed and listModels", () =>
    Effect.gen(function* () {
      const { service, upstream } = yield* setup({ script: { dimensions: 4, model: "text-embedding-3-small" } })
      const embeddings = yield* service.embed({ model: "text-embedding-3-small", input: ["a", "b"] })
      expect(embeddings.data.map((d) => d.index)).toEqual([0, 1])
      expect((embeddings.data[0]!.embedding as ReadonlyArray<number>).length).toBe(4)
      const models = yield* service.listModels
      expect(models.data.map((m) => m.id)).toEqual(["text-embedding-3-small"])
      const urls = (yield* upstream.requests).map((r) => `${r.method} ${r.url}`)
      expect(urls).toEqual(["POST /v1/embeddings", "GET /v1/models"])
    })
  )

  it.scoped("maps every status from the wire to its error, without leaking the key", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [number, string]> = [
        [400, "BadRequest"],
        [401, "Authentication"],
        [403, "Authentication"],
        [404, "NotFound"],
        [408, "Timeout"],
        [413, "BadRequest"],
        [422, "BadRequest"],
        [429, "RateLimited"],
        [500, "ServerError"],
        [502, "ServiceUnavailable"],
        [503, "ServiceUnavailable"],
        [504, "ServiceUnavailable"],
        [529, "ServiceUnavailable"]
      ]
      const { service } = yield* setup({ scripts: cases.map(([status]) => ({ status })) })
      for (const [status, tag] of cases) {
        const error = yield* Effect.flip(service.chat(request))
        expect([status, error._tag]).toEqual([status, tag])
        expect("status" in error && error.status).toBe(status)
        expect("provider" in error && error.provider).toBe("fake")
        expect(`${String(error)} ${error.message} ${JSON.stringify(error)}`).not.toContain(secret)
      }
    })
  )

  it.scoped("reads Retry-After and recognises a context-window error", () =>
    Effect.gen(function* () {
      const { service } = yield* setup({
        scripts: [
          { status: 429, headers: { "retry-after": "7" } },
          { status: 429, headers: { "retry-after-ms": "250" } },
          {
            status: 400,
            body: {
              error: { message: "This model's maximum context length is 8192 tokens", code: "context_length_exceeded" }
            }
          }
        ]
      })
      const first = yield* Effect.flip(service.chat(request))
      const second = yield* Effect.flip(service.chat(request))
      const third = yield* Effect.flip(service.chat(request))
      expect(first._tag === "RateLimited" && Duration.toMillis(first.retryAfter!)).toBe(7000)
      expect(second._tag === "RateLimited" && Duration.toMillis(second.retryAfter!)).toBe(250)
      expect(third._tag).toBe("ContextWindowExceeded")
    })
  )

  it.scoped("a connection dropped before the first chunk is Network; after it, Streaming", () =>
    Effect.gen(function* () {
      const { service } = yield* setup({ scripts: [{ dropAfter: 0 }, { dropAfter: 2, reply: "a b c d", chunks: 4 }] })
      const before = yield* collectUntilFailure(service.chatStream(request))
      expect(before.seen).toEqual([])
      expect(before.error._tag).toBe("Network")
      const after = yield* collectUntilFailure(service.chatStream(request))
      expect(after.seen.length).toBe(2)
      expect(after.error._tag).toBe("Streaming")
    })
  )

  it.scoped("a non-streaming connection dropped before the answer is Network", () =>
    Effect.gen(function* () {
      const { service } = yield* setup({ scripts: [{ dropAfter: 0 }] })
      const error = yield* Effect.flip(service.chat(request))
      expect(error._tag).toBe("Network")
    })
  )

  it.scoped("a refused connection is Network", () =>
    Effect.gen(function* () {
      const closedUrl = yield* Effect.scoped(Effect.map(FakeUpstream.make(), (u) => u.baseUrl))
      const service = yield* OpenAiCompatible.make({ baseUrl: closedUrl, provider: "gone" }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const error = yield* Effect.flip(service.listModels)
      expect(error._tag).toBe("Network")
      expect(error.message).toContain("gone")
    })
  )

  it.scoped("malformed JSON is Serialization naming the provider, in a body and in a stream chunk", () =>
    Effect.gen(function* () {
      const { service } = yield* setup({ scripts: [{ malformed: true }, { malformed: 2, reply: "a b c", chunks: 3 }] })
      const body = yield* Effect.flip(service.chat(request))
      expect(body._tag).toBe("Serialization")
      expect(body.message).toContain('"fake"')
      const stream = yield* collectUntilFailure(service.chatStream(request))
      expect(stream.seen.length).toBe(2)
      expect(stream.error._tag).toBe("Serialization")
      expect(stream.error.message).toContain('"fake"')
    })
  )

  it.scoped("events of one upstream read are decoded together: those before a bad one arrive, then the failure", () =>
    Effect.gen(function* () {
      // one string: written at once, so the client reads the four events in one piece
      const { service } = yield* setup({
        scripts: [{ events: [contentEvent("a") + contentEvent("b") + "data: {oops\n\n" + contentEvent("c")] }]
      })
      const stream = yield* collectUntilFailure(service.chatStream(request))
      expect(stream.seen.map((chunk) => chunk.choices[0]?.delta.content)).toEqual(["a", "b"])
      expect(stream.error._tag).toBe("Serialization")
    })
  )

  it.scoped("an API key echoed back by the upstream is scrubbed from messages and causes, in bodies and streams", () =>
    Effect.gen(function* () {
      const { service } = yield* setup({
        scripts: [
          { status: 401, body: { error: { message: `invalid key ${secret}`, type: "invalid_request_error" } } },
          { body: `you sent ${secret}` },
          { events: [`data: {"error":{"message":"key ${secret} revoked"}}\n\n`] },
          { events: [`data: not json ${secret}\n\n`] }
        ]
      })
      const errors = [
        yield* Effect.flip(service.chat(request)),
        yield* Effect.flip(service.chat(request)),
        (yield* collectUntilFailure(service.chatStream(request))).error,
        (yield* collectUntilFailure(service.chatStream(request))).error
      ]
      expect(errors.map((error) => error._tag)).toEqual([
        "Authentication",
        "Serialization",
        "ServerError",
        "Serialization"
      ])
      for (const error of errors) {
        expect(error.message).toContain("<redacted>")
        expect(error.message).not.toContain(secret)
        expect(String(error)).not.toContain(secret)
        expect(JSON.stringify(error)).not.toContain(secret)
        const cause: unknown = "cause" in error ? error.cause : undefined
        expect(String(cause instanceof Error ? cause.message : cause)).not.toContain(secret)
      }
    })
  )

  it.scoped("a request body JSON cannot hold (BigInt, a cycle) is Serialization, never a thrown exception", () =>
    Effect.gen(function* () {
      const { service, upstream } = yield* setup()
      const cyclic: Record<string, unknown> = {}
      cyclic["self"] = cyclic
      const chat = yield* Effect.exit(Effect.suspend(() => service.chat({ ...request, extra_body: { seed: 1n } })))
      const stream = yield* Effect.exit(
        Stream.runDrain(Stream.suspend(() => service.chatStream({ ...request, extra_body: cyclic })))
      )
      const embed = yield* Effect.exit(
        Effect.suspend(() => service.embed({ model: "e", input: "x", extra_body: { big: 2n } }))
      )
      for (const exit of [chat, stream, embed]) {
        expect(exit._tag === "Failure" && exit.cause._tag).toBe("Fail")
        const error = exit._tag === "Failure" && exit.cause._tag === "Fail" ? exit.cause.error : undefined
        expect(error?._tag).toBe("Serialization")
        expect(error?.message).toContain("not representable as JSON")
      }
      expect(yield* upstream.requests).toHaveLength(0)
    })
  )

  it.scoped("an error body that never ends is read only up to the cap, then reported", () =>
    Effect.gen(function* () {
      const server = yield* Effect.acquireRelease(
        Effect.async<Http.Server>((resume) => {
          const server = Http.createServer((_req, res) => {
            res.writeHead(502, { "content-type": "text/html" })
            res.write(`<html>${"x".repeat(100 * 1024)}`) // more than the cap, and the body never ends
          })
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) =>
          Effect.sync(() => {
            server.closeAllConnections()
            server.close()
          })
      )
      const port = (server.address() as { readonly port: number }).port
      const service = yield* OpenAiCompatible.make({ baseUrl: `http://127.0.0.1:${port}/v1`, provider: "proxy" }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const error = yield* Effect.flip(service.chat(request))
      expect(error._tag).toBe("ServiceUnavailable")
      expect(error.message).toContain("proxy answered HTTP 502: <html>xxx")
      expect(error.message.length).toBeLessThan(1000)
    })
  )

  it.scoped("a placeholder key shorter than 8 characters is not scrubbed out of ordinary words", () =>
    Effect.gen(function* () {
      const { service } = yield* setup(
        { scripts: [{ status: 400, body: { error: { message: "model ollama-x not found" } } }] },
        { apiKey: Redacted.make("ollama"), provider: "ollama" }
      )
      const error = yield* Effect.flip(service.chat(request))
      expect(error.message).toContain("ollama answered HTTP 400")
      expect(error.message).toContain("model ollama-x not found")
    })
  )

  it.scoped("a body of the wrong shape is Serialization with the path of the bad field", () =>
    Effect.gen(function* () {
      const { service } = yield* setup({
        scripts: [
          { body: { id: "x", created: "yesterday", model: "m", choices: [] } },
          { body: { id: "x", created: 1, model: "m", choices: [{ index: 0, message: { content: 42 } }] } }
        ]
      })
      const first = yield* Effect.flip(service.chat(request))
      const second = yield* Effect.flip(service.chat(request))
      expect(first._tag === "Serialization" && first.path).toBe("created")
      expect(second._tag === "Serialization" && second.path).toBe("choices[0].message.content")
    })
  )

  it.scoped("an oversized event stops the stream with Streaming", () =>
    Effect.gen(function* () {
      const { service } = yield* setup(
        { script: { events: [`data: ${"x".repeat(5000)}\n\n`] } },
        { maxEventSize: 1000 }
      )
      const result = yield* collectUntilFailure(service.chatStream(request))
      expect(result.error._tag).toBe("Streaming")
      expect(result.error.message).toContain("1000")
    })
  )

  it.scoped("an error object answered with status 200 fails chat with the mapped error, not Serialization", () =>
    Effect.gen(function* () {
      const { service } = yield* setup({
        scripts: [
          { status: 200, body: { error: { message: "Rate limit reached for requests", code: 429 } } },
          {
            status: 200,
            body: { error: { message: "maximum context length is 8192 tokens", code: "context_length_exceeded" } }
          },
          { status: 200, body: { choices: "nonsense" } }
        ]
      })
      const limited = yield* Effect.flip(service.chat(request))
      expect(limited._tag).toBe("RateLimited")
      expect(limited.message).toContain("Rate limit reached")
      const tooLong = yield* Effect.flip(service.chat(request))
      expect(tooLong._tag).toBe("ContextWindowExceeded")
      // a body that is neither an answer nor an error stays what it is: a body we could not read
      expect((yield* Effect.flip(service.chat(request)))._tag).toBe("Serialization")
    })
  )

  it.scoped("an error object inside the stream fails it with the mapped error and the provider's message", () =>
    Effect.gen(function* () {
      const { service } = yield* setup({
        script: { events: ['data: {"error":{"message":"model crashed","type":"server_error"}}\n\n'] }
      })
      const result = yield* collectUntilFailure(service.chatStream(request))
      expect(result.error._tag).toBe("ServerError")
      expect(result.error.message).toContain("model crashed")
    })
  )

  it.scoped("a mid-stream error next to choices (OpenRouter) fails the stream after what was delivered", () =>
    Effect.gen(function* () {
      const content = {
        id: "gen-1",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [{ index: 0, delta: { content: "Hel" }, finish_reason: null }]
      }
      // the shape OpenRouter documents for an error after the first tokens: HTTP code in error.code, finish "error"
      const failure = {
        ...content,
        error: { code: 502, message: "Provider disconnected" },
        choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }]
      }
      const { service } = yield* setup({
        script: { events: [`data: ${JSON.stringify(content)}\n\n`, `data: ${JSON.stringify(failure)}\n\n`] }
      })
      const result = yield* collectUntilFailure(service.chatStream(request))
      expect(result.seen.map((c) => c.choices[0]?.delta.content)).toEqual(["Hel"])
      expect(result.error._tag).toBe("ServiceUnavailable")
      expect(result.error.message).toContain("Provider disconnected")
    })
  )

  it.scoped("in-stream errors map by their code or type, also vLLM's object:error and an SSE event named error", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ['data: {"error":{"message":"slow down","type":"rate_limit_exceeded"}}\n\n', "RateLimited"],
        ['data: {"error":{"message":"too long","code":"context_length_exceeded"}}\n\n', "ContextWindowExceeded"],
        ['data: {"object":"error","message":"bad top_k","type":"BadRequestError","code":400}\n\n', "BadRequest"],
        ['event: error\ndata: {"type":"overloaded_error","message":"busy"}\n\n', "ServiceUnavailable"],
        ['data: {"error":"plain text failure"}\n\n', "ServerError"]
      ]
      for (const [event, tag] of cases) {
        const { service } = yield* setup({ script: { events: [event] } })
        expect((yield* collectUntilFailure(service.chatStream(request))).error._tag, event).toBe(tag)
      }
    })
  )

  it.scoped("null object fields in model lists and embeddings decode, and a padded [DONE] ends the stream", () =>
    Effect.gen(function* () {
      const chunk = {
        id: "c",
        model: "m",
        choices: [{ index: 0, delta: { content: "hi" }, finish_reason: null }]
      }
      const { service } = yield* setup({
        scripts: [
          { body: { object: null, data: [{ id: "m1", object: null, owned_by: null }] } },
          { body: { object: null, data: [{ object: null, index: 0, embedding: [0.5] }], model: "e" } },
          { events: [`data: ${JSON.stringify(chunk)}\n\n`, "data: [DONE] \n\n"] }
        ]
      })
      expect(yield* service.listModels).toEqual({
        object: "list",
        data: [{ id: "m1", object: "model", owned_by: null }]
      })
      expect((yield* service.embed({ model: "e", input: "x" })).data).toEqual([
        { object: "embedding", index: 0, embedding: [0.5] }
      ])
      expect((yield* collect(service.chatStream(request))).map((c) => c.choices[0]?.delta.content)).toEqual(["hi"])
    })
  )

  it.scoped("stream usage sent inside the choice (Moonshot) or under x_groq (Groq) is the chunk's usage", () =>
    Effect.gen(function* () {
      const usage = { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 }
      const base = { id: "c", model: "m" }
      const moonshot = { ...base, choices: [{ index: 0, delta: { content: "!" }, finish_reason: "stop", usage }] }
      const groq = { ...base, choices: [], x_groq: { id: "req_1", usage: { ...usage, total_tokens: 22 } } }
      // a malformed usage in an odd place is ignored, never a failure; a top-level usage is the one that counts
      const odd = { ...base, choices: [], usage: { ...usage, total_tokens: 23 }, x_groq: { usage } }
      const junk = { ...base, choices: [{ index: 0, delta: {}, finish_reason: null, usage: { prompt_tokens: "n/a" } }] }
      const events = [junk, moonshot, groq, odd].map((e) => `data: ${JSON.stringify(e)}\n\n`)
      const { service } = yield* setup({ script: { events: [...events, "data: [DONE]\n\n"] } })
      const chunks = yield* collect(service.chatStream(request))
      expect(chunks.map((c) => c.usage?.total_tokens)).toEqual([undefined, 21, 22, 23])
      // the choice is decoded as a choice; the usage it carried is also kept where the provider put it (unknown fields stay)
      expect(chunks[1]!.choices[0]).toMatchObject({ index: 0, delta: { content: "!" }, finish_reason: "stop" })
    })
  )

  it.scoped("a stream that ends early is Network with nothing delivered, Streaming after a chunk", () =>
    Effect.gen(function* () {
      const chunk = JSON.stringify({
        id: "c",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [{ index: 0, delta: { content: "hi" }, finish_reason: null }]
      })
      const { service } = yield* setup({ scripts: [{ events: [": nothing\n\n"] }, { events: [`data: ${chunk}\n\n`] }] })
      expect((yield* collectUntilFailure(service.chatStream(request))).error._tag).toBe("Network")
      const partial = yield* collectUntilFailure(service.chatStream(request))
      expect(partial.seen.length).toBe(1)
      expect(partial.error._tag).toBe("Streaming")
    })
  )

  it.scoped("interrupting the consumer closes the connection", () =>
    Effect.gen(function* () {
      const { service, upstream } = yield* setup({ script: { reply: "a b c d", chunks: 4, stallAfter: 2 } })
      const firstTwo = yield* collect(Stream.take(service.chatStream(request), 2))
      expect(firstTwo.length).toBe(2)
      yield* upstream.awaitDisconnects(1)
      expect(yield* upstream.disconnects).toBe(1)
    })
  )

  it.scoped("a hanging upstream is a Timeout after the configured time, and the request is aborted", () =>
    Effect.gen(function* () {
      const { service, upstream } = yield* setup({ script: { hang: true } }, { timeout: "5 seconds" })
      const fiber = yield* Effect.fork(Effect.flip(service.chat(request)))
      yield* upstream.awaitRequests(1)
      yield* TestClock.adjust("6 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("Timeout")
      expect(error.message).toContain("5s")
      yield* upstream.awaitDisconnects(1)
    })
  )

  it.scoped("a stalled stream is a Timeout before the first chunk", () =>
    Effect.gen(function* () {
      const { service, upstream } = yield* setup({ script: { stallAfter: 0 } }, { timeout: "2 seconds" })
      const fiber = yield* Effect.fork(collectUntilFailure(service.chatStream(request)))
      yield* upstream.awaitRequests(1)
      yield* TestClock.adjust("3 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result.error._tag).toBe("Timeout")
    })
  )

  it.scoped("a stream that stalls after it started is Streaming once the idle timeout passes, and is aborted", () =>
    Effect.gen(function* () {
      const { service, upstream } = yield* setup(
        { script: { reply: "a b c d", chunks: 4, stallAfter: 2 } },
        { timeout: "2 seconds" }
      )
      const received = yield* Queue.unbounded<Chat.ChatCompletionChunk>()
      const fiber = yield* Effect.fork(
        Effect.flip(Stream.runForEach(service.chatStream(request), (chunk) => Queue.offer(received, chunk)))
      )
      yield* Queue.take(received)
      yield* TestClock.adjust("3 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("Streaming")
      expect(error.message).toContain("stalled for 2s after it started")
      yield* upstream.awaitDisconnects(1)
      expect(yield* upstream.disconnects).toBe(1)
    })
  )

  it.scoped("a consumer slow to pull does not trip the idle timeout: only waits on the upstream count", () =>
    Effect.gen(function* () {
      const { service, upstream } = yield* setup(
        // the second piece is written 1 s (of the test clock) after the first: a second read of the upstream
        { script: { events: [contentEvent("a"), contentEvent("b") + "data: [DONE]\n\n"], chunkDelay: "1 second" } },
        { timeout: "2 seconds" }
      )
      const pull = yield* Stream.toPull(service.chatStream(request))
      const first = yield* pull
      // the caller holds the stream for longer than the timeout before it pulls again (meanwhile the upstream wrote
      // the rest)
      yield* TestClock.adjust("5 seconds")
      const rest: Array<Chat.ChatCompletionChunk> = []
      const ended = yield* Effect.iterate(false, {
        while: (ended) => !ended,
        body: () =>
          pull.pipe(
            Effect.map((chunk) => {
              rest.push(...chunk)
              return false
            }),
            Effect.catchAll(Option.match({ onNone: () => Effect.succeed(true), onSome: Effect.fail }))
          )
      })
      expect(ended).toBe(true)
      expect([...first, ...rest].map((chunk) => chunk.choices[0]?.delta.content)).toEqual(["a", "b"])
      expect(yield* upstream.disconnects).toBe(0)
    })
  )

  it.scoped("the idle timeout bounds each gap, not the whole stream: steady chunks outlast it", () =>
    Effect.gen(function* () {
      const { service } = yield* setup(
        { script: { reply: "a b c d e f", chunks: 6, firstChunkDelay: "1500 millis", chunkDelay: "1500 millis" } },
        { timeout: "2 seconds" }
      )
      const received = yield* Queue.unbounded<Chat.ChatCompletionChunk>()
      const fiber = yield* Effect.fork(
        Effect.either(Stream.runForEach(service.chatStream(request), (chunk) => Queue.offer(received, chunk)))
      )
      // Step the clock one gap at a time, and wait for the chunk that gap lets through (or the end).
      let steps = 0
      while (steps < 30 && Option.isNone(yield* Fiber.poll(fiber))) {
        yield* TestClock.adjust("1500 millis")
        yield* Effect.raceFirst(Effect.asVoid(Queue.take(received)), Effect.asVoid(Fiber.await(fiber)))
        steps++
      }
      const result = yield* Fiber.join(fiber)
      expect(Either.isRight(result)).toBe(true)
      // six gaps or more of 1.5 s each: far past the 2 s timeout in all
      expect(steps).toBeGreaterThanOrEqual(6)
    })
  )

  it.effect("rejects invalid headers and keys at construction, naming the header but not the value", () =>
    Effect.gen(function* () {
      const badName = yield* Effect.flip(
        OpenAiCompatible.make({ baseUrl: "http://127.0.0.1:1/v1", headers: { "bad name": "x" } }).pipe(
          Effect.provide(FetchHttpClient.layer)
        )
      )
      expect(badName._tag).toBe("InvalidHeader")
      const badKey = yield* Effect.flip(
        OpenAiCompatible.make({ baseUrl: "http://127.0.0.1:1/v1", apiKey: Redacted.make(`${secret}\n`) }).pipe(
          Effect.provide(FetchHttpClient.layer)
        )
      )
      expect(badKey._tag === "InvalidHeader" && badKey.name).toBe("authorization")
      expect(`${badKey.message} ${String(badKey)}`).not.toContain(secret)
      const badUrl = yield* Effect.flip(
        OpenAiCompatible.make({ baseUrl: "not a url" }).pipe(Effect.provide(FetchHttpClient.layer))
      )
      expect(badUrl._tag).toBe("BadRequest")
    })
  )

  it.scoped("layerConfig reads the base URL and a redacted key from Config", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({ script: { reply: "configured" } })
      const layer = OpenAiCompatible.layerConfig({
        baseUrl: Config.string("LLM_BASE_URL"),
        apiKey: Config.redacted("LLM_API_KEY"),
        provider: Config.succeed("cfg")
      }).pipe(
        Layer.provide(FetchHttpClient.layer),
        Layer.provide(
          Layer.setConfigProvider(
            ConfigProvider.fromMap(
              new Map([
                ["LLM_BASE_URL", upstream.baseUrl],
                ["LLM_API_KEY", secret]
              ])
            )
          )
        )
      )
      const response = yield* LlmService.chat(request).pipe(Effect.provide(layer))
      expect(response.choices[0]!.message.content).toBe("configured")
      expect((yield* upstream.requests)[0]!.headers["authorization"]).toBe(`Bearer ${secret}`)
    })
  )
})
