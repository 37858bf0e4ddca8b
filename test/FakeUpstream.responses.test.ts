import * as Generated from "@effect/ai-openai/Generated"
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as FakeUpstream from "../src/FakeUpstream.js"
import * as Sse from "../src/internal/sse.js"

// Every body and event is decoded with the schemas @effect/ai-openai decodes with: that client drops an event it
// cannot decode without failing, so a shape error here would otherwise go unnoticed.

const send = (url: string, body: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    })
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

const request = {
  model: "gpt-4o-mini",
  input: [{ role: "user", content: [{ type: "input_text", text: "weather in Paris?" }] }],
  tools: [
    {
      type: "function",
      name: "weather",
      description: "current weather",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      strict: true
    }
  ],
  tool_choice: "auto"
}

const decodeResponse = Schema.decodeUnknownSync(Generated.Response)
const decodeEvent = Schema.decodeUnknownSync(OpenAiClient.ResponseStreamEvent)

const eventsOf = (text: string) => Sse.parseAll([new TextEncoder().encode(text)]).events

describe("FakeUpstream: OpenAI Responses API", () => {
  it.scoped("a whole response decodes with @effect/ai-openai's Response schema: text, a tool call, usage", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({
        script: {
          reply: "Let me look.",
          toolCalls: [{ id: "call_1", name: "weather", arguments: '{"city":"Paris"}' }],
          usage: { promptTokens: 12, completionTokens: 7, cachedTokens: 4, reasoningTokens: 2 }
        }
      })
      const answer = yield* send(`${upstream.baseUrl}/responses`, request)
      expect(answer.status).toBe(200)
      const response = decodeResponse(JSON.parse(answer.text))
      expect(response.status).toBe("completed")
      expect(response.model).toBe("gpt-4o-mini")
      expect(response.output.map((item) => item.type)).toEqual(["message", "function_call"])
      const [message, call] = response.output
      expect(message?.type === "message" && message.content[0]?.type === "output_text" && message.content[0].text).toBe(
        "Let me look."
      )
      expect(call?.type === "function_call" && [call.call_id, call.name, call.arguments]).toEqual([
        "call_1",
        "weather",
        '{"city":"Paris"}'
      ])
      expect(response.usage).toMatchObject({
        input_tokens: 12,
        output_tokens: 7,
        total_tokens: 19,
        input_tokens_details: { cached_tokens: 4 },
        output_tokens_details: { reasoning_tokens: 2 }
      })
      expect(response.tools).toHaveLength(1)
      const [recorded] = yield* upstream.requests
      expect(recorded!.url).toBe("/v1/responses")
    })
  )

  it.scoped("a stream is SSE events in the API's order, each decoding, deltas joining to the text and arguments", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({
        script: { reply: "sunny and warm", chunks: 3, toolCalls: [{ name: "weather", arguments: '{"city":"Paris"}' }] }
      })
      const answer = yield* send(`${upstream.baseUrl}/responses`, { ...request, stream: true })
      expect(answer.headers.get("content-type")).toBe("text/event-stream")
      const raw = eventsOf(answer.text)
      const events = raw.map((e) => decodeEvent(JSON.parse(e.data)))
      expect(raw.map((e) => e.event)).toEqual(events.map((e) => e.type))
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
      const types = events.map((e) => e.type)
      expect(types.slice(0, 3)).toEqual(["response.created", "response.in_progress", "response.output_item.added"])
      expect(types[types.length - 1]).toBe("response.completed")
      const text = events.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : [])).join("")
      expect(text).toBe("sunny and warm")
      expect(types.filter((t) => t === "response.output_text.delta")).toHaveLength(3)
      const args = events.flatMap((e) => (e.type === "response.function_call_arguments.delta" ? [e.delta] : []))
      expect(args.join("")).toBe('{"city":"Paris"}')
      const argsDone = raw.find((e) => e.event === "response.function_call_arguments.done")
      expect(JSON.parse(argsDone!.data)).toMatchObject({ name: "weather", arguments: '{"city":"Paris"}' })
      const done = events.filter((e) => e.type === "response.output_item.done").map((e) => e.item.type)
      expect(done).toEqual(["message", "function_call"])
      const completed = events[events.length - 1]!
      expect(completed.type === "response.completed" && completed.response.usage?.output_tokens).toBeGreaterThan(0)
    })
  )

  it.scoped("scripted errors answer OpenAI's error body with the status and headers; malformed events stay named", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({
        scripts: [{ status: 429, headers: { "retry-after": "2" } }, { status: 503 }, { malformed: 2 }]
      })
      const limited = yield* send(`${upstream.baseUrl}/responses`, request)
      expect(limited.status).toBe(429)
      expect(limited.headers.get("retry-after")).toBe("2")
      expect(JSON.parse(limited.text).error.type).toBe("rate_limit_exceeded")
      const down = yield* send(`${upstream.baseUrl}/responses`, { ...request, stream: true })
      expect(down.status).toBe(503)
      expect(JSON.parse(down.text).error.message).toContain("503")
      const broken = eventsOf((yield* send(`${upstream.baseUrl}/responses`, { ...request, stream: true })).text)
      expect(broken[2]!.event).toBe("response.output_item.added")
      expect(() => JSON.parse(broken[2]!.data)).toThrow()
      expect(broken[broken.length - 1]!.event).toBe("response.completed")
    })
  )
})
