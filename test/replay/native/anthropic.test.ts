/**
 * Recorded Anthropic responses (see fixtures/README.md) replayed through the real `Anthropic` layer: each body is
 * served whole, one byte per write and at seeded random cuts, and must give the same result every time (the harness
 * checks that); the assertions here check that the result is right.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Chat from "../../../src/Chat.js"
import * as Harness from "../harness.js"
import * as F from "./fixtures.js"
import * as Run from "./run.js"

const a = "anthropic-sdk-typescript/"
const v = "vercel-ai/"

const streamed = (fixture: F.Fixture) => Effect.flatMap(Harness.replay(fixture, Run.stream("anthropic")), (o) => o)
const whole = (fixture: F.Fixture, extra?: Partial<Chat.ChatCompletionRequest>) =>
  Effect.flatMap(Harness.replay(fixture, Run.chat("anthropic", extra)), (o) => o)
/** The error every mode ended with; a success fails the test with the answer. */
const failure = (fixture: F.Fixture) => Effect.flatMap(Harness.replay(fixture, Run.stream("anthropic")), Effect.flip)

const message = (response: Chat.ChatCompletionResponse) => response.choices[0]!.message
const args = Run.toolCalls

describe("Anthropic replay: streams", () => {
  it.scoped("anthropic-sdk-typescript basic_response: text, stop, usage", () =>
    Effect.gen(function* () {
      const { assembled } = yield* streamed(F.sse(`${a}basic_response.txt`))
      expect(message(assembled).content).toBe("Hello there!")
      expect(assembled.choices[0]!.finish_reason).toBe("stop")
      expect(assembled.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 })
      expect(assembled.id).toBe("msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK")
    })
  )

  it.scoped("anthropic-sdk-typescript tool_use_response: text then a tool call with streamed input", () =>
    Effect.gen(function* () {
      const { assembled } = yield* streamed(F.sse(`${a}tool_use_response.txt`))
      expect(message(assembled).content).toBe("I'll check the current weather in Paris for you.")
      expect(args(assembled)).toEqual([["get_weather", '{"location": "Paris"}']])
      expect(assembled.choices[0]!.finish_reason).toBe("tool_calls")
    })
  )

  it.scoped("anthropic-sdk-typescript incomplete_partial_json_response: cut by max_tokens, input kept as sent", () =>
    Effect.gen(function* () {
      const { assembled } = yield* streamed(F.sse(`${a}incomplete_partial_json_response.txt`))
      expect(assembled.choices[0]!.finish_reason).toBe("length")
      const [[name, input]] = args(assembled) as [[string, string]]
      expect(name).toBe("make_file")
      expect(input.startsWith('{"filename": "taxes.txt"')).toBe(true)
    })
  )

  it.scoped("anthropic-sdk-typescript stream-a-refusal (padded JSON): thinking, then a refusal", () =>
    Effect.gen(function* () {
      const { assembled } = yield* streamed(F.sse(`${a}stream-a-refusal.sse`))
      expect(message(assembled).reasoning_content?.startsWith("Simple educational question")).toBe(true)
      expect(assembled.choices[0]!.finish_reason).toBe("content_filter")
    })
  )

  it.scoped("vercel-ai anthropic-text, with \\n, \\r\\n and \\r line ends", () =>
    Effect.gen(function* () {
      for (const eol of ["\n", "\r\n", "\r"] as const) {
        const { assembled } = yield* streamed(F.chunks(`${v}anthropic-text.chunks.txt`, eol))
        expect(message(assembled).content).toBe(
          "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?"
        )
        expect(assembled.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 30 })
      }
    })
  )

  it.scoped("vercel-ai anthropic-tool-no-args: a tool call without input has arguments {}", () =>
    Effect.gen(function* () {
      const { assembled } = yield* streamed(F.chunks(`${v}anthropic-tool-no-args.chunks.txt`))
      expect(message(assembled).content).toBe("I'll update the issue list for you.")
      expect(args(assembled)).toEqual([["updateIssueList", "{}"]])
      expect(assembled.choices[0]!.finish_reason).toBe("tool_calls")
    })
  )

  it.scoped("vercel-ai anthropic-json-tool: the tool input streamed as JSON", () =>
    Effect.gen(function* () {
      const { assembled } = yield* streamed(F.chunks(`${v}anthropic-json-tool.1.chunks.txt`))
      const [[name, input]] = args(assembled) as [[string, string]]
      expect(name).toBe("json")
      expect(JSON.parse(input)).toEqual({
        elements: [{ location: "San Francisco", temperature: 58, condition: "sunny" }]
      })
    })
  )

  it.scoped("vercel-ai anthropic-web-search-tool: server tool blocks and citations stay out, text and usage in", () =>
    Effect.gen(function* () {
      const { assembled } = yield* streamed(F.chunks(`${v}anthropic-web-search-tool.1.chunks.txt`))
      expect(message(assembled).tool_calls).toBeUndefined()
      expect(message(assembled).content).toContain("tech news")
      expect(assembled.choices[0]!.finish_reason).toBe("stop")
      expect(assembled.usage).toMatchObject({ prompt_tokens: 15665, completion_tokens: 795 })
    })
  )

  it.scoped("vercel-ai anthropic-clear-thinking: thinking and multi-byte text", () =>
    Effect.gen(function* () {
      const { assembled } = yield* streamed(F.chunks(`${v}anthropic-clear-thinking.1.chunks.txt`))
      expect(message(assembled).content).toBe("925 ÷ 5 = 185")
      expect(message(assembled).reasoning_content).toContain("divide that by 5")
    })
  )

  it.scoped("vercel-ai anthropic-refusal and anthropic-message-delta-input-tokens", () =>
    Effect.gen(function* () {
      const refusal = (yield* streamed(F.chunks(`${v}anthropic-refusal.chunks.txt`))).assembled
      expect(refusal.choices[0]!.finish_reason).toBe("content_filter")
      const pong = (yield* streamed(F.chunks(`${v}anthropic-message-delta-input-tokens.chunks.txt`))).assembled
      expect(message(pong).content).toBe("pong")
      expect(pong.usage).toMatchObject({ prompt_tokens: 61, completion_tokens: 2 })
    })
  )

  it.scoped("vercel-ai duplicate-message-start: a repeated message_start changes nothing", () =>
    Effect.gen(function* () {
      const { assembled, chunks } = yield* streamed(F.chunks(`${v}duplicate-message-start.chunks.txt`))
      expect(message(assembled).content).toBe("Hello, World!")
      expect(chunks.filter((chunk) => chunk.choices[0]?.delta.role !== undefined)).toHaveLength(1)
    })
  )

  it.scoped("vercel-ai spliced-message-start: a second message inside the stream fails it, never mixed output", () =>
    Effect.gen(function* () {
      const error = yield* failure(F.chunks(`${v}spliced-message-start.chunks.txt`))
      expect(error._tag).toBe("Streaming")
      expect(error.message).toContain("msg_second")
    })
  )
})

describe("Anthropic replay: whole answers", () => {
  it.scoped("vercel-ai anthropic-text and anthropic-tool-no-args", () =>
    Effect.gen(function* () {
      const text = yield* whole(F.json(`${v}anthropic-text.json`))
      expect(message(text).content?.startsWith("Hello! I'm doing well, thanks for asking.")).toBe(true)
      expect(text.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 29 })
      expect(args(yield* whole(F.json(`${v}anthropic-tool-no-args.json`)))).toEqual([["updateIssueList", "{}"]])
    })
  )

  it.scoped("vercel-ai anthropic-json-tool, anthropic-refusal, anthropic-clear-thinking", () =>
    Effect.gen(function* () {
      const json = yield* whole(F.json(`${v}anthropic-json-tool.1.json`))
      expect(JSON.parse((args(json)[0] as [string, string])[1]).elements).toHaveLength(4)
      const refusal = yield* whole(F.json(`${v}anthropic-refusal.json`))
      expect(refusal.choices[0]!.finish_reason).toBe("content_filter")
      const thinking = yield* whole(F.json(`${v}anthropic-clear-thinking.1.json`))
      expect(message(thinking)).toMatchObject({ content: "925 ÷ 5 = 185", reasoning_content: "925 divided by 5 = 185" })
    })
  )

  it.scoped("vercel-ai anthropic-web-search-tool and anthropic-web-fetch-tool.error: server tool blocks stay out", () =>
    Effect.gen(function* () {
      const search = yield* whole(F.json(`${v}anthropic-web-search-tool.1.json`))
      expect(message(search).tool_calls).toBeUndefined()
      expect(search.usage).toMatchObject({ prompt_tokens: 27118, completion_tokens: 600 })
      const fetched = yield* whole(F.json(`${v}anthropic-web-fetch-tool.error.json`))
      expect(message(fetched).tool_calls).toBeUndefined()
      expect(message(fetched).content).toContain("I'll fetch the PDF document")
    })
  )
})
