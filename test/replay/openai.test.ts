/**
 * Recorded OpenAI-compatible responses (see fixtures/README.md) replayed through `OpenAiCompatible` in every split
 * mode: whole, 1-byte writes, and seeded cuts inside UTF-8 characters and line breaks. Each stream fixture is also
 * framed with CRLF line ends. The decoded answer must be the same in every mode and carry what the provider sent.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Chat from "../../src/Chat.js"
import type * as Embedding from "../../src/Embedding.js"
import type * as LiterLlmError from "../../src/LiterLlmError.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"
import * as Fixture from "./fixture.js"
import * as Harness from "./harness.js"
import * as Split from "./split.js"

const request: Chat.ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "hi" }] }

const client = (url: string) =>
  OpenAiCompatible.make({ baseUrl: `${url}/v1`, provider: "replay" }).pipe(Effect.provide(FetchHttpClient.layer))

/** The non-streamed answer of a JSON fixture. */
const chat = (fixture: Fixture.Fixture) =>
  Harness.replaySuccess(fixture, (url) => Effect.flatMap(client(url), (service) => service.chat(request)))

/** The assembled answer of a stream fixture, the same under LF and CRLF framing. */
const stream = (path: string, modes: ReadonlyArray<Split.Mode> = Split.allModes) =>
  Effect.gen(function* () {
    const run = (fixture: Fixture.Fixture, modes?: ReadonlyArray<Split.Mode>) =>
      Harness.replaySuccess(
        fixture,
        (url) =>
          Effect.flatMap(client(url), (service) => Stream.runCollect(service.chatStream(request))).pipe(
            Effect.map((chunks) => Chat.assembleChunks(Chunk.toReadonlyArray(chunks)))
          ),
        modes
      )
    const framed = path.endsWith(".sse") ? Fixture.sse(path) : Fixture.chunks(path, "\n")
    const lf = yield* run(framed, modes)
    // CRLF framing without the 1-byte mode, which LF framing already covers: every random split cuts a CR from its LF
    if (!path.endsWith(".sse")) expect(yield* run(Fixture.chunks(path, "\r\n"), Split.randomModes)).toEqual(lf)
    return lf
  })

const failure = (fixture: Fixture.Fixture) =>
  Harness.replayFailure(fixture, (url) => Effect.flatMap(client(url), (service) => service.chat(request)))

const message = (response: Chat.ChatCompletionResponse) => response.choices[0]!.message
const onlyCall = (response: Chat.ChatCompletionResponse) => {
  const calls = message(response).tool_calls ?? []
  expect(calls.length).toBe(1)
  return calls[0] as Chat.FunctionToolCall
}

const v = (path: string) => `vercel-ai/${path}`

describe("replay: OpenAI", () => {
  it.scoped("openai-text.json and its stream decode to their text and usage", () =>
    Effect.gen(function* () {
      const whole = yield* chat(Fixture.json(v("openai/openai-text.json")))
      expect(message(whole).content).toMatch(/^\*\*Holiday Name:\*\* Galaxy Day/)
      expect(whole.usage?.total_tokens).toBeGreaterThan(0)
      // 100 kB: 1-byte writes would take seconds here and are covered by every smaller stream
      const streamed = yield* stream(v("openai/openai-text.chunks.txt"), Split.randomModes)
      expect(message(streamed).content).toMatch(/^\*\*Holiday Name:\*\* Harmony Day/)
      expect(streamed.choices[0]!.finish_reason).toBe("stop")
      expect(streamed.usage?.completion_tokens).toBeGreaterThan(0)
    })
  )

  it.scoped("an Azure stream opening with a choice-less content-filter chunk with empty id and model", () =>
    Effect.gen(function* () {
      const response = yield* stream(v("openai/azure-model-router.1.chunks.txt"))
      expect(response.id).toBe("chatcmpl-CYPS1lijGoK8gd9lYzY3r9Sx50nbt")
      expect(response.model).toBe("gpt-5-nano-2025-08-07")
      expect(message(response).content).toBe("Capital of Denmark.")
      expect(response.usage?.completion_tokens_details?.reasoning_tokens).toBe(64)
    })
  )

  it.scoped("an error body (served with its 400) is BadRequest quoting the provider", () =>
    Effect.gen(function* () {
      const error: LiterLlmError.LiterLlmError = yield* failure(
        Fixture.json(v("openai/reasoning-model-legacy-parameter-error.json"), 400)
      )
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toContain("Use 'max_completion_tokens' instead")
    })
  )

  it.scoped("an embedding response", () =>
    Effect.gen(function* () {
      const response: Embedding.EmbeddingResponse = yield* Harness.replaySuccess(
        Fixture.json(v("openai/openai-embedding.json")),
        (url) => Effect.flatMap(client(url), (service) => service.embed({ model: "m", input: ["a", "b"] }))
      )
      expect(response.data.map((d) => d.embedding.length)).toEqual([5, 5])
      expect(response.usage?.prompt_tokens).toBe(12)
    })
  )
})

describe("replay: Qwen (Alibaba DashScope)", () => {
  it.scoped("a streamed tool call keeps the id sent once, then as empty strings", () =>
    Effect.gen(function* () {
      const streamed = yield* stream(v("alibaba/alibaba-tool-call.chunks.txt"))
      expect(onlyCall(streamed)).toEqual({
        id: "call_eee11723464a4b9eb8cee71d",
        type: "function",
        function: { name: "weather", arguments: '{"location": "San Francisco"}' }
      })
      expect(streamed.usage?.total_tokens).toBe(317)
      const whole = yield* chat(Fixture.json(v("alibaba/alibaba-tool-call.json")))
      expect(onlyCall(whole).function).toEqual(onlyCall(streamed).function)
    })
  )

  it.scoped("reasoning_content and an answer with emoji", () =>
    Effect.gen(function* () {
      const response = yield* chat(Fixture.json(v("alibaba/alibaba-reasoning.json")))
      expect(message(response).reasoning_content).toContain("strawberry")
      expect(message(response).content).toContain("🍓")
    })
  )
})

describe("replay: DeepSeek", () => {
  it.scoped("a tool call with reasoning, streamed and not, and cached prompt tokens", () =>
    Effect.gen(function* () {
      for (const response of [
        yield* chat(Fixture.json(v("deepseek/deepseek-tool-call.json"))),
        yield* stream(v("deepseek/deepseek-tool-call.chunks.txt"))
      ]) {
        expect(onlyCall(response).function).toEqual({ name: "weather", arguments: '{"location": "San Francisco"}' })
        expect(message(response).reasoning_content).toContain("weather")
        expect(response.usage?.prompt_tokens_details?.cached_tokens).toBe(320)
        expect(response.choices[0]!.finish_reason).toBe("tool_calls")
      }
    })
  )

  it.scoped("reasoning and JSON answers", () =>
    Effect.gen(function* () {
      const reasoning = yield* chat(Fixture.json(v("deepseek/deepseek-reasoning.json")))
      expect(message(reasoning).reasoning_content).toContain("strawberry")
      const json = yield* chat(Fixture.json(v("deepseek/deepseek-json.json")))
      expect(JSON.parse(message(json).content!)).toEqual({
        location: "San Francisco",
        condition: "cloudy",
        temperature: 7
      })
      expect(json.usage?.completion_tokens_details?.reasoning_tokens).toBe(118)
    })
  )
})

describe("replay: Groq", () => {
  it.scoped("a tool call with empty arguments, streamed and not; text; reasoning under `reasoning`", () =>
    Effect.gen(function* () {
      for (const response of [
        yield* chat(Fixture.json(v("groq/groq-tool-call.json"))),
        yield* stream(v("groq/groq-tool-call.chunks.txt"))
      ]) {
        expect(onlyCall(response).function).toEqual({ name: "weather", arguments: "{}" })
      }
      const text = yield* chat(Fixture.json(v("groq/groq-text.json")))
      expect(message(text).content).toContain("Luminaria")
      const reasoning = yield* chat(Fixture.json(v("groq/groq-reasoning.json")))
      expect(message(reasoning).reasoning_content).toMatch(/^Okay, so the user is asking/)
      expect(message(reasoning).content).toContain("**3**")
    })
  )
})

describe("replay: Mistral", () => {
  it.scoped("Magistral's content parts: thinking is reasoning_content, text is content, streamed as not", () =>
    Effect.gen(function* () {
      const whole = yield* chat(Fixture.json(v("mistral/mistral-reasoning.json")))
      const streamed = yield* stream(v("mistral/mistral-reasoning.chunks.txt"))
      expect(message(whole)).toEqual({
        role: "assistant",
        content: "2 + 2 = 4",
        reasoning_content: "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
      })
      // one recording, two transports: the same answer
      expect(message(streamed)).toEqual(message(whole))
      expect(streamed.usage).toEqual(whole.usage)
    })
  )

  it.scoped("a tool call without type is a function call, streamed and not", () =>
    Effect.gen(function* () {
      const whole = yield* chat(Fixture.json(v("mistral/mistral-tool-call.json")))
      const streamed = yield* stream(v("mistral/mistral-tool-call.chunks.txt"))
      expect(onlyCall(whole)).toEqual({
        id: "gSIMJiOkT",
        type: "function",
        function: { name: "weather", arguments: '{"location": "San Francisco"}' }
      })
      expect(onlyCall(streamed)).toEqual(onlyCall(whole))
      const incremental = yield* stream(v("mistral/mistral-incremental-tool-call.chunks.txt"))
      expect(onlyCall(incremental).function).toEqual({
        name: "webSearchTool",
        arguments: '{"query": "current Berlin weather"}'
      })
    })
  )

  it.scoped("text, streamed and not", () =>
    Effect.gen(function* () {
      expect(message(yield* chat(Fixture.json(v("mistral/mistral-text.json")))).content).toContain("Kindness")
      expect(message(yield* stream(v("mistral/mistral-text.chunks.txt"))).content).toBe(
        "Hello, world! This is a test response."
      )
    })
  )
})

describe("replay: Moonshot (Kimi)", () => {
  it.scoped("reasoning, a stream with reasoning, a tool call", () =>
    Effect.gen(function* () {
      expect(message(yield* chat(Fixture.json(v("moonshotai/moonshotai-reasoning.json"))))).toMatchObject({
        content: "There are three.",
        reasoning_content: "Let me count the letters carefully."
      })
      const streamed = yield* stream(v("moonshotai/moonshotai-stream.chunks.txt"))
      expect(message(streamed)).toMatchObject({ content: "Hello!", reasoning_content: "Thinking aloud. " })
      expect(streamed.usage?.total_tokens).toBe(21)
      const call = onlyCall(yield* chat(Fixture.json(v("moonshotai/moonshotai-tool-call.json"))))
      expect(call.function).toEqual({ name: "get_weather", arguments: '{"city":"Paris"}' })
    })
  )
})

describe("replay: xAI, Perplexity, and an OpenAI-compatible gateway", () => {
  it.scoped("xAI: reasoning and tool calls, streamed and not", () =>
    Effect.gen(function* () {
      const text = yield* stream(v("xai/xai-text.chunks.txt"))
      expect(message(text)).toMatchObject({ content: "Hello", reasoning_content: "First, the user said" })
      expect(text.usage?.prompt_tokens_details?.cached_tokens).toBe(11)
      for (const response of [
        yield* stream(v("xai/xai-tool-call.chunks.txt")),
        yield* chat(Fixture.json(v("xai/xai-tool-call.json"))),
        yield* chat(Fixture.json(v("openai-compatible/xai-tool-call.json")))
      ]) {
        expect(onlyCall(response).function).toEqual({ name: "weather", arguments: '{"location":"San Francisco"}' })
      }
    })
  )

  it.scoped("Perplexity: citations beside the answer, usage on every chunk", () =>
    Effect.gen(function* () {
      const whole = yield* chat(Fixture.json(v("perplexity/perplexity-citations.json")))
      expect(message(whole).content).toContain("[2][3][5][7]")
      // a field the schema does not name is kept on the response, not dropped
      const citations = (whole as unknown as { readonly citations?: ReadonlyArray<string> }).citations
      expect(citations?.length).toBeGreaterThan(0)
      expect(citations?.every((url) => url.startsWith("http"))).toBe(true)
      const streamed = yield* stream(v("perplexity/perplexity-citations.chunks.txt"))
      expect(message(streamed).content).toBe("The current population of **[2][3]")
      expect(streamed.usage?.completion_tokens).toBe(336)
    })
  )

  it.scoped("a gateway's raw SSE capture: a tool call at index 1 after text", () =>
    Effect.gen(function* () {
      const response = yield* stream(v("openai-compatible/anthropic-fallback-tool-call.sse"))
      expect(message(response).content).toBe("Reading it.")
      expect(onlyCall(response)).toEqual({
        id: "toolu_sanitized",
        type: "function",
        function: { name: "read_file", arguments: '{"path": "a.txt"}' }
      })
    })
  )
})

describe("replay: errors inside a stream", () => {
  it.scoped("OpenRouter's documented mid-stream error ends the stream with the mapped error in every split mode", () =>
    Effect.gen(function* () {
      // the shape of OpenRouter's "errors during streaming" documentation, after some non-ASCII text
      const base = { id: "gen-1", object: "chat.completion.chunk", created: 1, model: "openai/gpt-4o" }
      const text = { ...base, choices: [{ index: 0, delta: { content: "Grüße 🙂" }, finish_reason: null }] }
      const failed = {
        ...base,
        provider: "openai",
        error: { code: "server_error", message: "Provider disconnected unexpectedly" },
        choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }]
      }
      const body = [text, failed].map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`).join("")
      const error = yield* Harness.replayFailure(Fixture.literal("openrouter mid-stream error", body), (url) =>
        Effect.flatMap(client(url), (service) => Stream.runCollect(service.chatStream(request)))
      )
      expect(error._tag).toBe("ServerError")
      expect(error.message).toContain("Provider disconnected unexpectedly")
    })
  )
})
