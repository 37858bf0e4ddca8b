import * as AnthropicClient from "@effect/ai-anthropic/AnthropicClient"
import * as AnthropicLanguageModel from "@effect/ai-anthropic/AnthropicLanguageModel"
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import * as Response from "@effect/ai/Response"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { deployment } from "../../src/ai/deployment.js"
import * as ReverseResponse from "../../src/ai/internal/reverseResponse.js"
import * as Chat from "../../src/Chat.js"
import * as Deployment from "../../src/Deployment.js"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import * as LiterLlmError from "../../src/LiterLlmError.js"
import * as LlmService from "../../src/LlmService.js"
import * as LlmTest from "../../src/LlmTest.js"
import * as Router from "../../src/Router.js"
import * as Strategy from "../../src/Strategy.js"

// @effect/ai providers over real HTTP to FakeUpstream: @effect/ai-openai's Responses API model and
// @effect/ai-anthropic's messages model, each wrapped by `deployment` into an LlmService.

const openAi = (upstream: FakeUpstream.Service, options?: Parameters<typeof deployment>[1]) =>
  deployment(OpenAiLanguageModel.model("gpt-4o-mini"), options).pipe(
    Layer.provide(OpenAiClient.layer({ apiUrl: upstream.baseUrl, apiKey: Redacted.make("sk-test") })),
    Layer.provide(FetchHttpClient.layer)
  )

const anthropic = (upstream: FakeUpstream.Service) =>
  deployment(AnthropicLanguageModel.model("claude-sonnet-4-5")).pipe(
    Layer.provide(AnthropicClient.layer({ apiUrl: upstream.url, apiKey: Redacted.make("sk-ant-test") })),
    Layer.provide(FetchHttpClient.layer)
  )

const serviceOf = <E>(layer: Layer.Layer<LlmService.LlmService, E>) => Effect.provide(LlmService.LlmService, layer)

const collect = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.map(Stream.runCollect(stream), (chunk) => Chunk.toReadonlyArray(chunk))

const weather: Chat.Tool = {
  type: "function",
  function: {
    name: "weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
  }
}

const request: Chat.ChatCompletionRequest = {
  model: "group-name",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hello" }
  ]
}

const field = (body: unknown, name: string) => (body as Record<string, unknown>)[name]

describe("deployment: @effect/ai-openai (Responses API) over FakeUpstream", () => {
  it.scoped("chat: the prompt and settings reach /v1/responses, the answer comes back as a chat completion", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({
        script: { reply: "Hi!", usage: { promptTokens: 11, completionTokens: 3, cachedTokens: 5, reasoningTokens: 1 } }
      })
      const service = yield* serviceOf(openAi(upstream))
      const response = yield* service.chat({ ...request, temperature: 0.3, max_tokens: 50, user: "u-1" })
      expect(response.id).toBe("fake-0")
      expect(response.model).toBe("gpt-4o-mini")
      expect(response.choices[0]!.message.content).toBe("Hi!")
      expect(response.choices[0]!.finish_reason).toBe("stop")
      expect(response.usage).toEqual({
        prompt_tokens: 11,
        completion_tokens: 3,
        total_tokens: 14,
        prompt_tokens_details: { cached_tokens: 5 },
        completion_tokens_details: { reasoning_tokens: 1 }
      })
      const [sent] = yield* upstream.requests
      expect(sent!.url).toBe("/v1/responses")
      expect(sent!.headers["authorization"]).toBe("Bearer sk-test")
      expect(field(sent!.body, "model")).toBe("gpt-4o-mini")
      expect(field(sent!.body, "temperature")).toBe(0.3)
      expect(field(sent!.body, "max_output_tokens")).toBe(50)
      expect(field(sent!.body, "user")).toBe("u-1")
      expect(field(sent!.body, "input")).toEqual([
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "input_text", text: "Hello" }] }
      ])
    })
  )

  it.scoped("tools: the caller's JSON Schema is sent, calls come back unrun as tool_calls, results go back", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({
        scripts: [{ reply: "", toolCalls: [{ id: "call_1", name: "weather", arguments: '{"city":"Paris"}' }] }],
        script: { reply: "Sunny in Paris." }
      })
      const service = yield* serviceOf(openAi(upstream))
      const ask = { ...request, tools: [weather], tool_choice: "required" as const }
      const first = yield* service.chat(ask)
      expect(first.choices[0]!.finish_reason).toBe("tool_calls")
      expect(first.choices[0]!.message.tool_calls).toEqual([
        { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }
      ])
      const second = yield* service.chat({
        ...ask,
        tool_choice: "auto",
        messages: [
          ...request.messages,
          { role: "assistant", content: null, tool_calls: first.choices[0]!.message.tool_calls! },
          { role: "tool", tool_call_id: "call_1", content: '{"sky":"sunny"}' }
        ]
      })
      expect(second.choices[0]!.message.content).toBe("Sunny in Paris.")
      yield* service.chat({ ...ask, tool_choice: { type: "function", function: { name: "weather" } } })
      const custom = yield* Effect.flip(
        service.chat({ ...request, tools: [{ type: "custom", custom: { name: "grep" } }] })
      )
      expect(custom.message).toContain("grep")
      const [sentFirst, sentSecond] = yield* upstream.requests
      const tools = field(sentFirst!.body, "tools") as ReadonlyArray<Record<string, unknown>>
      expect(tools.map((t) => [t.type, t.name, t.description, t.parameters, t.strict])).toEqual([
        ["function", "weather", "Current weather in a city", weather.function.parameters, false]
      ])
      expect(field(sentFirst!.body, "tool_choice")).toBe("required")
      expect(field((yield* upstream.requests)[2]!.body, "tool_choice")).toEqual({ type: "function", name: "weather" })
      const input = field(sentSecond!.body, "input") as ReadonlyArray<Record<string, unknown>>
      expect(input.slice(2)).toEqual([
        expect.objectContaining({
          type: "function_call",
          call_id: "call_1",
          name: "weather",
          arguments: '{"city":"Paris"}'
        }),
        { type: "function_call_output", call_id: "call_1", output: '{"sky":"sunny"}' }
      ])
    })
  )

  it.scoped("chatStream: text deltas, then the finish reason, then usage; tool-call fragments assemble", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({
        scripts: [{ reply: "one two three", chunks: 3 }],
        script: { reply: "", toolCalls: [{ id: "call_9", name: "weather", arguments: '{"city":"Oslo"}' }] }
      })
      const service = yield* serviceOf(openAi(upstream))
      const chunks = yield* collect(service.chatStream(request))
      expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant")
      const deltas = chunks.flatMap((c) => c.choices.map((choice) => choice.delta.content ?? ""))
      expect(deltas.filter((d) => d !== "")).toHaveLength(3)
      expect(deltas.join("")).toBe("one two three")
      expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe("stop")
      expect(chunks.at(-1)!.choices).toEqual([])
      expect(chunks.at(-1)!.usage?.completion_tokens).toBeGreaterThan(0)
      expect(new Set(chunks.map((c) => c.id))).toEqual(new Set(["fake-0"]))
      expect(field((yield* upstream.requests)[0]!.body, "stream")).toBe(true)

      const toolChunks = yield* collect(service.chatStream({ ...request, tools: [weather] }))
      const argumentFragments = toolChunks.flatMap((c) =>
        (c.choices[0]?.delta.tool_calls ?? []).map((t) => t.function?.arguments ?? "")
      )
      expect(argumentFragments.filter((a) => a !== "").length).toBeGreaterThan(1)
      const assembled = Chat.assembleChunks(toolChunks)
      expect(assembled.choices[0]!.finish_reason).toBe("tool_calls")
      expect(assembled.choices[0]!.message.tool_calls).toEqual([
        { id: "call_9", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } }
      ])
    })
  )

  it.scoped("response_format json_schema goes through generateObject with the caller's schema", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({ script: { reply: '{"city":"Paris"}' } })
      const service = yield* serviceOf(openAi(upstream))
      const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
      const response = yield* service.chat({
        ...request,
        response_format: { type: "json_schema", json_schema: { name: "place", schema, strict: true } }
      })
      expect(JSON.parse(response.choices[0]!.message.content!)).toEqual({ city: "Paris" })
      const text = field((yield* upstream.requests)[0]!.body, "text") as Record<string, unknown>
      expect(text.format).toEqual(expect.objectContaining({ type: "json_schema", name: "place", schema, strict: true }))
      const streamed = yield* Effect.flip(
        Stream.runDrain(service.chatStream({ ...request, response_format: { type: "json_object" } }))
      )
      expect(streamed._tag).toBe("BadRequest")
    })
  )

  it.scoped(
    "errors keep the HTTP status: 429 with its retry-after, 400; unserved fields and operations are refused",
    () =>
      Effect.gen(function* () {
        const upstream = yield* FakeUpstream.make({
          scripts: [{ status: 429, headers: { "retry-after": "2" } }, { status: 400 }, { status: 503 }]
        })
        const service = yield* serviceOf(openAi(upstream))
        const limited = yield* Effect.flip(service.chat(request))
        expect(limited._tag).toBe("RateLimited")
        expect(limited._tag === "RateLimited" && limited.retryAfter).toEqual(Duration.seconds(2))
        expect(limited._tag === "RateLimited" && [limited.status, limited.provider]).toEqual([429, "openai"])
        const bad = yield* Effect.flip(service.chat(request))
        expect([bad._tag, "status" in bad && bad.status]).toEqual(["BadRequest", 400])
        const down = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
        expect([down._tag, "status" in down && down.status]).toEqual(["ServiceUnavailable", 503])

        const seed = yield* Effect.flip(service.chat({ ...request, seed: 7 }))
        expect(seed._tag).toBe("BadRequest")
        expect(seed.message).toContain("seed")
        const many = yield* Effect.flip(service.chat({ ...request, n: 2 }))
        expect(many.message).toContain("n cannot be passed")
        const orphan = yield* Effect.flip(
          service.chat({ ...request, messages: [{ role: "tool", tool_call_id: "nope", content: "x" }] })
        )
        expect(orphan.message).toContain('"nope"')
        expect((yield* upstream.requests).length).toBe(3)

        const embed = yield* Effect.flip(service.embed({ model: "m", input: "x" }))
        const models = yield* Effect.flip(service.listModels)
        expect([embed._tag, models._tag]).toEqual(["EndpointNotSupported", "EndpointNotSupported"])

        const lenient = yield* serviceOf(openAi(upstream, { dropUnsupported: true }))
        const answered = yield* lenient.chat({ ...request, seed: 7 })
        expect(answered.choices[0]!.message.content).toBe("ok")
        expect(field((yield* upstream.requests)[3]!.body, "seed")).toBeUndefined()
      })
  )
})

describe("deployment: prompt, stream faults and settings", () => {
  it.scoped(
    "developer messages are system, images go as input_image, assistant text is kept; bad input sends nothing",
    () =>
      Effect.gen(function* () {
        const upstream = yield* FakeUpstream.make()
        const service = yield* serviceOf(openAi(upstream))
        const png = "data:image/png;base64,iVBORw0KGgo="
        yield* service.chat({
          model: "m",
          messages: [
            { role: "developer", content: [{ type: "text", text: "Rules." }] },
            {
              role: "user",
              content: [
                { type: "text", text: "What is this?" },
                { type: "image_url", image_url: { url: png } }
              ]
            },
            { role: "assistant", content: "A logo." },
            { role: "user", content: "Sure?" }
          ]
        })
        const input = field((yield* upstream.requests)[0]!.body, "input") as ReadonlyArray<Record<string, unknown>>
        expect(input[0]).toEqual({ role: "system", content: "Rules." })
        expect(input[1]!.content).toEqual([
          { type: "input_text", text: "What is this?" },
          expect.objectContaining({ type: "input_image", image_url: png })
        ])
        expect(input[2]).toEqual(
          expect.objectContaining({ role: "assistant", content: [{ type: "output_text", text: "A logo." }] })
        )
        const negative = yield* Effect.flip(service.chat({ ...request, max_tokens: -1 }))
        expect(negative.message).toContain("max_tokens")
        const fileId = yield* Effect.flip(
          service.chat({
            model: "m",
            messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-1" } }] }]
          })
        )
        expect(fileId.message).toContain("file_data")
        expect((yield* upstream.requests).length).toBe(1)
      })
  )

  it.scoped(
    "an error event in the stream fails it with the status its code names; interrupting a stream closes the connection",
    () =>
      Effect.gen(function* () {
        const upstream = yield* FakeUpstream.make({
          scripts: [
            {
              events: [
                'event: error\ndata: {"type":"error","sequence_number":0,"code":"rate_limit_exceeded","message":"slow down","param":null}\n\n'
              ]
            },
            { reply: "a b c d", chunks: 4, stallAfter: 5 }
          ]
        })
        const service = yield* serviceOf(openAi(upstream))
        const failed = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
        expect(failed._tag).toBe("RateLimited")
        expect(failed.message).toContain("slow down")
        const first = yield* collect(Stream.take(service.chatStream(request), 1))
        expect(first[0]!.choices[0]!.delta.content).toBe("a ")
        yield* upstream.awaitDisconnects(1)
        expect(yield* upstream.disconnects).toBe(1)
      })
  )

  it.scoped("a stream cut after its first chunk, or ending without its finish, fails with Streaming", () =>
    Effect.gen(function* () {
      // events: created, in_progress, item added, part added, 1 delta, text done, part done, item done, completed
      const upstream = yield* FakeUpstream.make({
        scripts: [
          { reply: "partial", chunks: 1, dropAfter: 5 },
          { reply: "partial", chunks: 1, malformed: 8 },
          { reply: "partial", chunks: 1, dropAfter: 2 }
        ]
      })
      const service = yield* serviceOf(openAi(upstream))
      const run = Effect.gen(function* () {
        const seen: Array<Chat.ChatCompletionChunk> = []
        const error = yield* Effect.flip(
          Stream.runForEach(service.chatStream(request), (chunk) => Effect.sync(() => seen.push(chunk)))
        )
        return { seen, error }
      })
      const cut = yield* run
      expect(cut.seen.map((c) => c.choices[0]?.delta.content)).toEqual(["partial"])
      expect(cut.error._tag).toBe("Streaming")
      const unfinished = yield* run
      expect(unfinished.seen).toHaveLength(1)
      expect([unfinished.error._tag, unfinished.error.message.includes("ended before its finish")]).toEqual([
        "Streaming",
        true
      ])
      const early = yield* run
      expect(early.seen).toEqual([])
      expect(LiterLlmError.isTransient(early.error)).toBe(true)
    })
  )

  it.scoped(
    "a layer without a provider name refuses settings; options.provider or a settings function passes them",
    () =>
      Effect.gen(function* () {
        const upstream = yield* FakeUpstream.make()
        const bare = (options?: Parameters<typeof deployment>[1]) =>
          serviceOf(
            deployment(OpenAiLanguageModel.layer({ model: "gpt-4o-mini" }), options).pipe(
              Layer.provide(OpenAiClient.layer({ apiUrl: upstream.baseUrl })),
              Layer.provide(FetchHttpClient.layer)
            )
          )
        const unnamed = yield* bare()
        const refused = yield* Effect.flip(unnamed.chat({ ...request, temperature: 0.5 }))
        expect([
          refused._tag,
          refused.message.includes("temperature cannot be passed"),
          refused.message.includes("effect-ai")
        ]).toEqual(["BadRequest", true, true])
        expect(yield* Effect.flip(unnamed.embed({ model: "m", input: "x" }))).toEqual(
          expect.objectContaining({ _tag: "EndpointNotSupported", provider: "effect-ai", endpoint: "embed" })
        )
        const named = yield* bare({ provider: "openai" })
        yield* named.chat({ ...request, temperature: 0.5 })
        yield* Stream.runDrain(named.chatStream({ ...request, temperature: 0.7 }))
        const custom = yield* bare({
          settings: (req) => OpenAiLanguageModel.withConfigOverride({ temperature: (req.temperature ?? 0) / 2 })
        })
        yield* custom.chat({ ...request, temperature: 0.5 })
        const refusedAnyway = yield* Effect.flip(custom.chat({ ...request, logit_bias: { "1": 2 } }))
        expect(refusedAnyway.message).toContain("logit_bias")
        const sent = yield* upstream.requests
        expect(sent.map((r) => [field(r.body, "temperature"), field(r.body, "stream") ?? false])).toEqual([
          [0.5, false],
          [0.7, true],
          [0.25, false]
        ])
      })
  )
})

describe("deployment inside a router", () => {
  it.scoped(
    "the @effect/ai deployment answers 503, the router fails over to the next one; a 400 is not failed over",
    () =>
      Effect.gen(function* () {
        const upstream = yield* FakeUpstream.make({ scripts: [{ status: 503 }, { status: 503 }, { status: 400 }] })
        const router = yield* serviceOf(
          Router.layer({
            deployments: [
              Deployment.make({ name: "effect-ai", layer: openAi(upstream), priority: 0 }),
              Deployment.make({ name: "backup", layer: LlmTest.layer({ reply: "from backup" }), priority: 1 })
            ],
            strategy: Strategy.fallback(),
            circuit: false
          })
        )
        const whole = yield* router.chat(request)
        expect(whole.choices[0]!.message.content).toBe("from backup")
        const streamed = yield* collect(router.chatStream(request))
        expect(Chat.assembleChunks(streamed).choices[0]!.message.content).toBe("from backup")
        const refused = yield* Effect.flip(router.chat(request))
        expect(refused._tag).toBe("BadRequest")
        const served = yield* router.chat(request)
        expect(served.choices[0]!.message.content).toBe("ok")
        expect((yield* upstream.requests).map((r) => r.url)).toEqual(Array(4).fill("/v1/responses"))
      })
  )
})

describe("deployment: @effect/ai-anthropic over FakeUpstream's /v1/messages", () => {
  it.scoped("chat with settings and a tool call, and a stream", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({
        scripts: [
          {
            reply: "Checking.",
            toolCalls: [{ id: "toolu_1", name: "weather", arguments: '{"city":"Rome"}' }],
            usage: { promptTokens: 20, completionTokens: 5, cachedTokens: 8 }
          }
        ],
        script: { reply: "Ciao from Rome", chunks: 2 }
      })
      const service = yield* serviceOf(anthropic(upstream))
      const first = yield* service.chat({ ...request, tools: [weather], max_tokens: 300, stop: "END" })
      expect(first.choices[0]!.message.content).toBe("Checking.")
      expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(8)
      expect(first.choices[0]!.finish_reason).toBe("tool_calls")
      expect(first.choices[0]!.message.tool_calls).toEqual([
        { id: "toolu_1", type: "function", function: { name: "weather", arguments: '{"city":"Rome"}' } }
      ])
      const [sent] = yield* upstream.requests
      expect(sent!.url.split("?")[0]).toBe("/v1/messages")
      expect(sent!.headers["x-api-key"]).toBe("sk-ant-test")
      expect([field(sent!.body, "max_tokens"), field(sent!.body, "stop_sequences")]).toEqual([300, ["END"]])
      expect(field(sent!.body, "system")).toEqual([{ type: "text", text: "Be brief." }])
      const chunks = yield* collect(service.chatStream(request))
      const assembled = Chat.assembleChunks(chunks)
      expect(assembled.choices[0]!.message.content).toBe("Ciao from Rome")
      expect(assembled.choices[0]!.finish_reason).toBe("stop")
      expect(assembled.usage?.prompt_tokens).toBeGreaterThan(0)
    })
  )
})

describe("@effect/ai parts to chat completions (pure)", () => {
  const fallback = { id: "fallback", model: "asked-for", created: 1 }
  const usage = new Response.Usage({
    inputTokens: 3,
    outputTokens: 4,
    totalTokens: 7,
    reasoningTokens: 2,
    cachedInputTokens: undefined
  })
  const metadata = Response.makePart("response-metadata", {
    id: Option.some("r-1"),
    modelId: Option.some("model-1"),
    timestamp: Option.none()
  })

  it("stream parts: role on the first chunk, reasoning and text deltas, a call without deltas sent whole, usage last", () => {
    const parts: ReadonlyArray<Response.AnyPart> = [
      metadata,
      Response.makePart("reasoning-delta", { id: "r", delta: "hmm" }),
      Response.makePart("text-delta", { id: "t", delta: "Hi" }),
      Response.makePart("tool-call", { id: "c1", name: "f", params: { a: 1 }, providerExecuted: false }),
      Response.makePart("finish", { reason: "unknown", usage })
    ]
    let state = ReverseResponse.initial(fallback)
    const chunks: Array<Chat.ChatCompletionChunk> = []
    for (const part of parts) {
      const [next, out] = ReverseResponse.step(state, part)
      state = next
      chunks.push(...out)
    }
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", reasoning_content: "hmm" })
    expect(chunks.every((c) => c.id === "r-1" && c.model === "model-1")).toBe(true)
    const whole = Chat.assembleChunks(chunks)
    expect(whole.choices[0]!.message).toMatchObject({
      content: "Hi",
      reasoning_content: "hmm",
      tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"a":1}' } }]
    })
    expect(whole.choices[0]!.finish_reason).toBe("tool_calls")
    expect(chunks.at(-1)!.usage).toEqual({
      prompt_tokens: 3,
      completion_tokens: 4,
      total_tokens: 7,
      completion_tokens_details: { reasoning_tokens: 2 }
    })
  })

  it("whole parts: finish reasons map to OpenAI's, no finish part means stop without usage", () => {
    const answer = (reason: Response.FinishReason) =>
      ReverseResponse.toResponse(fallback, [
        Response.makePart("text", { text: "x" }),
        Response.makePart("finish", { reason, usage })
      ]).choices[0]!.finish_reason
    expect(["stop", "length", "content-filter", "tool-calls", "pause", "other"].map((r) => answer(r as never))).toEqual(
      ["stop", "length", "content_filter", "tool_calls", "pause", "stop"]
    )
    const bare = ReverseResponse.toResponse(fallback, [metadata, Response.makePart("reasoning", { text: "r" })])
    expect(bare).toMatchObject({ id: "r-1", model: "model-1", created: 1 })
    expect(bare.choices[0]).toMatchObject({ message: { content: null, reasoning_content: "r" }, finish_reason: "stop" })
    expect(bare.usage).toBeUndefined()
  })
})
