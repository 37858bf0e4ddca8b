import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as FakeUpstream from "../src/FakeUpstream.js"
import * as Sse from "../src/internal/sse.js"

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

const send = (url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  Effect.tryPromise(async (): Promise<Answer> => {
    const method = init.method ?? (init.body === undefined ? "GET" : "POST")
    const headers = { "content-type": "application/json", ...init.headers }
    const response = await fetch(
      url,
      init.body === undefined ? { method, headers } : { method, headers, body: JSON.stringify(init.body) }
    )
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

const chatBody = { model: "gpt-test", messages: [{ role: "user", content: "hello there" }] }

describe("FakeUpstream", () => {
  it.scoped("answers scripts in order, then the fallback, and records every request", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({
        scripts: [{ reply: "first" }, { status: 429, headers: { "retry-after": "3" } }],
        script: (request) => ({ reply: `echo ${request.index}` })
      })
      const answers = []
      for (let i = 0; i < 3; i++) {
        answers.push(
          yield* send(`${upstream.baseUrl}/chat/completions`, { body: chatBody, headers: { "x-test": `${i}` } })
        )
      }
      expect(answers.map((a) => a.status)).toEqual([200, 429, 200])
      expect(JSON.parse(answers[0]!.text).choices[0].message.content).toBe("first")
      expect(answers[1]!.headers.get("retry-after")).toBe("3")
      expect(JSON.parse(answers[1]!.text).error.message).toContain("429")
      expect(JSON.parse(answers[2]!.text).choices[0].message.content).toBe("echo 2")
      const requests = yield* upstream.requests
      expect(requests.map((r) => [r.index, r.method, r.url, r.headers["x-test"]])).toEqual([
        [0, "POST", "/v1/chat/completions", "0"],
        [1, "POST", "/v1/chat/completions", "1"],
        [2, "POST", "/v1/chat/completions", "2"]
      ])
      expect(requests[0]!.body).toEqual(chatBody)
    })
  )

  it.scoped("enqueue and setScript change the answers of a running server", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make()
      yield* upstream.enqueue({ status: 503 })
      yield* upstream.setScript({ reply: "later" })
      const first = yield* send(`${upstream.baseUrl}/chat/completions`, { body: chatBody })
      const second = yield* send(`${upstream.baseUrl}/chat/completions`, { body: chatBody })
      expect(first.status).toBe(503)
      expect(JSON.parse(second.text).choices[0].message.content).toBe("later")
    })
  )

  it.scoped("streams OpenAI chunks ending with usage and [DONE]", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({ script: { reply: "abcdef", chunks: 3 } })
      const answer = yield* send(`${upstream.baseUrl}/chat/completions`, {
        body: { ...chatBody, stream: true, stream_options: { include_usage: true } }
      })
      expect(answer.headers.get("content-type")).toBe("text/event-stream")
      const { events } = Sse.parseAll([new TextEncoder().encode(answer.text)])
      expect(events[events.length - 1]!.data).toBe("[DONE]")
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data))
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("abcdef")
      expect(chunks[chunks.length - 1].usage.completion_tokens).toBeGreaterThan(0)
      expect(chunks[chunks.length - 2].choices[0].finish_reason).toBe("stop")
    })
  )

  it.scoped("speaks Anthropic messages, whole and streamed", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({
        script: { reply: "hi", toolCalls: [{ name: "lookup", arguments: '{"q":"x"}' }] }
      })
      const whole = JSON.parse((yield* send(`${upstream.url}/v1/messages`, { body: chatBody })).text)
      expect(whole.type).toBe("message")
      expect(whole.stop_reason).toBe("tool_use")
      expect(whole.content.map((c: { type: string }) => c.type)).toEqual(["text", "tool_use"])
      expect(whole.content[1].input).toEqual({ q: "x" })
      const streamed = yield* send(`${upstream.url}/v1/messages`, { body: { ...chatBody, stream: true } })
      const names = Sse.parseAll([new TextEncoder().encode(streamed.text)]).events.map((e) => e.event)
      expect(names[0]).toBe("message_start")
      expect(names).toContain("ping")
      expect(names.slice(-2)).toEqual(["message_delta", "message_stop"])
      yield* upstream.enqueue({ status: 529 })
      const error = yield* send(`${upstream.url}/v1/messages`, { body: chatBody })
      expect(error.status).toBe(529)
      expect(JSON.parse(error.text).error.type).toBe("overloaded_error")
    })
  )

  it.scoped("embeddings, models and unknown routes", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({ script: { dimensions: 5 } })
      const embeddings = JSON.parse(
        (yield* send(`${upstream.baseUrl}/embeddings`, { body: { model: "e", input: ["x", "y", "z"] } })).text
      )
      expect(embeddings.data.map((d: { embedding: Array<number> }) => d.embedding.length)).toEqual([5, 5, 5])
      const models = JSON.parse((yield* send(`${upstream.baseUrl}/models`)).text)
      expect(models.object).toBe("list")
      const missing = yield* send(`${upstream.baseUrl}/nothing-here`, { body: {} })
      expect(missing.status).toBe(404)
    })
  )

  it.scoped("latency is an Effect.sleep on the server, driven by TestClock", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({ script: { latency: "10 seconds", reply: "slow" } })
      const fiber = yield* Effect.fork(send(`${upstream.baseUrl}/chat/completions`, { body: chatBody }))
      yield* upstream.awaitRequests(1)
      yield* TestClock.adjust("9 seconds")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 second")
      const answer = yield* Fiber.join(fiber)
      expect(JSON.parse(answer.text).choices[0].message.content).toBe("slow")
    })
  )

  it.scoped("a scripted drop resets the connection and is not counted as a client disconnect", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({ script: { dropAfter: 0 } })
      const result = yield* Effect.either(send(`${upstream.baseUrl}/chat/completions`, { body: chatBody }))
      expect(Either.isLeft(result)).toBe(true)
      expect(yield* upstream.disconnects).toBe(0)
    })
  )

  it.scopedLive("closing the scope drops hanging connections instead of waiting for them", () =>
    Effect.gen(function* () {
      const pending = yield* Effect.scoped(
        Effect.gen(function* () {
          const upstream = yield* FakeUpstream.make({ script: { hang: true } })
          const fiber = yield* Effect.forkDaemon(
            Effect.either(send(`${upstream.baseUrl}/chat/completions`, { body: chatBody }))
          )
          yield* upstream.awaitRequests(1)
          return fiber
        })
      )
      const result = yield* Fiber.join(pending)
      expect(Either.isLeft(result)).toBe(true)
    })
  )
})
