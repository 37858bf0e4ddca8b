import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Schema from "effect/Schema"
import type * as Chat from "../../src/Chat.js"
import { assembleChunks } from "../../src/Chat.js"
import { toMessagesRequest } from "../../src/internal/anthropic/request.js"
import { fromMessage } from "../../src/internal/anthropic/response.js"
import { StreamTranslator } from "../../src/internal/anthropic/stream.js"
import { toFinishReason, toUsage } from "../../src/internal/anthropic/usage.js"
import * as Wire from "../../src/internal/anthropic/wire.js"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import * as LiterLlmError from "../../src/LiterLlmError.js"
import * as LlmService from "../../src/LlmService.js"
import * as Anthropic from "../../src/providers/Anthropic.js"
import * as NativeServers from "./nativeServers.js"

const translate = (request: Omit<Chat.ChatCompletionRequest, "model"> & { readonly model?: string }) =>
  Either.getOrThrow(
    toMessagesRequest({ model: "claude-sonnet-4-5", ...request }, { defaultMaxTokens: 4096, stream: false })
  )

const translateError = (request: Omit<Chat.ChatCompletionRequest, "model">) =>
  Either.flip(toMessagesRequest({ model: "claude-sonnet-4-5", ...request }, { defaultMaxTokens: 4096, stream: false }))

const decodeMessage = Schema.decodeUnknownSync(Wire.Message)
const decodeEvent = Schema.decodeUnknownSync(Wire.StreamEvent)

describe("Anthropic request translation", () => {
  it("extracts system and developer messages into `system` and fills in max_tokens", () => {
    const body = translate({
      messages: [
        { role: "system", content: "You are terse." },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
        { role: "user", content: "Hello" }
      ]
    })
    expect(body.system).toBe("You are terse.\n\nAnswer in French.")
    expect(body.max_tokens).toBe(4096)
    expect(body.messages).toEqual([{ role: "user", content: [{ type: "text", text: "Hello" }] }])
    expect(body.stream).toBeUndefined()
  })

  it("maps sampling options, stop, user and max_completion_tokens", () => {
    const body = translate({
      messages: [{ role: "user", content: "Hi" }],
      temperature: 0.2,
      top_p: 0.9,
      stop: "END",
      max_completion_tokens: 256,
      max_tokens: 999,
      user: "user-42"
    })
    expect(body).toMatchObject({
      temperature: 0.2,
      top_p: 0.9,
      stop_sequences: ["END"],
      max_tokens: 256,
      metadata: { user_id: "user-42" }
    })
    expect(translate({ messages: [{ role: "user", content: "Hi" }], stop: ["a", "b"] }).stop_sequences).toEqual([
      "a",
      "b"
    ])
  })

  it("merges consecutive turns of one role so user and assistant alternate", () => {
    const body = translate({
      messages: [
        { role: "user", content: "one" },
        { role: "user", content: "two" },
        { role: "assistant", content: "three" },
        { role: "assistant", content: "" },
        { role: "assistant", content: "four" },
        { role: "user", content: "five" }
      ]
    })
    expect(body.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"])
    expect(body.messages[0].content).toEqual([
      { type: "text", text: "one" },
      { type: "text", text: "two" }
    ])
    // The empty assistant text is dropped: Anthropic rejects empty text blocks.
    expect(body.messages[1].content).toEqual([
      { type: "text", text: "three" },
      { type: "text", text: "four" }
    ])
  })

  it("turns tool calls into tool_use blocks and tool messages into a user turn of tool_result blocks", () => {
    const body = translate({
      messages: [
        { role: "user", content: "Weather in Paris and Rome?" },
        {
          role: "assistant",
          content: "Let me check.",
          tool_calls: [
            { id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { id: "toolu_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } }
          ]
        },
        { role: "tool", tool_call_id: "toolu_1", content: "18C" },
        { role: "tool", tool_call_id: "toolu_2", content: [{ type: "text", text: "24C" }] },
        { role: "user", content: "Thanks" }
      ]
    })
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris and Rome?" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Let me check." },
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_2", name: "get_weather", input: { city: "Rome" } }
        ]
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: "18C" },
          { type: "tool_result", tool_use_id: "toolu_2", content: "24C" },
          { type: "text", text: "Thanks" }
        ]
      }
    ])
  })

  it("puts tool results before text even when the text came first", () => {
    const body = translate({
      messages: [
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "" } }]
        },
        { role: "user", content: "note" },
        { role: "tool", tool_call_id: "t", content: "done" }
      ]
    })
    expect(body.messages[0].content).toEqual([{ type: "tool_use", id: "t", name: "f", input: {} }])
    expect(body.messages[1].content.map((b) => b.type)).toEqual(["tool_result", "text"])
  })

  it("sends data: images as base64 and http images as url sources; PDFs as documents", () => {
    const body = translate({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Compare" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "high" } },
            { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } }
          ]
        }
      ]
    })
    expect(body.messages[0].content).toEqual([
      { type: "text", text: "Compare" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
      {
        type: "document",
        source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" },
        title: "a.pdf"
      }
    ])
  })

  it("maps tools and every tool_choice", () => {
    const tools: ReadonlyArray<Chat.Tool> = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
        }
      },
      { type: "function", function: { name: "now" } }
    ]
    const messages: ReadonlyArray<Chat.Message> = [{ role: "user", content: "hi" }]
    const body = translate({ messages, tools })
    expect(body.tools).toEqual([
      {
        name: "get_weather",
        description: "Current weather",
        input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
      },
      { name: "now", input_schema: { type: "object", properties: {} } }
    ])
    expect(body.tool_choice).toBeUndefined()
    expect(translate({ messages, tools, tool_choice: "auto" }).tool_choice).toEqual({ type: "auto" })
    expect(translate({ messages, tools, tool_choice: "required" }).tool_choice).toEqual({ type: "any" })
    expect(translate({ messages, tools, tool_choice: "none" }).tool_choice).toEqual({ type: "none" })
    expect(
      translate({ messages, tools, tool_choice: { type: "function", function: { name: "now" } } }).tool_choice
    ).toEqual({ type: "tool", name: "now" })
    expect(translate({ messages, tools, parallel_tool_calls: false }).tool_choice).toEqual({
      type: "auto",
      disable_parallel_tool_use: true
    })
    // Without tools there is nothing to choose from, so no tool_choice is sent.
    expect(translate({ messages, tool_choice: "required" }).tool_choice).toBeUndefined()
  })

  it("serves allowed_tools by sending only the allowed tools, and rejects custom tools with BadRequest", () => {
    const messages: ReadonlyArray<Chat.Message> = [{ role: "user", content: "hi" }]
    const tools: ReadonlyArray<Chat.Tool> = [
      { type: "function", function: { name: "a" } },
      { type: "function", function: { name: "b" } }
    ]
    const allowed = (names: ReadonlyArray<string>, mode: "auto" | "required"): Chat.ToolChoice => ({
      type: "allowed_tools",
      allowed_tools: { mode, tools: names.map((name) => ({ type: "function", function: { name } })) }
    })
    const body = translate({ messages, tools, tool_choice: allowed(["b"], "required") })
    expect(body.tools?.map((tool) => tool.name)).toEqual(["b"])
    expect(body.tool_choice).toEqual({ type: "any" })
    expect(translate({ messages, tools, tool_choice: allowed(["a"], "auto") }).tool_choice).toEqual({ type: "auto" })
    const failures = [
      { messages, tools, tool_choice: allowed(["zzz"], "auto") },
      { messages, tools: [...tools, { type: "custom", custom: { name: "sql" } }] as const },
      { messages, tools, tool_choice: { type: "custom", custom: { name: "sql" } } as const }
    ]
    const messagesOf = failures.map((failure) => {
      const result = toMessagesRequest({ model: "claude", ...failure }, { defaultMaxTokens: 4096, stream: false })
      return Either.isLeft(result) ? `${result.left._tag}: ${result.left.message}` : "accepted"
    })
    expect(messagesOf[0]).toContain('BadRequest: tool_choice.allowed_tools names "zzz"')
    expect(messagesOf[1]).toContain('BadRequest: anthropic has no custom (free-form input) tools; declare "sql"')
    expect(messagesOf[2]).toContain(
      'BadRequest: anthropic has no custom tools, so tool_choice cannot name custom tool "sql"'
    )
  })

  it("turns reasoning_effort into a thinking budget with room left for the answer", () => {
    const body = translate({ messages: [{ role: "user", content: "think" }], reasoning_effort: "low" })
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 })
    expect(body.max_tokens).toBe(4096 + 2048)
    expect(translate({ messages: [{ role: "user", content: "x" }], reasoning_effort: "none" }).thinking).toBeUndefined()
    // a small max_tokens cuts the budget below it (Anthropic requires that), or turns thinking off under 1025
    const small = translate({ messages: [{ role: "user", content: "x" }], reasoning_effort: "high", max_tokens: 3000 })
    expect(small.thinking).toEqual({ type: "enabled", budget_tokens: 2999 })
    expect(small.max_tokens).toBe(3000)
    const tiny = translate({ messages: [{ role: "user", content: "x" }], reasoning_effort: "low", max_tokens: 1000 })
    expect(tiny.thinking).toBeUndefined()
    expect(tiny.max_tokens).toBe(1000)
    const max = translate({ messages: [{ role: "user", content: "x" }], reasoning_effort: "max" })
    expect(max.thinking).toEqual({ type: "enabled", budget_tokens: 57344 })
    expect(max.max_tokens).toBeLessThanOrEqual(64000)
    // A tool loop's follow-up cannot carry the earlier thinking blocks, so thinking stays off for it.
    const followUp = translate({
      reasoning_effort: "high",
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "t", content: "sunny" }
      ]
    })
    expect(followUp.thinking).toBeUndefined()
    expect(followUp.max_tokens).toBe(4096)
  })

  it("merges extra_body into the wire body and sets stream for streams", () => {
    const body = Either.getOrThrow(
      toMessagesRequest(
        { model: "m", messages: [{ role: "user", content: "x" }], extra_body: { top_k: 5 } },
        { defaultMaxTokens: 100, stream: true }
      )
    )
    expect(body).toMatchObject({ top_k: 5, stream: true, max_tokens: 100, model: "m" })
  })

  it("rejects what Anthropic cannot take with BadRequest", () => {
    const audio = translateError({
      messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "AAA", format: "wav" } }] }]
    })
    expect(Either.getOrThrow(audio)._tag).toBe("BadRequest")
    expect(Either.getOrThrow(audio).message).toContain("audio")
    const badArgs = translateError({
      messages: [
        { role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{oops" } }] }
      ]
    })
    expect(Either.getOrThrow(badArgs).message).toContain('"c1"')
    const many = translateError({ messages: [{ role: "user", content: "x" }], n: 2 })
    expect(Either.getOrThrow(many)._tag).toBe("BadRequest")
  })
})

describe("Anthropic response translation", () => {
  it("translates text, thinking, tool_use and cached usage", () => {
    const message = decodeMessage({
      id: "msg_01ABC",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5-20250929",
      content: [
        { type: "thinking", thinking: "The user wants weather.", signature: "sig" },
        { type: "text", text: "Checking " },
        { type: "text", text: "now." },
        { type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris", unit: "c" } },
        { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: { query: "x" } }
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: {
        input_tokens: 100,
        output_tokens: 50,
        cache_read_input_tokens: 2000,
        cache_creation_input_tokens: 300,
        service_tier: "standard"
      }
    })
    const response = fromMessage(message, 1_700_000_000)
    expect(response).toEqual({
      id: "msg_01ABC",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "claude-sonnet-4-5-20250929",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "Checking now.",
            reasoning_content: "The user wants weather.",
            tool_calls: [
              {
                id: "toolu_01",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Paris","unit":"c"}' }
              }
            ]
          },
          finish_reason: "tool_calls"
        }
      ],
      usage: {
        prompt_tokens: 2400,
        completion_tokens: 50,
        total_tokens: 2450,
        prompt_tokens_details: { cached_tokens: 2000, cache_creation_tokens: 300 }
      }
    })
  })

  it("has null content when the answer is only a tool call", () => {
    const message = decodeMessage({
      id: "m",
      model: "c",
      content: [{ type: "tool_use", id: "t", name: "f", input: {} }],
      stop_reason: "tool_use",
      usage: { input_tokens: 1, output_tokens: 1 }
    })
    expect(fromMessage(message, 0).choices[0].message.content).toBeNull()
  })

  it("maps every stop reason", () => {
    expect(toFinishReason("end_turn")).toBe("stop")
    expect(toFinishReason("stop_sequence")).toBe("stop")
    expect(toFinishReason("max_tokens")).toBe("length")
    expect(toFinishReason("tool_use")).toBe("tool_calls")
    expect(toFinishReason("refusal")).toBe("content_filter")
    expect(toFinishReason("pause_turn")).toBe("pause_turn")
    expect(toFinishReason("model_context_window_exceeded")).toBe("model_context_window_exceeded")
    expect(toFinishReason(null)).toBeNull()
    expect(toFinishReason(undefined)).toBeNull()
  })

  it("counts the prompt as input plus cache reads plus cache writes", () => {
    expect(toUsage({ input: 10, output: 5, cacheRead: 0, cacheCreation: 0 })).toMatchObject({
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15
    })
  })

  it("fails to decode a malformed known block instead of passing it as unknown", () => {
    expect(() => decodeMessage({ id: "m", model: "c", content: [{ type: "text" }] })).toThrow()
    expect(decodeMessage({ id: "m", model: "c", content: [{ type: "future_block", x: 1 }] }).content).toHaveLength(1)
  })
})

/** A realistic Anthropic stream: thinking, text, then a tool call whose input arrives in pieces. */
const streamEvents: ReadonlyArray<unknown> = [
  {
    type: "message_start",
    message: {
      id: "msg_stream",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5",
      content: [],
      stop_reason: null,
      usage: { input_tokens: 25, output_tokens: 1, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 }
    }
  },
  { type: "ping" },
  { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "" } },
  { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "Need weather." } },
  { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "abc" } },
  { type: "content_block_stop", index: 0 },
  { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } },
  { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Let me " } },
  { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "check." } },
  { type: "content_block_stop", index: 1 },
  {
    type: "content_block_start",
    index: 2,
    content_block: { type: "tool_use", id: "toolu_9", name: "get_weather", input: {} }
  },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: "" } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '{"city": ' } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '"Paris"}' } },
  { type: "content_block_stop", index: 2 },
  { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 42 } },
  { type: "message_stop" }
]

const runTranslator = (events: ReadonlyArray<unknown>) => {
  const translator = new StreamTranslator(1_700_000_000, "claude-requested")
  const chunks: Array<Chat.ChatCompletionChunk> = []
  for (const raw of events) {
    const out = translator.push(decodeEvent(raw))
    if (Either.isLeft(out)) return { chunks, error: out.left }
    chunks.push(...out.right)
  }
  const end = translator.end()
  if (Either.isLeft(end)) return { chunks, error: end.left }
  chunks.push(...end.right)
  return { chunks, error: undefined }
}

describe("Anthropic stream translation", () => {
  it("translates text, thinking and input_json_delta into chunks that assemble into the answer", () => {
    const { chunks, error } = runTranslator(streamEvents)
    expect(error).toBeUndefined()
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" })
    expect(chunks.every((c) => c.id === "msg_stream" && c.model === "claude-sonnet-4-5")).toBe(true)
    const last = chunks[chunks.length - 1]
    expect(last.choices).toEqual([])
    expect(last.usage).toEqual({
      prompt_tokens: 125,
      completion_tokens: 42,
      total_tokens: 167,
      prompt_tokens_details: { cached_tokens: 100, cache_creation_tokens: 0 }
    })
    const assembled = assembleChunks(chunks)
    expect(assembled.choices[0]).toEqual({
      index: 0,
      message: {
        role: "assistant",
        content: "Let me check.",
        reasoning_content: "Need weather.",
        tool_calls: [
          { id: "toolu_9", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } }
        ]
      },
      finish_reason: "tool_calls"
    })
  })

  it("numbers tool calls by their order, not by content block index", () => {
    const { chunks } = runTranslator([
      { type: "message_start", message: { id: "m", model: "c", usage: { input_tokens: 1 } } },
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "a" } },
      { type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "t1", name: "f", input: {} } },
      { type: "content_block_start", index: 2, content_block: { type: "tool_use", id: "t2", name: "g", input: {} } },
      { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '{"b":2}' } },
      { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"a":1}' } },
      { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 3 } },
      { type: "message_stop" }
    ])
    const calls = assembleChunks(chunks).choices[0].message.tool_calls
    expect(calls).toEqual([
      { id: "t1", type: "function", function: { name: "f", arguments: '{"a":1}' } },
      { id: "t2", type: "function", function: { name: "g", arguments: '{"b":2}' } }
    ])
  })

  it("fails with Streaming on an error event, naming its type", () => {
    const { chunks, error } = runTranslator([
      streamEvents[0],
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "partial" } },
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }
    ])
    expect(chunks.length).toBe(2)
    expect(error?._tag).toBe("Streaming")
    expect(error?.message).toContain("overloaded_error")
    expect(error?.message).toContain("Overloaded")
  })

  it("fails with Streaming when the body ends before message_stop", () => {
    const { error } = runTranslator(streamEvents.slice(0, 9))
    expect(error?._tag).toBe("Streaming")
    expect(error?.message).toContain("message_stop")
  })

  it("ignores unknown events, deltas and server tool blocks", () => {
    const { error, chunks } = runTranslator([
      streamEvents[0],
      { type: "brand_new_event", payload: 1 },
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      { type: "content_block_delta", index: 0, delta: { type: "citations_delta", citation: {} } },
      {
        type: "content_block_start",
        index: 1,
        content_block: { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: {} }
      },
      { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"query":"x"}' } },
      { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 1 } },
      { type: "message_stop" }
    ])
    expect(error).toBeUndefined()
    expect(assembleChunks(chunks).choices[0].finish_reason).toBe("stop")
    expect(assembleChunks(chunks).choices[0].message.tool_calls).toBeUndefined()
  })

  it("maps max_tokens and refusal in message_delta", () => {
    for (const [reason, finish] of [
      ["max_tokens", "length"],
      ["refusal", "content_filter"],
      ["stop_sequence", "stop"]
    ] as const) {
      const { chunks } = runTranslator([
        streamEvents[0],
        { type: "message_delta", delta: { stop_reason: reason }, usage: { output_tokens: 1 } },
        { type: "message_stop" }
      ])
      expect(assembleChunks(chunks).choices[0].finish_reason).toBe(finish)
    }
  })
})

// ---------------------------------------------------------------------------------------------------------------
// End to end, over real HTTP on 127.0.0.1
// ---------------------------------------------------------------------------------------------------------------

const apiKey = "sk-ant-test-SECRET-0123456789"

const setup = (options: Partial<Anthropic.Options> = {}) =>
  Effect.gen(function* () {
    const server = yield* NativeServers.make
    const service = yield* Anthropic.make({ apiKey: Redacted.make(apiKey), baseUrl: server.url, ...options }).pipe(
      Effect.provide(FetchHttpClient.layer)
    )
    return { server, service }
  })

const messageBody = {
  id: "msg_e2e",
  type: "message",
  role: "assistant",
  model: "claude-sonnet-4-5",
  content: [{ type: "text", text: "Bonjour" }],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 3, cache_read_input_tokens: 8, cache_creation_input_tokens: 0 }
}

const request: Chat.ChatCompletionRequest = {
  model: "claude-sonnet-4-5",
  messages: [
    { role: "system", content: "Answer in French." },
    { role: "user", content: "Hello" }
  ]
}

const sseOf = (events: ReadonlyArray<unknown>) =>
  events.map((data) => ({ event: (data as { readonly type: string }).type, data }))

describe("Anthropic over HTTP", () => {
  it.scoped("posts /v1/messages with the key and version headers and translates the answer", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup({ anthropicVersion: "2023-06-01", headers: { "anthropic-beta": "x" } })
      yield* server.script(NativeServers.json(messageBody))
      const response = yield* service.chat(request)
      expect(response.choices[0].message.content).toBe("Bonjour")
      expect(response.choices[0].finish_reason).toBe("stop")
      expect(response.usage).toMatchObject({ prompt_tokens: 20, prompt_tokens_details: { cached_tokens: 8 } })
      const [sent] = yield* server.requests
      expect(sent.method).toBe("POST")
      expect(sent.url).toBe("/v1/messages")
      expect(sent.headers["x-api-key"]).toBe(apiKey)
      expect(sent.headers["anthropic-version"]).toBe("2023-06-01")
      expect(sent.headers["anthropic-beta"]).toBe("x")
      expect(sent.headers["authorization"]).toBeUndefined()
      expect(sent.body).toEqual({
        model: "claude-sonnet-4-5",
        max_tokens: 4096,
        system: "Answer in French.",
        messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }]
      })
    })
  )

  it.scoped("streams text and tool use, assembled with Chat.assembleChunks", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(NativeServers.sse(sseOf(streamEvents)))
      const chunks = yield* Stream.runCollect(service.chatStream({ ...request, stream: true }))
      const assembled = assembleChunks(chunks)
      expect(assembled.choices[0].message.content).toBe("Let me check.")
      expect(assembled.choices[0].message.tool_calls).toEqual([
        { id: "toolu_9", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } }
      ])
      expect(assembled.choices[0].finish_reason).toBe("tool_calls")
      expect(assembled.usage?.total_tokens).toBe(167)
      const [sent] = yield* server.requests
      expect(sent.body).toMatchObject({ stream: true })
      expect(sent.headers["accept"]).toBe("text/event-stream")
    })
  )

  it.scoped("fails the stream with Streaming on an error event, after delivering what came before", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(
        NativeServers.sse(
          sseOf([
            streamEvents[0],
            { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
            { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hal" } },
            { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }
          ])
        )
      )
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const error = yield* service.chatStream(request).pipe(
        Stream.tap((chunk) => Ref.update(seen, (all) => [...all, chunk.choices[0]?.delta.content ?? ""])),
        Stream.runDrain,
        Effect.flip
      )
      expect(error._tag).toBe("Streaming")
      expect(error.message).toContain("overloaded_error")
      expect(LiterLlmError.isTransient(error)).toBe(false)
      expect((yield* Ref.get(seen)).join("")).toBe("Hal")
    })
  )

  it.scoped("maps 529 overloaded_error to ServiceUnavailable, for chat and for streams", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      const overloaded = { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }
      yield* server.script(NativeServers.json(overloaded, 529), NativeServers.json(overloaded, 529))
      const error = yield* Effect.flip(service.chat(request))
      expect(error._tag).toBe("ServiceUnavailable")
      expect(error).toMatchObject({ status: 529, provider: "anthropic" })
      expect(LiterLlmError.isTransient(error)).toBe(true)
      const streamError = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      expect(streamError._tag).toBe("ServiceUnavailable")
    })
  )

  it.scoped("maps 429 to RateLimited with the retry-after it was given", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(
        NativeServers.json({ type: "error", error: { type: "rate_limit_error", message: "slow down" } }, 429, {
          "retry-after": "7"
        })
      )
      const error = yield* Effect.flip(service.chat(request))
      expect(error._tag).toBe("RateLimited")
      expect((error as LiterLlmError.RateLimited).retryAfter).toEqual(Duration.seconds(7))
      expect(error.message).toContain("slow down")
    })
  )

  it.scoped("never puts the API key in an error message, even when the upstream echoes it", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(
        NativeServers.json(
          { type: "error", error: { type: "authentication_error", message: `invalid x-api-key ${apiKey}` } },
          401
        )
      )
      const error = yield* Effect.flip(service.chat(request))
      expect(error._tag).toBe("Authentication")
      expect(error.message).toContain("invalid x-api-key <redacted>")
      expect(error.message).not.toContain(apiKey)
      expect(String(error)).not.toContain(apiKey)
    })
  )

  it.scoped("reports a prompt that is too long as ContextWindowExceeded", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(
        NativeServers.json(
          { type: "error", error: { type: "invalid_request_error", message: "prompt is too long: 210000 tokens" } },
          400
        )
      )
      expect((yield* Effect.flip(service.chat(request)))._tag).toBe("ContextWindowExceeded")
    })
  )

  it.scoped("fails with Serialization naming the path when the answer has the wrong shape", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(NativeServers.json({ ...messageBody, id: 42 }))
      const error = yield* Effect.flip(service.chat(request))
      expect(error._tag).toBe("Serialization")
      expect((error as LiterLlmError.Serialization).path).toBe("id")
    })
  )

  it.scoped(
    "fails with Serialization on a malformed stream event, and Streaming on a stream cut before message_stop",
    () =>
      Effect.gen(function* () {
        const { server, service } = yield* setup()
        yield* server.script(
          NativeServers.sse([{ event: "message_start", data: "{not json" }]),
          NativeServers.sse(sseOf(streamEvents.slice(0, 8)))
        )
        const malformed = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
        expect(malformed._tag).toBe("Serialization")
        expect(malformed.message).toContain("anthropic")
        const cut = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
        expect(cut._tag).toBe("Streaming")
      })
  )

  it.scoped("lists models across pages and does not offer embeddings", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(
        NativeServers.json({
          data: [{ type: "model", id: "claude-a", display_name: "A", created_at: "2025-02-19T00:00:00Z" }],
          has_more: true,
          first_id: "claude-a",
          last_id: "claude-a"
        }),
        NativeServers.json({ data: [{ type: "model", id: "claude-b" }], has_more: false, last_id: "claude-b" })
      )
      const models = yield* service.listModels
      expect(models.data.map((m) => [m.id, m.created])).toEqual([
        ["claude-a", 1739923200],
        ["claude-b", null]
      ])
      const urls = (yield* server.requests).map((r) => r.url)
      expect(urls).toEqual(["/v1/models?limit=1000", "/v1/models?limit=1000&after_id=claude-a"])
      const error = yield* Effect.flip(service.embed({ model: "claude-a", input: "x" }))
      expect(error).toMatchObject({ _tag: "EndpointNotSupported", provider: "anthropic" })
    })
  )

  it.effect("layerConfig fails with Authentication naming ANTHROPIC_API_KEY when it is not set", () =>
    Effect.gen(function* () {
      const error = yield* Layer.build(Anthropic.layerConfig()).pipe(
        Effect.provide(FetchHttpClient.layer),
        Effect.scoped,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
        Effect.flip
      )
      expect(error._tag).toBe("Authentication")
      expect(error.message).toContain("ANTHROPIC_API_KEY")
    })
  )

  it.effect("layerConfig treats a blank ANTHROPIC_API_KEY as missing, not as a 401 later", () =>
    Effect.gen(function* () {
      const error = yield* Layer.build(Anthropic.layerConfig()).pipe(
        Effect.provide(FetchHttpClient.layer),
        Effect.scoped,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ANTHROPIC_API_KEY", "  "]]))),
        Effect.flip
      )
      expect(error._tag).toBe("Authentication")
      expect(error.message).toContain("ANTHROPIC_API_KEY is not set (it is empty)")
    })
  )

  it.scoped("layerConfig reads the key and base URL from config", () =>
    Effect.gen(function* () {
      const server = yield* NativeServers.make
      yield* server.script(NativeServers.json(messageBody))
      const config = ConfigProvider.fromMap(
        new Map([
          ["ANTHROPIC_API_KEY", apiKey],
          ["ANTHROPIC_BASE_URL", server.url]
        ])
      )
      const response = yield* LlmService.chat(request).pipe(
        Effect.provide(Anthropic.layerConfig().pipe(Layer.provide(FetchHttpClient.layer))),
        Effect.withConfigProvider(config)
      )
      expect(response.id).toBe("msg_e2e")
      expect((yield* server.requests)[0].headers["x-api-key"]).toBe(apiKey)
    })
  )
})

// ---------------------------------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------------------------------

const arbText = FastCheck.oneof(FastCheck.constant(""), FastCheck.string({ maxLength: 6 }))
const arbMessage: FastCheck.Arbitrary<Chat.Message> = FastCheck.oneof(
  arbText.map((content): Chat.Message => ({ role: "system", content })),
  arbText.map((content): Chat.Message => ({ role: "user", content })),
  FastCheck.record({ content: arbText, calls: FastCheck.array(FastCheck.nat(9), { maxLength: 2 }) }).map(
    ({ calls, content }): Chat.Message => ({
      role: "assistant",
      content,
      tool_calls: calls.map((n) => ({
        id: `t${n}`,
        type: "function",
        function: { name: "f", arguments: `{"n":${n}}` }
      }))
    })
  ),
  FastCheck.nat(9).map((n): Chat.Message => ({ role: "tool", tool_call_id: `t${n}`, content: "r" }))
)

describe("Anthropic translation invariants", () => {
  it.prop(
    "turns alternate, are never empty, and tool results lead their user turn",
    { messages: FastCheck.array(arbMessage, { maxLength: 12 }) },
    ({ messages }) => {
      const body = translate({ messages })
      body.messages.forEach((turn, i) => {
        expect(turn.content.length).toBeGreaterThan(0)
        if (i > 0) expect(turn.role).not.toBe(body.messages[i - 1].role)
        expect(turn.content.some((b) => b.type === "text" && b.text === "")).toBe(false)
        const kinds = turn.content.map((b) => b.type === "tool_result")
        expect(kinds).toEqual([...kinds].sort((a, b) => Number(b) - Number(a)))
      })
      const texts = messages.filter(
        (m) => (m.role === "user" || m.role === "assistant") && typeof m.content === "string" && m.content !== ""
      ).length
      const blocks = body.messages.flatMap((t) => t.content).filter((b) => b.type === "text").length
      expect(blocks).toBe(texts)
    }
  )

  it.prop(
    "a message streamed in arbitrary pieces assembles to the same answer as the whole message",
    {
      text: FastCheck.string({ maxLength: 40 }),
      inputs: FastCheck.array(FastCheck.dictionary(FastCheck.string({ maxLength: 4 }), FastCheck.integer()), {
        maxLength: 3
      }),
      cuts: FastCheck.array(FastCheck.nat(40), { maxLength: 6 }),
      stop: FastCheck.constantFrom("end_turn", "max_tokens", "tool_use", "refusal", "stop_sequence")
    },
    ({ cuts, inputs, stop, text }) => {
      const split = (s: string) => {
        const points = [...new Set(cuts.filter((c) => c < s.length))].sort((a, b) => a - b)
        return [0, ...points].map((p, i, all) => s.slice(p, all[i + 1] ?? s.length)).filter((p) => p !== "")
      }
      const message = decodeMessage({
        id: "msg_p",
        model: "c",
        content: [
          ...(text === "" ? [] : [{ type: "text", text }]),
          ...inputs.map((input, i) => ({ type: "tool_use", id: `tu${i}`, name: `fn${i}`, input }))
        ],
        stop_reason: stop,
        usage: { input_tokens: 3, output_tokens: 4 }
      })
      const offset = text === "" ? 0 : 1
      const events: Array<unknown> = [
        { type: "message_start", message: { id: "msg_p", model: "c", usage: { input_tokens: 3, output_tokens: 1 } } },
        ...(text === ""
          ? []
          : [
              { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
              ...split(text).map((piece) => ({
                type: "content_block_delta",
                index: 0,
                delta: { type: "text_delta", text: piece }
              })),
              { type: "content_block_stop", index: 0 }
            ]),
        ...inputs.flatMap((input, i) => [
          {
            type: "content_block_start",
            index: i + offset,
            content_block: { type: "tool_use", id: `tu${i}`, name: `fn${i}`, input: {} }
          },
          ...split(JSON.stringify(input)).map((piece) => ({
            type: "content_block_delta",
            index: i + offset,
            delta: { type: "input_json_delta", partial_json: piece }
          })),
          { type: "content_block_stop", index: i + offset }
        ]),
        { type: "message_delta", delta: { stop_reason: stop }, usage: { output_tokens: 4 } },
        { type: "message_stop" }
      ]
      const { chunks, error } = runTranslator(events)
      expect(error).toBeUndefined()
      const whole = fromMessage(message, 1_700_000_000)
      const assembled = assembleChunks(chunks)
      expect(assembled.choices[0].message.content ?? "").toBe(whole.choices[0].message.content ?? "")
      expect(assembled.choices[0].message.tool_calls ?? []).toEqual(whole.choices[0].message.tool_calls ?? [])
      expect(assembled.choices[0].finish_reason).toBe(whole.choices[0].finish_reason)
      expect(assembled.usage).toEqual(whole.usage)
    }
  )
})

describe("Anthropic timeouts", () => {
  it.scoped("fails with Timeout when the upstream does not answer within the timeout (TestClock)", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup({ timeout: "30 seconds" })
      yield* server.script(NativeServers.hang)
      const fiber = yield* Effect.fork(service.chat(request))
      // Wait until the request reached the server, so the timeout races a real in-flight request.
      yield* server.awaitRequests(1)
      yield* TestClock.adjust("31 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error._tag).toBe("Timeout")
      expect(LiterLlmError.isTransient(error)).toBe(true)
    })
  )
})

describe("Anthropic JSON answers (response_format)", () => {
  const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
  const format: Chat.ResponseFormat = { type: "json_schema", json_schema: { name: "place", schema } }

  it("serves json_schema with a forced answer tool, and json_object with an instruction", () => {
    const body = translate({ messages: [{ role: "user", content: "Where?" }], response_format: format })
    expect(body.tools).toEqual([
      {
        name: "place",
        description: "Give your final answer by calling this tool with the answer as its input.",
        input_schema: schema
      }
    ])
    expect(body.tool_choice).toEqual({ type: "tool", name: "place" })
    const withTools = translate({
      messages: [{ role: "user", content: "Where?" }],
      response_format: format,
      tools: [{ type: "function", function: { name: "place" } }]
    })
    expect(withTools.tools?.map((t) => t.name)).toEqual(["place", "place_answer"])
    expect(withTools.tool_choice).toEqual({ type: "any" })
    const object = translate({
      messages: [
        { role: "system", content: "Be precise." },
        { role: "user", content: "Where?" }
      ],
      response_format: { type: "json_object" }
    })
    expect(object.system).toBe("Be precise.\n\nRespond with a single valid JSON object and nothing else.")
    expect(object.tools).toBeUndefined()
  })

  it("turns the answer tool's input into content, whole and streamed", () => {
    const message = decodeMessage({
      id: "m",
      model: "c",
      content: [{ type: "tool_use", id: "t", name: "place", input: { city: "Lyon" } }],
      stop_reason: "tool_use",
      usage: { input_tokens: 1, output_tokens: 1 }
    })
    const whole = fromMessage(message, 0, "place")
    expect(whole.choices[0]).toEqual({
      index: 0,
      message: { role: "assistant", content: '{"city":"Lyon"}' },
      finish_reason: "stop"
    })
    const translator = new StreamTranslator(0, "c", "place")
    const chunks = [
      { type: "message_start", message: { id: "m", model: "c", usage: { input_tokens: 1 } } },
      { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "t", name: "place", input: {} } },
      { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: '{"city":' } },
      { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: '"Lyon"}' } },
      { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 1 } },
      { type: "message_stop" }
    ].flatMap((raw) => Either.getOrThrow(translator.push(decodeEvent(raw))))
    const assembled = assembleChunks(chunks)
    expect(assembled.choices[0].message.content).toBe('{"city":"Lyon"}')
    expect(assembled.choices[0].message.tool_calls).toBeUndefined()
    expect(assembled.choices[0].finish_reason).toBe("stop")
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Against FakeUpstream's Anthropic mode
// ---------------------------------------------------------------------------------------------------------------

const overFake = (options: FakeUpstream.Options) =>
  Effect.gen(function* () {
    const upstream = yield* FakeUpstream.make(options)
    const service = yield* Anthropic.make({ apiKey: Redacted.make(apiKey), baseUrl: upstream.url }).pipe(
      Effect.provide(FetchHttpClient.layer)
    )
    return { upstream, service }
  })

describe("Anthropic against FakeUpstream", () => {
  it.scoped("answers a chat and records the Anthropic request", () =>
    Effect.gen(function* () {
      const { service, upstream } = yield* overFake({
        script: { reply: "Hello there", usage: { promptTokens: 11, completionTokens: 2 } }
      })
      const response = yield* service.chat(request)
      expect(response.choices[0].message.content).toBe("Hello there")
      expect(response.choices[0].finish_reason).toBe("stop")
      expect(response.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 })
      const [sent] = yield* upstream.requests
      expect(sent.url).toBe("/v1/messages")
      expect(sent.headers["x-api-key"]).toBe(apiKey)
      expect(sent.body).toMatchObject({ system: "Answer in French.", max_tokens: 4096 })
    })
  )

  it.scoped("streams text and tool calls that assemble into the scripted answer", () =>
    Effect.gen(function* () {
      const { service } = yield* overFake({
        scripts: [
          { reply: "Streaming works fine", chunks: 4 },
          { reply: "", toolCalls: [{ id: "toolu_x", name: "lookup", arguments: '{"q":"effect ts"}' }] }
        ]
      })
      const text = assembleChunks(yield* Stream.runCollect(service.chatStream(request)))
      expect(text.choices[0].message.content).toBe("Streaming works fine")
      expect(text.choices[0].finish_reason).toBe("stop")
      expect(text.usage?.completion_tokens).toBeGreaterThan(0)
      const tools = assembleChunks(yield* Stream.runCollect(service.chatStream(request)))
      expect(tools.choices[0].message.tool_calls).toEqual([
        { id: "toolu_x", type: "function", function: { name: "lookup", arguments: '{"q":"effect ts"}' } }
      ])
      expect(tools.choices[0].finish_reason).toBe("tool_calls")
    })
  )

  it.scoped("maps 529 and 429 with Retry-After from the fake's Anthropic error bodies", () =>
    Effect.gen(function* () {
      const { service } = yield* overFake({
        scripts: [{ status: 529 }, { status: 429, headers: { "retry-after": "3" } }]
      })
      const overloaded = yield* Effect.flip(service.chat(request))
      expect(overloaded._tag).toBe("ServiceUnavailable")
      const limited = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      expect(limited._tag).toBe("RateLimited")
      expect((limited as LiterLlmError.RateLimited).retryAfter).toEqual(Duration.seconds(3))
    })
  )

  it.scoped("a connection dropped before any event is Network (transient), after events Streaming", () =>
    Effect.gen(function* () {
      const { service } = yield* overFake({ scripts: [{ dropAfter: 0 }, { reply: "abcdef", chunks: 3, dropAfter: 4 }] })
      const early = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      expect(early._tag).toBe("Network")
      expect(LiterLlmError.isTransient(early)).toBe(true)
      const late = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      expect(late._tag).toBe("Streaming")
      expect(LiterLlmError.isTransient(late)).toBe(false)
    })
  )

  it.scoped("interrupting the consumer closes the connection", () =>
    Effect.gen(function* () {
      const { service, upstream } = yield* overFake({ script: { reply: "one two three", chunks: 3, stallAfter: 3 } })
      const first = yield* Stream.runCollect(Stream.take(service.chatStream(request), 1))
      expect(first.length).toBe(1)
      yield* upstream.awaitDisconnects(1)
      expect(yield* upstream.disconnects).toBe(1)
    })
  )
})

// ---------------------------------------------------------------------------------------------------------------
// What Anthropic really sends, the stream and the whole answer agreeing
// ---------------------------------------------------------------------------------------------------------------

describe("Anthropic streamed and whole answers agree", () => {
  const noInputEvents = (name: string) => [
    { type: "message_start", message: { id: "m", model: "c", usage: { input_tokens: 3, output_tokens: 1 } } },
    { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_1", name, input: {} } },
    { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: "" } },
    { type: "content_block_stop", index: 0 },
    { type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 5 } },
    { type: "message_stop" }
  ]
  const noInputMessage = (name: string) => ({
    id: "m",
    type: "message",
    role: "assistant",
    model: "c",
    content: [{ type: "tool_use", id: "toolu_1", name, input: {} }],
    stop_reason: "tool_use",
    usage: { input_tokens: 3, output_tokens: 5 }
  })

  it.scoped("a streamed tool call without input has arguments {}, as the whole answer does", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(
        NativeServers.json(noInputMessage("list_issues")),
        NativeServers.sse(sseOf(noInputEvents("list_issues")))
      )
      const whole = yield* service.chat(request)
      const streamed = assembleChunks(yield* Stream.runCollect(service.chatStream(request)))
      const call = { id: "toolu_1", type: "function", function: { name: "list_issues", arguments: "{}" } }
      expect(whole.choices[0].message.tool_calls).toEqual([call])
      expect(streamed.choices[0].message.tool_calls).toEqual([call])
      expect(streamed.choices[0].finish_reason).toBe("tool_calls")
    })
  )

  it("a tool call closed by message_delta without content_block_stop still gets {}", () => {
    const translator = new StreamTranslator(0, "c")
    const chunks = noInputEvents("list_issues")
      .filter((event) => event.type !== "content_block_stop")
      .flatMap((raw) => Either.getOrThrow(translator.push(decodeEvent(raw))))
    expect(assembleChunks(chunks).choices[0].message.tool_calls?.[0]).toMatchObject({ function: { arguments: "{}" } })
  })

  it.scoped("json_schema answers are content in chat as in streams, {} when the answer tool got no input", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      const format: Chat.ResponseFormat = {
        type: "json_schema",
        json_schema: { name: "place", schema: { type: "object" } }
      }
      const json = { ...request, response_format: format }
      yield* server.script(
        NativeServers.json(noInputMessage("place")),
        NativeServers.sse(sseOf(noInputEvents("place")))
      )
      const whole = yield* service.chat(json)
      const streamed = assembleChunks(yield* Stream.runCollect(service.chatStream(json)))
      for (const answer of [whole, streamed]) {
        expect(answer.choices[0].message.content).toBe("{}")
        expect(answer.choices[0].message.tool_calls).toBeUndefined()
        expect(answer.choices[0].finish_reason).toBe("stop")
      }
    })
  )
})

describe("Anthropic error events and nulls", () => {
  it.scoped(
    "an error event before message_start maps like its HTTP status (overloaded: transient), after it Streaming",
    () =>
      Effect.gen(function* () {
        const { server, service } = yield* setup()
        const overloaded = { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }
        const invalid = { type: "error", error: { type: "invalid_request_error", message: "bad field" } }
        yield* server.script(
          NativeServers.sse(sseOf([overloaded])),
          NativeServers.sse(sseOf([invalid])),
          NativeServers.sse(sseOf([streamEvents[0], overloaded]))
        )
        const first = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
        expect(first._tag).toBe("ServiceUnavailable")
        expect(first.message).toContain("Overloaded")
        expect(LiterLlmError.isTransient(first)).toBe(true)
        expect((yield* Effect.flip(Stream.runDrain(service.chatStream(request))))._tag).toBe("BadRequest")
        expect((yield* Effect.flip(Stream.runDrain(service.chatStream(request))))._tag).toBe("Streaming")
      })
  )

  it("a message with content null reads as one without content, a null delta or error as an empty one", () => {
    const message = decodeMessage({ id: "m", model: "c", content: null, stop_reason: "end_turn" })
    expect(fromMessage(message, 0).choices[0].message.content).toBeNull()
    expect(decodeEvent({ type: "message_delta", delta: null, usage: { output_tokens: 2 } })).toMatchObject({
      delta: {}
    })
    expect(decodeEvent({ type: "error", error: null })).toEqual({ type: "error", error: {} })
  })
})
