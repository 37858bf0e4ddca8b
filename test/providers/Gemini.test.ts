import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Schema from "effect/Schema"
import type * as Chat from "../../src/Chat.js"
import { assembleChunks } from "../../src/Chat.js"
import { fromBatchEmbedResponse, toBatchEmbedRequest } from "../../src/internal/gemini/embed.js"
import { toGeminiSchema } from "../../src/internal/gemini/jsonSchema.js"
import { toGenerateContentRequest } from "../../src/internal/gemini/request.js"
import { fromGenerateContentResponse } from "../../src/internal/gemini/response.js"
import { StreamTranslator } from "../../src/internal/gemini/stream.js"
import { toFinishReason, toUsage } from "../../src/internal/gemini/usage.js"
import * as Wire from "../../src/internal/gemini/wire.js"
import type * as LiterLlmError from "../../src/LiterLlmError.js"
import * as LlmService from "../../src/LlmService.js"
import * as Gemini from "../../src/providers/Gemini.js"
import * as NativeServers from "./nativeServers.js"

const translate = (request: Omit<Chat.ChatCompletionRequest, "model">) =>
  Either.getOrThrow(toGenerateContentRequest({ model: "gemini-2.5-flash", ...request }))

const decodeResponse = Schema.decodeUnknownSync(Wire.GenerateContentResponse)
const fallback = { id: "fallback-id", model: "gemini-2.5-flash", created: 1_700_000_000 }

describe("Gemini request translation", () => {
  it("maps roles: system to systemInstruction, assistant to model, consecutive turns merged", () => {
    const body = translate({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: "Use metric units." },
        { role: "user", content: "Hi" },
        { role: "user", content: "Anyone there?" },
        { role: "assistant", content: "Hello!" },
        { role: "user", content: "Weather?" }
      ]
    })
    expect(body.systemInstruction).toEqual({ parts: [{ text: "Be brief.\n\nUse metric units." }] })
    expect(body.contents).toEqual([
      { role: "user", parts: [{ text: "Hi" }, { text: "Anyone there?" }] },
      { role: "model", parts: [{ text: "Hello!" }] },
      { role: "user", parts: [{ text: "Weather?" }] }
    ])
    expect(body.generationConfig).toBeUndefined()
  })

  it("maps generationConfig, including JSON mode with a converted schema", () => {
    const body = translate({
      messages: [{ role: "user", content: "x" }],
      temperature: 0.3,
      top_p: 0.8,
      max_tokens: 500,
      stop: ["###"],
      n: 2,
      seed: 7,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      reasoning_effort: "low",
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "answer",
          schema: {
            $schema: "https://json-schema.org/draft/2020-12/schema",
            type: "object",
            additionalProperties: false,
            properties: { value: { type: ["string", "null"] }, kind: { const: "a" } },
            required: ["value"]
          }
        }
      }
    })
    expect(body.generationConfig).toEqual({
      temperature: 0.3,
      topP: 0.8,
      maxOutputTokens: 500,
      stopSequences: ["###"],
      candidateCount: 2,
      seed: 7,
      presencePenalty: 0.1,
      frequencyPenalty: 0.2,
      thinkingConfig: { thinkingBudget: 1024 },
      responseMimeType: "application/json",
      responseSchema: {
        type: "object",
        properties: { value: { type: "string", nullable: true }, kind: { enum: ["a"] } },
        required: ["value"]
      }
    })
    expect(
      translate({ messages: [{ role: "user", content: "x" }], response_format: { type: "json_object" } })
        .generationConfig
    ).toEqual({ responseMimeType: "application/json" })
  })

  it("maps every reasoning_effort, including the spec's max, to a thinking budget", () => {
    const budget = (effort: Chat.ReasoningEffort) =>
      translate({ messages: [{ role: "user", content: "x" }], reasoning_effort: effort }).generationConfig
        ?.thinkingConfig?.thinkingBudget
    expect(budget("none")).toBe(0)
    expect(budget("high")).toBe(24576)
    expect(budget("max")).toBe(32768)
  })

  it("serves allowed_tools by declaring only the allowed functions, and rejects custom tools with BadRequest", () => {
    const messages: ReadonlyArray<Chat.Message> = [{ role: "user", content: "hi" }]
    const tools: ReadonlyArray<Chat.Tool> = [
      { type: "function", function: { name: "a" } },
      { type: "function", function: { name: "b" } }
    ]
    const body = translate({
      messages,
      tools,
      tool_choice: {
        type: "allowed_tools",
        allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "a" } }] }
      }
    })
    expect(body.tools).toEqual([{ functionDeclarations: [{ name: "a" }] }])
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY" } })
    const custom = toGenerateContentRequest({
      model: "gemini-2.5-flash",
      messages,
      tools: [{ type: "custom", custom: { name: "sql" } }]
    })
    expect(Either.isLeft(custom) && custom.left._tag).toBe("BadRequest")
    expect(Either.isLeft(custom) && custom.left.message).toContain("gemini has no custom (free-form input) tools")
  })

  it("maps tools to functionDeclarations and tool_choice to functionCallingConfig", () => {
    const tools: ReadonlyArray<Chat.Tool> = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather",
          parameters: {
            type: "object",
            properties: { city: { type: "string" }, unit: { anyOf: [{ enum: ["c", "f"] }, { type: "null" }] } },
            required: ["city"],
            additionalProperties: false
          }
        }
      },
      { type: "function", function: { name: "now", parameters: { type: "object", properties: {} } } }
    ]
    const messages: ReadonlyArray<Chat.Message> = [{ role: "user", content: "hi" }]
    const body = translate({ messages, tools })
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "get_weather",
            description: "Current weather",
            parameters: {
              type: "object",
              properties: { city: { type: "string" }, unit: { enum: ["c", "f"], nullable: true } },
              required: ["city"]
            }
          },
          { name: "now" }
        ]
      }
    ])
    expect(translate({ messages, tools, tool_choice: "auto" }).toolConfig).toEqual({
      functionCallingConfig: { mode: "AUTO" }
    })
    expect(translate({ messages, tools, tool_choice: "required" }).toolConfig).toEqual({
      functionCallingConfig: { mode: "ANY" }
    })
    expect(translate({ messages, tools, tool_choice: "none" }).toolConfig).toEqual({
      functionCallingConfig: { mode: "NONE" }
    })
    expect(
      translate({ messages, tools, tool_choice: { type: "function", function: { name: "now" } } }).toolConfig
    ).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["now"] } })
  })

  it("turns tool calls into functionCall parts and tool messages into named functionResponse parts", () => {
    const body = translate({
      messages: [
        { role: "user", content: "Weather in Paris and Rome?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { id: "call_b", type: "function", function: { name: "lookup", arguments: '{"city":"Rome"}' } }
          ]
        },
        { role: "tool", tool_call_id: "call_a", content: '{"temp":18}' },
        { role: "tool", tool_call_id: "call_b", content: "sunny" }
      ]
    })
    expect(body.contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris and Rome?" }] },
      {
        role: "model",
        parts: [
          { functionCall: { name: "get_weather", args: { city: "Paris" } } },
          { functionCall: { name: "lookup", args: { city: "Rome" } } }
        ]
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "get_weather", response: { temp: 18 } } },
          { functionResponse: { name: "lookup", response: { result: "sunny" } } }
        ]
      }
    ])
  })

  it("rejects a tool message answering an unknown call", () => {
    const error = Either.flip(
      toGenerateContentRequest({ model: "g", messages: [{ role: "tool", tool_call_id: "nope", content: "x" }] })
    )
    expect(Either.getOrThrow(error)._tag).toBe("BadRequest")
    expect(Either.getOrThrow(error).message).toContain('"nope"')
  })

  it("sends data: images inline and other URLs as fileData", () => {
    const body = translate({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: "data:image/webp;base64,UklGRg==" } },
            { type: "image_url", image_url: { url: "gs://bucket/photo.png" } }
          ]
        }
      ]
    })
    expect(body.contents[0].parts).toEqual([
      { text: "What is this?" },
      { inlineData: { mimeType: "image/webp", data: "UklGRg==" } },
      { fileData: { mimeType: "image/png", fileUri: "gs://bucket/photo.png" } }
    ])
  })
})

describe("Gemini JSON schema conversion", () => {
  it("inlines local $refs and keeps only keywords Gemini knows", () => {
    expect(
      toGeminiSchema({
        type: "object",
        $defs: { Point: { type: "object", properties: { x: { type: "number" } }, additionalProperties: false } },
        properties: { at: { $ref: "#/$defs/Point" }, tags: { type: "array", items: { type: "string" } } }
      })
    ).toEqual({
      type: "object",
      properties: {
        at: { type: "object", properties: { x: { type: "number" } } },
        tags: { type: "array", items: { type: "string" } }
      }
    })
  })

  it("cuts off recursive schemas instead of looping", () => {
    const converted = toGeminiSchema({
      type: "object",
      $defs: { Node: { type: "object", properties: { next: { $ref: "#/$defs/Node" } } } },
      properties: { head: { $ref: "#/$defs/Node" } }
    })
    expect(JSON.stringify(converted).length).toBeLessThan(10_000)
  })
})

describe("Gemini response translation", () => {
  it("translates text, thoughts, function calls and usage with cache and thinking tokens", () => {
    const response = decodeResponse({
      candidates: [
        {
          content: {
            role: "model",
            parts: [
              { text: "Thinking about weather", thought: true },
              { text: "Checking Paris." },
              { functionCall: { name: "get_weather", args: { city: "Paris" } } }
            ]
          },
          finishReason: "STOP",
          index: 0,
          safetyRatings: []
        }
      ],
      usageMetadata: {
        promptTokenCount: 1200,
        candidatesTokenCount: 30,
        totalTokenCount: 1330,
        cachedContentTokenCount: 1000,
        thoughtsTokenCount: 100,
        promptTokensDetails: [{ modality: "TEXT", tokenCount: 1200 }]
      },
      modelVersion: "gemini-2.5-flash-001",
      responseId: "resp-123"
    })
    const result = Either.getOrThrow(fromGenerateContentResponse(response, fallback))
    expect(result).toEqual({
      id: "resp-123",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "gemini-2.5-flash-001",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "Checking Paris.",
            reasoning_content: "Thinking about weather",
            tool_calls: [
              {
                id: "call_resp-123_0_0",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Paris"}' }
              }
            ]
          },
          finish_reason: "tool_calls"
        }
      ],
      usage: {
        prompt_tokens: 1200,
        completion_tokens: 130,
        total_tokens: 1330,
        prompt_tokens_details: { cached_tokens: 1000 },
        completion_tokens_details: { reasoning_tokens: 100 }
      }
    })
  })

  it("uses the fallback id and model when Gemini sends none, and one choice per candidate", () => {
    const response = decodeResponse({
      candidates: [
        { content: { parts: [{ text: "A" }] }, finishReason: "STOP" },
        { content: { parts: [{ text: "B" }] }, finishReason: "MAX_TOKENS", index: 1 }
      ]
    })
    const result = Either.getOrThrow(fromGenerateContentResponse(response, fallback))
    expect(result.id).toBe("fallback-id")
    expect(result.model).toBe("gemini-2.5-flash")
    expect(result.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([
      [0, "A", "stop"],
      [1, "B", "length"]
    ])
    expect(result.usage).toBeUndefined()
  })

  it("reports a blocked prompt as ContentPolicy", () => {
    const response = decodeResponse({
      promptFeedback: { blockReason: "SAFETY" },
      usageMetadata: { promptTokenCount: 5 }
    })
    const error = Either.getOrThrow(Either.flip(fromGenerateContentResponse(response, fallback)))
    expect(error._tag).toBe("ContentPolicy")
    expect(error.message).toContain("SAFETY")
  })

  it("maps every finish reason", () => {
    expect(toFinishReason("STOP", false)).toBe("stop")
    expect(toFinishReason("STOP", true)).toBe("tool_calls")
    expect(toFinishReason("MAX_TOKENS", false)).toBe("length")
    for (const reason of ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"]) {
      expect(toFinishReason(reason, false)).toBe("content_filter")
    }
    expect(toFinishReason("MALFORMED_FUNCTION_CALL", false)).toBe("MALFORMED_FUNCTION_CALL")
    expect(toFinishReason("OTHER", false)).toBe("OTHER")
    expect(toFinishReason("FINISH_REASON_UNSPECIFIED", false)).toBeNull()
    expect(toFinishReason(undefined, false)).toBeNull()
  })

  it("counts tool-use prompt tokens as prompt and computes a missing total", () => {
    expect(toUsage({ promptTokenCount: 10, toolUsePromptTokenCount: 5, candidatesTokenCount: 3 })).toEqual({
      prompt_tokens: 15,
      completion_tokens: 3,
      total_tokens: 18,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 }
    })
  })
})

const runTranslator = (events: ReadonlyArray<unknown>) => {
  const translator = new StreamTranslator("fallback-id", "gemini-2.5-flash", 1_700_000_000)
  const chunks: Array<Chat.ChatCompletionChunk> = []
  for (const raw of events) {
    const out = translator.push(decodeResponse(raw))
    if (Either.isLeft(out)) return { chunks, error: out.left as { readonly _tag: string; readonly message: string } }
    chunks.push(...out.right)
  }
  const end = translator.end()
  if (Either.isLeft(end)) return { chunks, error: end.left as { readonly _tag: string; readonly message: string } }
  chunks.push(...end.right)
  return { chunks, error: undefined }
}

describe("Gemini stream translation", () => {
  it("assembles text, function calls and the final usage", () => {
    const { chunks, error } = runTranslator([
      {
        candidates: [{ content: { role: "model", parts: [{ text: "Let me " }] }, index: 0 }],
        usageMetadata: { promptTokenCount: 40, totalTokenCount: 40 },
        responseId: "r1",
        modelVersion: "gemini-2.5-flash"
      },
      { candidates: [{ content: { parts: [{ text: "check." }] } }], responseId: "r1" },
      {
        candidates: [
          {
            content: {
              parts: [
                { functionCall: { name: "get_weather", args: { city: "Paris" } } },
                { functionCall: { name: "get_time", args: {} } }
              ]
            },
            finishReason: "STOP"
          }
        ],
        usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 12, totalTokenCount: 52 },
        responseId: "r1"
      }
    ])
    expect(error).toBeUndefined()
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "Let me " })
    const last = chunks[chunks.length - 1]
    expect(last.choices).toEqual([])
    expect(last.usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 12, total_tokens: 52 })
    const assembled = assembleChunks(chunks)
    expect(assembled.id).toBe("r1")
    expect(assembled.choices[0]).toEqual({
      index: 0,
      message: {
        role: "assistant",
        content: "Let me check.",
        tool_calls: [
          { id: "call_r1_0_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { id: "call_r1_0_1", type: "function", function: { name: "get_time", arguments: "{}" } }
        ]
      },
      finish_reason: "tool_calls"
    })
  })

  it("fails with Streaming when no candidate finished", () => {
    const { error } = runTranslator([{ candidates: [{ content: { parts: [{ text: "partial" }] } }] }])
    expect(error?._tag).toBe("Streaming")
  })

  it("fails with ContentPolicy when the prompt is blocked", () => {
    const { error, chunks } = runTranslator([{ promptFeedback: { blockReason: "PROHIBITED_CONTENT" } }])
    expect(chunks).toEqual([])
    expect(error?._tag).toBe("ContentPolicy")
  })

  it("maps a SAFETY stop mid-answer to content_filter", () => {
    const { chunks } = runTranslator([
      { candidates: [{ content: { parts: [{ text: "Once" }] } }] },
      { candidates: [{ content: { parts: [] }, finishReason: "SAFETY" }] }
    ])
    expect(assembleChunks(chunks).choices[0].finish_reason).toBe("content_filter")
  })
})

describe("Gemini embeddings translation", () => {
  it("sends one request per text and returns vectors in order", () => {
    const body = Either.getOrThrow(
      toBatchEmbedRequest({ model: "text-embedding-004", input: ["a", "b"], dimensions: 3 })
    )
    expect(body.requests).toEqual([
      { model: "models/text-embedding-004", content: { parts: [{ text: "a" }] }, outputDimensionality: 3 },
      { model: "models/text-embedding-004", content: { parts: [{ text: "b" }] }, outputDimensionality: 3 }
    ])
    const response = fromBatchEmbedResponse(
      { embeddings: [{ values: [0.1, 0.2, 0.3] }, { values: [0.4, 0.5, 0.6] }] },
      { model: "text-embedding-004", input: ["a", "b"] }
    )
    expect(response.data.map((d) => [d.index, d.embedding])).toEqual([
      [0, [0.1, 0.2, 0.3]],
      [1, [0.4, 0.5, 0.6]]
    ])
  })

  it("encodes base64 vectors as little-endian float32, and rejects token arrays", () => {
    const response = fromBatchEmbedResponse(
      { embeddings: [{ values: [1, -2] }] },
      { model: "m", input: "x", encoding_format: "base64" }
    )
    const bytes = Uint8Array.from(atob(response.data[0].embedding as string), (c) => c.charCodeAt(0))
    expect(Array.from(new Float32Array(bytes.buffer))).toEqual([1, -2])
    const tasked = Either.getOrThrow(
      toBatchEmbedRequest({ model: "m", input: "q", extra_body: { taskType: "RETRIEVAL_QUERY" } })
    )
    expect(tasked.requests[0]).toMatchObject({ taskType: "RETRIEVAL_QUERY", model: "models/m" })
    const error = Either.flip(toBatchEmbedRequest({ model: "m", input: [1, 2, 3] }))
    expect(Either.getOrThrow(error)._tag).toBe("BadRequest")
  })
})

// ---------------------------------------------------------------------------------------------------------------
// End to end, over real HTTP on 127.0.0.1
// ---------------------------------------------------------------------------------------------------------------

const apiKey = "AIzaSy-test-SECRET-0123456789"

const setup = (options: Partial<Gemini.Options> = {}) =>
  Effect.gen(function* () {
    const server = yield* NativeServers.make
    const service = yield* Gemini.make({ apiKey: Redacted.make(apiKey), baseUrl: server.url, ...options }).pipe(
      Effect.provide(FetchHttpClient.layer)
    )
    return { server, service }
  })

const request: Chat.ChatCompletionRequest = {
  model: "gemini-2.5-flash",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hello" }
  ],
  temperature: 0.5
}

const answer = {
  candidates: [{ content: { role: "model", parts: [{ text: "Hi!" }] }, finishReason: "STOP", index: 0 }],
  usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 2, totalTokenCount: 11 },
  modelVersion: "gemini-2.5-flash",
  responseId: "resp-e2e"
}

describe("Gemini over HTTP", () => {
  it.scoped("posts generateContent with the key in x-goog-api-key, never in the URL", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(NativeServers.json(answer))
      const response = yield* service.chat(request)
      expect(response).toMatchObject({
        id: "resp-e2e",
        choices: [{ message: { content: "Hi!" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 }
      })
      const [sent] = yield* server.requests
      expect(sent.url).toBe("/v1beta/models/gemini-2.5-flash:generateContent")
      expect(sent.url).not.toContain(apiKey)
      expect(sent.headers["x-goog-api-key"]).toBe(apiKey)
      expect(sent.headers["authorization"]).toBeUndefined()
      expect(sent.body).toEqual({
        contents: [{ role: "user", parts: [{ text: "Hello" }] }],
        systemInstruction: { parts: [{ text: "Be brief." }] },
        generationConfig: { temperature: 0.5 }
      })
    })
  )

  it.scoped("honours apiVersion and a models/ prefix on the model", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup({ apiVersion: "v1" })
      yield* server.script(NativeServers.json(answer))
      yield* service.chat({ ...request, model: "models/gemini-2.0-flash" })
      expect((yield* server.requests)[0].url).toBe("/v1/models/gemini-2.0-flash:generateContent")
    })
  )

  it.scoped("streams over streamGenerateContent?alt=sse, text and function calls assembled", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(
        NativeServers.sse([
          { data: { candidates: [{ content: { role: "model", parts: [{ text: "Looking " }] } }], responseId: "s1" } },
          { data: { candidates: [{ content: { parts: [{ text: "up." }] } }], responseId: "s1" } },
          {
            data: {
              candidates: [
                {
                  content: { parts: [{ functionCall: { name: "get_weather", args: { city: "Oslo" } } }] },
                  finishReason: "STOP"
                }
              ],
              usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 8, totalTokenCount: 28 },
              responseId: "s1"
            }
          }
        ])
      )
      const chunks = yield* Stream.runCollect(service.chatStream(request))
      const assembled = assembleChunks(chunks)
      expect(assembled.choices[0].message.content).toBe("Looking up.")
      expect(assembled.choices[0].message.tool_calls).toEqual([
        { id: "call_s1_0_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }
      ])
      expect(assembled.choices[0].finish_reason).toBe("tool_calls")
      expect(assembled.usage?.total_tokens).toBe(28)
      const [sent] = yield* server.requests
      expect(sent.url).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
      expect(sent.headers["x-goog-api-key"]).toBe(apiKey)
    })
  )

  it.scoped("reports a stream cut before any candidate finished as Streaming", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(NativeServers.sse([{ data: { candidates: [{ content: { parts: [{ text: "par" }] } }] } }]))
      const error = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      expect(error._tag).toBe("Streaming")
    })
  )

  it.scoped("reports an invalid key (HTTP 400 API_KEY_INVALID) as Authentication without quoting the key", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(
        NativeServers.json(
          {
            error: {
              code: 400,
              message: `API key not valid. Please pass a valid API key. (${apiKey})`,
              status: "INVALID_ARGUMENT",
              details: [{ reason: "API_KEY_INVALID" }]
            }
          },
          400
        )
      )
      const error = yield* Effect.flip(service.chat(request))
      expect(error._tag).toBe("Authentication")
      expect(error.message).toContain("API key not valid")
      expect(error.message).not.toContain(apiKey)
    })
  )

  it.scoped("maps 429 with retry-after to RateLimited and 503 to ServiceUnavailable", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(
        NativeServers.json({ error: { code: 429, message: "Quota exceeded", status: "RESOURCE_EXHAUSTED" } }, 429, {
          "retry-after": "12"
        }),
        NativeServers.json({ error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } }, 503)
      )
      const limited = yield* Effect.flip(service.chat(request))
      expect(limited._tag).toBe("RateLimited")
      expect((limited as LiterLlmError.RateLimited).retryAfter).toEqual(Duration.seconds(12))
      const unavailable = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      expect(unavailable).toMatchObject({ _tag: "ServiceUnavailable", status: 503, provider: "gemini" })
    })
  )

  it.scoped("embeds through batchEmbedContents", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(NativeServers.json({ embeddings: [{ values: [0.1, 0.2] }, { values: [0.3, 0.4] }] }))
      const response = yield* service.embed({ model: "text-embedding-004", input: ["a", "b"] })
      expect(response.data.map((d) => d.embedding)).toEqual([
        [0.1, 0.2],
        [0.3, 0.4]
      ])
      const [sent] = yield* server.requests
      expect(sent.url).toBe("/v1beta/models/text-embedding-004:batchEmbedContents")
      expect(sent.body).toEqual({
        requests: [
          { model: "models/text-embedding-004", content: { parts: [{ text: "a" }] } },
          { model: "models/text-embedding-004", content: { parts: [{ text: "b" }] } }
        ]
      })
    })
  )

  it.scoped("lists models across pages", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(
        NativeServers.json({ models: [{ name: "models/gemini-2.5-pro" }], nextPageToken: "p2" }),
        NativeServers.json({ models: [{ name: "models/text-embedding-004" }] })
      )
      const models = yield* service.listModels
      expect(models.data.map((m) => m.id)).toEqual(["gemini-2.5-pro", "text-embedding-004"])
      expect((yield* server.requests).map((r) => r.url)).toEqual([
        "/v1beta/models?pageSize=1000",
        "/v1beta/models?pageSize=1000&pageToken=p2"
      ])
    })
  )

  it.effect("layerConfig fails with Authentication naming GEMINI_API_KEY when it is not set", () =>
    Effect.gen(function* () {
      const error = yield* Layer.build(Gemini.layerConfig()).pipe(
        Effect.provide(FetchHttpClient.layer),
        Effect.scoped,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
        Effect.flip
      )
      expect(error._tag).toBe("Authentication")
      expect(error.message).toContain("GEMINI_API_KEY")
    })
  )
})

describe("Gemini translation invariants", () => {
  const arbText = FastCheck.oneof(FastCheck.constant(""), FastCheck.string({ maxLength: 6 }))
  const arbTurn: FastCheck.Arbitrary<ReadonlyArray<Chat.Message>> = FastCheck.oneof(
    arbText.map((content): ReadonlyArray<Chat.Message> => [{ role: "system", content }]),
    arbText.map((content): ReadonlyArray<Chat.Message> => [{ role: "user", content }]),
    arbText.map((content): ReadonlyArray<Chat.Message> => [{ role: "assistant", content }]),
    // A tool round trip: the call, then its answers.
    FastCheck.array(FastCheck.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 3 }).map(
      (names): ReadonlyArray<Chat.Message> => [
        {
          role: "assistant",
          tool_calls: names.map((name, i) => ({
            id: `id_${name}_${i}`,
            type: "function",
            function: { name, arguments: "{}" }
          }))
        },
        ...names.map((name, i): Chat.Message => ({ role: "tool", tool_call_id: `id_${name}_${i}`, content: name }))
      ]
    )
  )

  it.prop(
    "roles alternate, turns are never empty, and each function response is named after its call",
    { turns: FastCheck.array(arbTurn, { maxLength: 10 }) },
    ({ turns }) => {
      const body = translate({ messages: turns.flat() })
      body.contents.forEach((content, i) => {
        expect(content.parts.length).toBeGreaterThan(0)
        if (i > 0) expect(content.role).not.toBe(body.contents[i - 1].role)
      })
      const responses = body.contents
        .flatMap((c) => c.parts)
        .flatMap((p) => ("functionResponse" in p ? [p.functionResponse] : []))
      expect(responses.every((r) => (r.response as { readonly result: string }).result === r.name)).toBe(true)
      expect(responses.length).toBe(turns.flat().filter((m) => m.role === "tool").length)
    }
  )
})

describe("Gemini thought signatures", () => {
  it("round-trips a function call's thought signature through the tool call id", () => {
    const response = Either.getOrThrow(
      fromGenerateContentResponse(
        decodeResponse({
          candidates: [
            {
              content: {
                parts: [
                  { functionCall: { name: "get_weather", args: { city: "Rome" } }, thoughtSignature: "c2lnbmF0dXJl" }
                ]
              },
              finishReason: "STOP"
            }
          ],
          responseId: "r9"
        }),
        fallback
      )
    )
    const call = response.choices[0].message.tool_calls![0]
    expect(call.id).toBe("call_r9_0_0__thought__c2lnbmF0dXJl")
    const next = translate({
      messages: [
        { role: "user", content: "Weather in Rome?" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: "sunny" }
      ]
    })
    expect(next.contents[1].parts).toEqual([
      { functionCall: { name: "get_weather", args: { city: "Rome" } }, thoughtSignature: "c2lnbmF0dXJl" }
    ])
    expect(next.contents[2].parts).toEqual([
      { functionResponse: { name: "get_weather", response: { result: "sunny" } } }
    ])
  })
})

describe("Gemini connection faults", () => {
  it.scoped(
    "a body that ends after the first event, with no candidate finished, is Streaming, not a silent truncation",
    () =>
      Effect.gen(function* () {
        const { server, service } = yield* setup()
        yield* server.script(
          NativeServers.sse(
            [
              { data: { candidates: [{ content: { parts: [{ text: "one " }] } }] } },
              { data: { candidates: [{ content: { parts: [{ text: "two" }] }, finishReason: "STOP" }] } }
            ],
            1
          )
        )
        const error = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
        expect(error._tag).toBe("Streaming")
        expect(error.message).toContain("truncated")
      })
  )

  it.scoped("a refused connection is Network and does not quote the key", () =>
    Effect.gen(function* () {
      // Bind a server, note its port, and close it: nothing listens there afterwards.
      const url = yield* Effect.scoped(Effect.map(NativeServers.make, (server) => server.url))
      const service = yield* Gemini.make({ apiKey: Redacted.make(apiKey), baseUrl: url }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const error = yield* Effect.flip(service.chat(request))
      expect(error._tag).toBe("Network")
      expect(error.message).not.toContain(apiKey)
    })
  )
})

describe("Gemini layerConfig", () => {
  it.scoped("reads the key and base URL from config", () =>
    Effect.gen(function* () {
      const server = yield* NativeServers.make
      yield* server.script(NativeServers.json(answer))
      const config = ConfigProvider.fromMap(
        new Map([
          ["GEMINI_API_KEY", apiKey],
          ["GEMINI_BASE_URL", server.url]
        ])
      )
      const response = yield* LlmService.chat(request).pipe(
        Effect.provide(Gemini.layerConfig({ apiVersion: "v1" }).pipe(Layer.provide(FetchHttpClient.layer))),
        Effect.withConfigProvider(config)
      )
      expect(response.id).toBe("resp-e2e")
      const [sent] = yield* server.requests
      expect(sent.headers["x-goog-api-key"]).toBe(apiKey)
      expect(sent.url).toBe("/v1/models/gemini-2.5-flash:generateContent")
    })
  )
})

// ---------------------------------------------------------------------------------------------------------------
// Errors and blocks inside a stream, as Gemini and Vertex AI send them
// ---------------------------------------------------------------------------------------------------------------

describe("Gemini errors inside a stream", () => {
  const partial = (text: string) => ({
    candidates: [{ content: { role: "model", parts: [{ text }] }, finishReason: "STOP", index: 0 }]
  })
  const dataEvent = (value: unknown) => `data: ${JSON.stringify(value)}\r\n\r\n`
  const bare = (code: number, status: string, message: string) =>
    `${JSON.stringify({ error: { code, message, status } }, null, 2)}\n`
  const drain = (service: LlmService.Service) => Effect.flip(Stream.runDrain(service.chatStream(request)))

  it.scoped("an error object as an SSE event fails the stream with its mapped error, retry delay included", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      const quota = {
        error: {
          code: 429,
          message: "Resource has been exhausted",
          status: "RESOURCE_EXHAUSTED",
          details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "34.4s" }]
        }
      }
      yield* server.script(NativeServers.raw([dataEvent(partial("Hel")), dataEvent(quota)]))
      const error = yield* drain(service)
      expect(error._tag).toBe("RateLimited")
      expect(error.message).toContain("Resource has been exhausted")
      expect(error._tag === "RateLimited" && error.retryAfter).toEqual(Duration.millis(34_400))
    })
  )

  it.scoped("bare JSON after the data events fails the stream at once, while the body stays open", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(
        NativeServers.raw([dataEvent(partial("Hel")), bare(503, "UNAVAILABLE", "The model is overloaded.")], {
          hold: true
        })
      )
      const error = yield* drain(service)
      expect(error._tag).toBe("ServiceUnavailable")
      expect(error.message).toContain("The model is overloaded.")
    })
  )

  it.scoped("a CANCELLED error mid-stream is Streaming, and an API key error is Authentication", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(
        NativeServers.raw([dataEvent(partial("Hel")), bare(499, "CANCELLED", "The operation was cancelled.")]),
        NativeServers.raw([bare(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")])
      )
      const cancelled = yield* drain(service)
      expect(cancelled._tag).toBe("Streaming")
      expect(cancelled.message).toContain("The operation was cancelled.")
      expect((yield* drain(service))._tag).toBe("Authentication")
    })
  )

  it.scoped("an unterminated last event is read: a blocked prompt is ContentPolicy, a cut one Streaming", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      const blocked = { promptFeedback: { blockReason: "SAFETY" } }
      yield* server.script(
        NativeServers.raw([`data: ${JSON.stringify(blocked)}\r\n`]),
        NativeServers.raw([`data: ${JSON.stringify(blocked)}`]),
        NativeServers.raw([dataEvent(partial("Hel")), `data: {"candidates": [{"content": {"par`])
      )
      expect((yield* drain(service))._tag).toBe("ContentPolicy")
      expect((yield* drain(service))._tag).toBe("ContentPolicy")
      const cut = yield* drain(service)
      expect(cut._tag).toBe("Streaming")
      expect(cut.message).toContain("ended inside an event")
    })
  )

  it.scoped("braces inside strings do not end bare JSON early, and an array-wrapped error is read", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      const tricky = JSON.stringify([{ error: { code: 500, message: 'odd } ] \\" {', status: "INTERNAL" } }])
      yield* server.script(NativeServers.raw([dataEvent(partial("Hel")), tricky.slice(0, 20), tricky.slice(20)]))
      const error = yield* drain(service)
      expect(error._tag).toBe("ServerError")
      expect(error.message).toContain('odd } ] \\" {')
    })
  )
})

describe("Gemini streamed function-call arguments and nulls", () => {
  const part = (functionCall: unknown) => ({ candidates: [{ content: { role: "model", parts: [{ functionCall }] } }] })
  const stop = { candidates: [{ content: { parts: [{ text: "" }] }, finishReason: "STOP" }] }

  it("collects pieces by path, strings continued, quoted keys and array indexes, closed at the finish", () => {
    const { chunks, error } = runTranslator([
      part({ name: "f", willContinue: true }),
      part({ partialArgs: [{ jsonPath: "$.a['b c'][1]", stringValue: "he", willContinue: true }], willContinue: true }),
      part({ partialArgs: [{ jsonPath: "$.a['b c'][1]", stringValue: "llo" }], willContinue: true }),
      part({
        partialArgs: [
          { jsonPath: "$.n", nullValue: "NULL_VALUE" },
          { jsonPath: "$.ok", boolValue: false }
        ]
      }),
      part({ name: "g", willContinue: true }),
      part({ partialArgs: [{ jsonPath: "$.x", numberValue: 2 }], willContinue: true }),
      stop
    ])
    expect(error).toBeUndefined()
    const calls = assembleChunks(chunks).choices[0].message.tool_calls ?? []
    expect(calls.map((call) => JSON.parse((call as Chat.FunctionToolCall).function.arguments))).toEqual([
      { a: { "b c": [null, "hello"] }, n: null, ok: false },
      { x: 2 }
    ])
    expect(assembleChunks(chunks).choices[0].finish_reason).toBe("tool_calls")
  })

  it("pieces with no call open, or at a path that cannot be read, are Serialization naming the problem", () => {
    expect(runTranslator([part({ partialArgs: [{ jsonPath: "$.a", stringValue: "x" }] })]).error).toMatchObject({
      _tag: "Serialization",
      message: expect.stringContaining("no call was open")
    })
    const odd = runTranslator([
      part({ name: "f", willContinue: true }),
      part({ partialArgs: [{ jsonPath: "a..b", stringValue: "x" }] })
    ])
    expect(odd.error).toMatchObject({ _tag: "Serialization", message: expect.stringContaining("a..b") })
  })

  it("null candidates and null parts read as none", () => {
    expect(decodeResponse({ candidates: null, promptFeedback: null }).candidates).toEqual([])
    expect(decodeResponse({ candidates: [{ content: { parts: null }, finishReason: "STOP" }] }).candidates).toEqual([
      { content: { parts: [] }, finishReason: "STOP" }
    ])
  })
})

describe("Gemini answers that are not answers", () => {
  it.scoped("a body with neither candidates nor a block reason is Serialization, not an empty success", () =>
    Effect.gen(function* () {
      const { server, service } = yield* setup()
      yield* server.script(NativeServers.json({ this: [{ is: { not: [{ a: "valid" }] }, response: {} }] }))
      const error = yield* Effect.flip(service.chat(request))
      expect(error._tag).toBe("Serialization")
      expect(error.message).toContain("no candidates")
    })
  )
})
