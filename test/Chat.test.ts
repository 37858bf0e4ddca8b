import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import * as Chat from "../src/Chat.js"

const decodeResponse = Schema.decodeUnknownSync(Chat.ChatCompletionResponse)
const decodeChunk = Schema.decodeUnknownSync(Chat.ChatCompletionChunk)
const decodeRequest = Schema.decodeUnknownSync(Chat.ChatCompletionRequest)

describe("ChatCompletionResponse", () => {
  it("decodes a tool-call response as OpenAI sends it, nulls included", () => {
    const response = decodeResponse({
      id: "chatcmpl-abc123",
      object: "chat.completion",
      created: 1_741_569_952,
      model: "gpt-4o-2024-08-06",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: "call_abc",
                type: "function",
                function: { name: "get_weather", arguments: '{"location":"Paris"}' }
              }
            ],
            refusal: null,
            annotations: []
          },
          logprobs: null,
          finish_reason: "tool_calls"
        }
      ],
      usage: {
        prompt_tokens: 82,
        completion_tokens: 17,
        total_tokens: 99,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0
        }
      },
      service_tier: "default",
      system_fingerprint: null
    })
    const choice = response.choices[0]
    expect(choice.finish_reason).toBe("tool_calls")
    expect(choice.message.content).toBeNull()
    expect(choice.message.tool_calls).toEqual([
      { id: "call_abc", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }
    ])
    expect(response.usage?.total_tokens).toBe(99)
    expect(response.usage?.prompt_tokens_details?.cached_tokens).toBe(0)
    expect(response.service_tier).toBe("default")
  })

  it("decodes a refusal", () => {
    const response = decodeResponse({
      id: "chatcmpl-r",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: null, refusal: "I can't help with that." },
          finish_reason: "stop",
          logprobs: null
        }
      ]
    })
    expect(response.choices[0].message.refusal).toBe("I can't help with that.")
    expect(response.usage).toBeUndefined()
  })

  it("decodes logprobs with top alternatives and null bytes", () => {
    const response = decodeResponse({
      id: "c",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o-mini",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hi" },
          finish_reason: "stop",
          logprobs: {
            content: [
              {
                token: "Hi",
                logprob: -0.0001,
                bytes: [72, 105],
                top_logprobs: [
                  { token: "Hi", logprob: -0.0001, bytes: [72, 105] },
                  { token: "Hello", logprob: -9.2, bytes: null }
                ]
              }
            ],
            refusal: null
          }
        }
      ]
    })
    const logprobs = response.choices[0].logprobs
    expect(logprobs?.content?.[0].top_logprobs?.[1]).toEqual({ token: "Hello", logprob: -9.2, bytes: null })
    expect(logprobs?.refusal).toBeNull()
  })

  it("decodes url_citation annotations and keeps unknown annotation types", () => {
    const response = decodeResponse({
      id: "c",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o-search-preview",
      choices: [
        {
          index: 0,
          finish_reason: "stop",
          message: {
            role: "assistant",
            content: "Effect is a TypeScript library [effect.website].",
            annotations: [
              {
                type: "url_citation",
                url_citation: { url: "https://effect.website", title: "Effect", start_index: 31, end_index: 47 }
              },
              { type: "file_citation", file_citation: { file_id: "file-1" } }
            ]
          }
        }
      ]
    })
    const [citation, other] = response.choices[0].message.annotations!
    expect(citation.url_citation).toEqual({
      url: "https://effect.website",
      title: "Effect",
      start_index: 31,
      end_index: 47
    })
    expect(other.type).toBe("file_citation")
    expect(other["file_citation"]).toEqual({ file_id: "file-1" })
  })

  it("ignores unknown fields, keeps unknown tool-call types and finish reasons, fills defaults", () => {
    const response = decodeResponse({
      id: "c",
      created: 1,
      model: "some-model",
      x_groq: { id: "req_1" },
      prompt_logprobs: null,
      choices: [
        {
          index: 0,
          stop_reason: 128009,
          finish_reason: "eos",
          message: {
            content: "done",
            provider_specific_fields: { foo: 1 },
            tool_calls: [{ id: "ws_1", type: "web_search", web_search: { query: "effect ts" }, status: "completed" }]
          }
        }
      ]
    })
    expect(response.object).toBe("chat.completion")
    expect(response).not.toHaveProperty("x_groq")
    const choice = response.choices[0]
    expect(choice).not.toHaveProperty("stop_reason")
    expect(choice.finish_reason).toBe("eos")
    expect(choice.message.role).toBe("assistant")
    expect(choice.message).not.toHaveProperty("provider_specific_fields")
    expect(choice.message.tool_calls?.[0]).toEqual({
      id: "ws_1",
      type: "web_search",
      web_search: { query: "effect ts" },
      status: "completed"
    })
  })

  it("decodes custom tool calls, reasoning content, the deprecated function_call and a missing finish reason", () => {
    const response = decodeResponse({
      id: "c",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            reasoning_content: "Let me think",
            function_call: { name: "legacy", arguments: "{}" },
            tool_calls: [{ id: "c1", type: "custom", custom: { name: "sql", input: "select 1" } }]
          }
        }
      ]
    })
    const message = response.choices[0].message
    expect(message.tool_calls?.[0]).toEqual({ id: "c1", type: "custom", custom: { name: "sql", input: "select 1" } })
    expect(message.reasoning_content).toBe("Let me think")
    expect(message.function_call).toEqual({ name: "legacy", arguments: "{}" })
    expect(response.choices[0].finish_reason).toBeNull()
  })

  it("decodes OpenAI's newer usage details and rejects a response without choices", () => {
    const response = decodeResponse({
      id: "c",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 4, cache_write_tokens: 2, text_tokens: 8, image_tokens: 2 },
        completion_tokens_details: { reasoning_tokens: 3, text_tokens: 2 }
      }
    })
    expect(response.usage?.prompt_tokens_details?.cache_write_tokens).toBe(2)
    expect(response.usage?.completion_tokens_details?.reasoning_tokens).toBe(3)
    const missing = Schema.decodeUnknownEither(Chat.ChatCompletionResponse)({ id: "c", created: 1, model: "m" })
    expect(Either.isLeft(missing)).toBe(true)
  })
})

describe("bookkeeping fields some servers leave out", () => {
  it("usage with counts left out or null decodes with 0 and a computed total, and encodes back", () => {
    const base = { id: "c", object: "chat.completion", created: 1, model: "m", choices: [] }
    const partial = decodeResponse({ ...base, usage: { prompt_tokens: 7, completion_tokens: 3 } }).usage
    expect(partial).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 })
    const nulls = decodeResponse({ ...base, usage: { prompt_tokens: 4, completion_tokens: null, total_tokens: null } })
    expect(nulls.usage).toEqual({ prompt_tokens: 4, completion_tokens: 0, total_tokens: 4 })
    const chunk = Schema.decodeUnknownSync(Chat.ChatCompletionChunk)({
      id: "s",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [],
      usage: { completion_tokens: 9 }
    })
    expect(chunk.usage).toEqual({ prompt_tokens: 0, completion_tokens: 9, total_tokens: 9 })
    expect(Schema.encodeSync(Chat.Usage)(partial!)).toEqual({
      prompt_tokens: 7,
      completion_tokens: 3,
      total_tokens: 10
    })
  })

  it("a response without id, created or choice index decodes with neutral defaults", () => {
    const response = decodeResponse({
      model: "local",
      created: null,
      choices: [{ message: { role: "assistant", content: "hi" }, finish_reason: "stop" }]
    })
    expect(response).toMatchObject({ id: "", created: 0, model: "local" })
    expect(response.choices[0].index).toBe(0)
  })

  it("a chunk without id, created or indexes decodes and assembles", () => {
    const chunk = decodeChunk({
      model: "gemini-2.0-flash",
      choices: [{ delta: { tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{}" } }] } }]
    })
    expect(chunk).toMatchObject({ id: "", created: 0 })
    expect(Chat.assembleChunks([chunk]).choices[0].message.tool_calls).toEqual([
      { id: "t", type: "function", function: { name: "f", arguments: "{}" } }
    ])
  })

  it("a response without a model still fails", () => {
    const result = Schema.decodeUnknownEither(Chat.ChatCompletionResponse)({ id: "x", created: 1, choices: [] })
    expect(Either.isLeft(result)).toBe(true)
  })
})

describe("ChatCompletionRequest", () => {
  const full = {
    model: "gpt-4o",
    messages: [
      { role: "system", content: "You are terse." },
      { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
      {
        role: "user",
        name: "alice",
        content: [
          { type: "text", text: "What is in these?" },
          { type: "image_url", image_url: { url: "https://example.com/cat.png", detail: "low" } },
          { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
          { type: "file", file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JVBERi0=" } },
          { type: "file", file: { file_id: "file-abc" } }
        ]
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: "lookup", arguments: '{"q":"cat"}' } }]
      },
      { role: "tool", tool_call_id: "call_1", content: '{"answer":"a cat"}' },
      { role: "assistant", content: [{ type: "refusal", refusal: "no" }], refusal: "no" }
    ],
    temperature: 0.2,
    top_p: 0.9,
    n: 1,
    stream: false,
    stop: ["\n\n"],
    max_tokens: 100,
    max_completion_tokens: 120,
    presence_penalty: 0.1,
    frequency_penalty: -0.1,
    logit_bias: { "50256": -100 },
    logprobs: true,
    top_logprobs: 3,
    user: "user-42",
    tools: [
      {
        type: "function",
        function: {
          name: "lookup",
          description: "Looks things up",
          parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
          strict: true
        }
      }
    ],
    tool_choice: { type: "function", function: { name: "lookup" } },
    parallel_tool_calls: false,
    response_format: {
      type: "json_schema",
      json_schema: { name: "answer", schema: { type: "object" }, strict: true }
    },
    seed: 7,
    reasoning_effort: "low",
    stream_options: { include_usage: true },
    service_tier: "auto",
    metadata: { team: "a" },
    store: false,
    modalities: ["text"],
    verbosity: "low",
    prompt_cache_key: "k1",
    extra_body: { top_k: 40, safe_prompt: true }
  }

  it("decodes a request with every field, round-trips unchanged", () => {
    const request = decodeRequest(full)
    expect(request.messages).toHaveLength(6)
    expect(request.extra_body).toEqual({ top_k: 40, safe_prompt: true })
    expect(request.response_format).toEqual(full.response_format)
    expect(request.stream_options?.include_usage).toBe(true)
    expect(Schema.encodeSync(Chat.ChatCompletionRequest)(request)).toEqual(full)
  })

  it("accepts the simple forms: string content, stop string, tool_choice strings, json_object", () => {
    for (const tool_choice of ["none", "auto", "required"] as const) {
      const request = decodeRequest({
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        stop: "END",
        tool_choice,
        response_format: { type: "json_object" }
      })
      expect(request.tool_choice).toBe(tool_choice)
    }
  })

  it("decodes custom tools and the allowed_tools and custom tool choices of the spec", () => {
    const choices = [
      { type: "custom", custom: { name: "sql" } },
      {
        type: "allowed_tools",
        allowed_tools: {
          mode: "required",
          tools: [
            { type: "function", function: { name: "get_weather" } },
            { type: "custom", custom: { name: "sql" } }
          ]
        }
      }
    ]
    for (const tool_choice of choices) {
      const request = decodeRequest({
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        tools: [
          { type: "function", function: { name: "get_weather" } },
          { type: "custom", custom: { name: "sql", description: "runs SQL", format: { type: "text" } } }
        ],
        tool_choice
      })
      expect(request.tool_choice).toEqual(tool_choice)
      expect(request.tools?.map(Chat.toolName)).toEqual(["get_weather", "sql"])
      expect(request.tools?.[1]).toEqual({
        type: "custom",
        custom: { name: "sql", description: "runs SQL", format: { type: "text" } }
      })
    }
  })

  it("accepts every reasoning_effort of the spec, max included", () => {
    for (const effort of ["none", "minimal", "low", "medium", "high", "xhigh", "max"]) {
      const decoded = Schema.decodeUnknownSync(Chat.ChatCompletionRequest)({
        model: "m",
        messages: [],
        reasoning_effort: effort
      })
      expect(decoded.reasoning_effort).toBe(effort)
    }
  })

  it("rejects malformed requests", () => {
    const bad = [
      { messages: [{ role: "user", content: "hi" }] },
      { model: "m", messages: [{ role: "wizard", content: "hi" }] },
      { model: "m", messages: [{ role: "tool", content: "x" }] },
      { model: "m", messages: [{ role: "user", content: [{ type: "video", video: {} }] }] },
      { model: "m", messages: [], reasoning_effort: "extreme" },
      { model: "m", messages: [], n: 1.5 }
    ]
    for (const input of bad) {
      expect(Either.isLeft(Schema.decodeUnknownEither(Chat.ChatCompletionRequest)(input))).toBe(true)
    }
  })
})

describe("ChatCompletionChunk and assembleChunks", () => {
  const base = { id: "chatcmpl-s", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini" }
  const chunkOf = (choice: unknown, extra: Record<string, unknown> = {}) =>
    decodeChunk({ ...base, system_fingerprint: "fp_1", choices: choice === undefined ? [] : [choice], ...extra })

  it("assembles a streamed tool call's arguments by index", () => {
    const chunks = [
      chunkOf({
        index: 0,
        delta: { role: "assistant", content: null, refusal: null },
        logprobs: null,
        finish_reason: null
      }),
      chunkOf({
        index: 0,
        delta: {
          tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } }]
        },
        finish_reason: null
      }),
      chunkOf({
        index: 0,
        delta: { tool_calls: [{ index: 0, function: { arguments: '{"loc' } }] },
        finish_reason: null
      }),
      chunkOf({
        index: 0,
        delta: {
          tool_calls: [
            { index: 1, id: "call_b", type: "function", function: { name: "get_time", arguments: '{"tz":"UTC"}' } }
          ]
        },
        finish_reason: null
      }),
      chunkOf({
        index: 0,
        delta: { tool_calls: [{ index: 0, function: { arguments: 'ation":"Paris"}' } }] },
        finish_reason: null
      }),
      chunkOf({ index: 0, delta: {}, finish_reason: "tool_calls" }),
      chunkOf(undefined, { usage: { prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 } })
    ]
    const response = Chat.assembleChunks(chunks)
    expect(response).toMatchObject({ id: "chatcmpl-s", model: "gpt-4o-mini", created: 1_700_000_000 })
    expect(response.system_fingerprint).toBe("fp_1")
    expect(response.choices).toHaveLength(1)
    const choice = response.choices[0]
    expect(choice.finish_reason).toBe("tool_calls")
    expect(choice.message.content).toBeNull()
    expect(choice.message.tool_calls).toEqual([
      { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } },
      { id: "call_b", type: "function", function: { name: "get_time", arguments: '{"tz":"UTC"}' } }
    ])
    expect(JSON.parse((choice.message.tool_calls![0] as Chat.FunctionToolCall).function.arguments)).toEqual({
      location: "Paris"
    })
    expect(response.usage).toEqual({ prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 })
    // the assembled response is a valid response
    expect(Schema.decodeUnknownSync(Chat.ChatCompletionResponse)(response)).toEqual(response)
  })

  it("joins text, refusal, reasoning and logprobs per choice, in index order", () => {
    const lp = (token: string) => ({ token, logprob: -1, bytes: null, top_logprobs: [] })
    const response = Chat.assembleChunks([
      chunkOf({
        index: 1,
        delta: { role: "assistant", content: "B" },
        logprobs: { content: [lp("B")], refusal: null }
      }),
      chunkOf({ index: 0, delta: { content: "Hel", reasoning_content: "think" }, logprobs: { content: [lp("Hel")] } }),
      chunkOf({ index: 0, delta: { content: "lo" }, logprobs: { content: [lp("lo")] } }),
      chunkOf({ index: 1, delta: { refusal: "no" }, finish_reason: "content_filter" }),
      chunkOf({ index: 0, delta: {}, finish_reason: "length" })
    ])
    expect(response.choices.map((c) => c.index)).toEqual([0, 1])
    expect(response.choices[0].message).toMatchObject({ content: "Hello", reasoning_content: "think" })
    expect(response.choices[0].finish_reason).toBe("length")
    expect(response.choices[0].logprobs?.content?.map((t) => t.token)).toEqual(["Hel", "lo"])
    expect(response.choices[1].message).toMatchObject({ content: "B", refusal: "no" })
    expect(response.choices[1].finish_reason).toBe("content_filter")
    expect(response.usage).toBeUndefined()
  })

  it("does not double a tool name that a server repeats in every fragment", () => {
    const response = Chat.assembleChunks([
      chunkOf({ index: 0, delta: { tool_calls: [{ index: 0, id: "c", function: { name: "f", arguments: "{" } }] } }),
      chunkOf({ index: 0, delta: { tool_calls: [{ index: 0, function: { name: "f", arguments: "}" } }] } })
    ])
    expect(response.choices[0].message.tool_calls).toEqual([
      { id: "c", type: "function", function: { name: "f", arguments: "{}" } }
    ])
  })

  it("keeps a streamed tool call of an unknown type with its type", () => {
    const response = Chat.assembleChunks([
      chunkOf({ index: 0, delta: { tool_calls: [{ index: 0, id: "x", type: "mystery", function: { name: "n" } }] } })
    ])
    expect(response.choices[0].message.tool_calls?.[0].type).toBe("mystery")
  })

  it("decodes chunks with nulls and unknown fields, and an empty stream assembles to an empty response", () => {
    const chunk = decodeChunk({
      ...base,
      obfuscation: "abc",
      choices: [
        { index: 0, delta: { content: null, role: null, tool_calls: null }, finish_reason: null, logprobs: null }
      ],
      usage: null
    })
    expect(chunk.choices[0].delta.content).toBeNull()
    expect(chunk).not.toHaveProperty("obfuscation")
    const noDelta = decodeChunk({ ...base, choices: [{ index: 0, finish_reason: "stop" }] })
    expect(noDelta.choices[0].delta).toEqual({})
    expect(Chat.assembleChunks([]).choices).toEqual([])
  })
})

describe("shapes other providers document", () => {
  const chunkOf = (delta: unknown, extra: Record<string, unknown> = {}) =>
    decodeChunk({ id: "c", model: "m", choices: [{ index: 0, delta, finish_reason: null, ...extra }] })

  it("content as parts (Mistral Magistral): text is content, thinking is reasoning_content, other parts are kept", () => {
    const image = { type: "image_url", image_url: { url: "https://example.com/a.png" } }
    const response = decodeResponse({
      id: "x",
      model: "magistral-medium-2507",
      choices: [
        {
          index: 0,
          finish_reason: "stop",
          message: {
            role: "assistant",
            content: [
              {
                type: "thinking",
                thinking: [
                  { type: "text", text: "2+2 is " },
                  { type: "text", text: "4." }
                ]
              },
              { type: "text", text: "2 + 2 = " },
              image,
              { type: "text", text: "4" }
            ]
          }
        }
      ]
    })
    expect(response.choices[0]!.message).toEqual({
      role: "assistant",
      content: "2 + 2 = 4",
      reasoning_content: "2+2 is 4.",
      content_parts: [image]
    })
  })

  it("content parts streamed assemble like the non-streamed answer, and plain string content is unchanged", () => {
    const chunks = [
      chunkOf({ role: "assistant", content: [{ type: "thinking", thinking: [{ type: "text", text: "Think" }] }] }),
      chunkOf({ content: [{ type: "thinking", thinking: "ing." }] }),
      chunkOf({
        content: [
          { type: "text", text: "Four" },
          { type: "audio", id: "a1" }
        ]
      }),
      chunkOf({ content: "." }, { finish_reason: "stop" })
    ]
    expect(chunks[3]!.choices[0]!.delta).toEqual({ content: "." })
    const message = Chat.assembleChunks(chunks).choices[0]!.message
    expect(message.content).toBe("Four.")
    expect(message.reasoning_content).toBe("Thinking.")
    expect(message.content_parts).toEqual([{ type: "audio", id: "a1" }])
  })

  it("a tool call without type (Mistral) is a function call; one of an unknown type is still kept", () => {
    const response = decodeResponse({
      model: "mistral-small-latest",
      choices: [
        {
          finish_reason: "tool_calls",
          message: {
            role: "assistant",
            tool_calls: [
              { id: "gSIMJiOkT", function: { name: "weather", arguments: '{"location": "Paris"}' } },
              { id: "w1", type: "web_search", web_search: { query: "q" } }
            ]
          }
        }
      ]
    })
    expect(response.choices[0]!.message.tool_calls).toEqual([
      { id: "gSIMJiOkT", type: "function", function: { name: "weather", arguments: '{"location": "Paris"}' } },
      { id: "w1", type: "web_search", web_search: { query: "q" } }
    ])
  })

  it("reasoning under `reasoning` (Groq, OpenRouter, vLLM) is reasoning_content, streamed and not", () => {
    const response = decodeResponse({
      model: "qwen/qwen3-32b",
      choices: [{ message: { role: "assistant", content: "3", reasoning: "Count the r's." } }]
    })
    expect(response.choices[0]!.message.reasoning_content).toBe("Count the r's.")
    expect(chunkOf({ reasoning: "Okay" }).choices[0]!.delta).toEqual({ reasoning_content: "Okay" })
    // when both are sent, reasoning_content wins
    expect(chunkOf({ reasoning_content: "a", reasoning: "b" }).choices[0]!.delta.reasoning_content).toBe("a")
  })

  it("nulls where absence is expected decode as absent", () => {
    const chunk = decodeChunk({ id: null, object: null, model: "m", choices: null })
    expect(chunk).toEqual({ id: "", object: "chat.completion.chunk", created: 0, model: "m", choices: [] })
    expect(chunkOf(null).choices[0]!.delta).toEqual({})
    const response = decodeResponse({
      id: null,
      model: "m",
      choices: [
        {
          index: null,
          message: {
            role: null,
            content: "see",
            annotations: [{ type: "url_citation", url_citation: { url: "https://a.example", title: null } }]
          },
          logprobs: { content: [{ token: "see", logprob: -0.1, bytes: null, top_logprobs: null }] }
        },
        { index: 1, finish_reason: "length" }
      ]
    })
    expect(response.id).toBe("")
    expect(response.choices[0]!.message.role).toBe("assistant")
    expect(response.choices[0]!.message.annotations).toEqual([
      { type: "url_citation", url_citation: { url: "https://a.example" } }
    ])
    expect(response.choices[0]!.logprobs?.content?.[0]?.top_logprobs).toBeUndefined()
    expect(response.choices[1]).toEqual({
      index: 1,
      finish_reason: "length",
      message: { role: "assistant", content: null }
    })
  })
})
