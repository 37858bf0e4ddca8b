/**
 * Recorded Gemini and Vertex AI responses (see fixtures/README.md) replayed through the real `Gemini` layer: each
 * body is served whole, one byte per write and at seeded random cuts, and must give the same result every time (the
 * harness checks that); the assertions here check that the result is right.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Chat from "../../../src/Chat.js"
import * as Harness from "../harness.js"
import * as F from "./fixtures.js"
import * as Run from "./run.js"

const g = "vertexai-sdk-test-data/googleai/"
const x = "vertexai-sdk-test-data/vertexai/"
const v = "vercel-ai/"

const streamed = (fixture: F.Fixture) => Effect.flatMap(Harness.replay(fixture, Run.stream("gemini")), (o) => o)
const whole = (fixture: F.Fixture) => Effect.flatMap(Harness.replay(fixture, Run.chat("gemini")), (o) => o)
/** The error every mode ended with; a success fails the test with the answer. */
const streamFailure = (fixture: F.Fixture) => Effect.flatMap(Harness.replay(fixture, Run.stream("gemini")), Effect.flip)
const chatFailure = (fixture: F.Fixture) => Effect.flatMap(Harness.replay(fixture, Run.chat("gemini")), Effect.flip)

const message = (response: Chat.ChatCompletionResponse) => response.choices[0]!.message
const finish = (response: Chat.ChatCompletionResponse) => response.choices[0]!.finish_reason
const calls = (response: Chat.ChatCompletionResponse) =>
  Run.toolCalls(response).map(([name, args]) => [name, JSON.parse(args)] as const)

describe("Gemini replay: streams", () => {
  it.scoped("googleai basic reply, and vertexai UTF-8 text cut inside characters", () =>
    Effect.gen(function* () {
      const short = (yield* streamed(F.sse(`${g}streaming-success-basic-reply-short.txt`))).assembled
      expect(message(short).content).toBe("The capital of Wyoming is **Cheyenne**.\n")
      expect(finish(short)).toBe("stop")
      expect(short.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 10, total_tokens: 17 })
      const utf8 = (yield* streamed(F.sse(`${x}streaming-success-utf8.txt`))).assembled
      expect(message(utf8).content?.startsWith("秋风瑟瑟，叶落纷纷，")).toBe(true)
    })
  )

  it.scoped("googleai citations, and thinking with a function call and its signature", () =>
    Effect.gen(function* () {
      const cited = (yield* streamed(F.sse(`${g}streaming-success-citations.txt`))).assembled
      expect(message(cited).content?.startsWith("Okay, let's break down quantum mechanics.")).toBe(true)
      expect(cited.usage).toMatchObject({ prompt_tokens: 15, completion_tokens: 1381 })
      const thinking = (yield* streamed(
        F.sse(`${g}streaming-success-thinking-function-call-thought-summary-signature.txt`)
      )).assembled
      expect(calls(thinking)).toEqual([["now", {}]])
      expect(message(thinking).tool_calls?.[0]?.id).toContain("__thought__")
      expect(message(thinking).reasoning_content).toContain("Calculating the Days")
      expect(finish(thinking)).toBe("tool_calls")
    })
  )

  it.scoped("a blocked prompt is ContentPolicy, with the last event unterminated (googleai) or not (vertexai)", () =>
    Effect.gen(function* () {
      for (const path of [
        `${g}streaming-failure-prompt-blocked-safety.txt`,
        `${x}streaming-failure-prompt-blocked-safety.txt`
      ]) {
        const error = yield* streamFailure(F.sse(path))
        expect(error._tag).toBe("ContentPolicy")
        expect(error.message).toContain("SAFETY")
      }
    })
  )

  it.scoped("vertexai error mid-stream (bare JSON after data events) fails the stream", () =>
    Effect.gen(function* () {
      const error = yield* streamFailure(F.sse(`${x}streaming-failure-error-mid-stream.txt`))
      expect(error._tag).toBe("Streaming")
      expect(error.message).toContain("The operation was cancelled.")
    })
  )

  it.scoped("vertexai API key failure: a bare error body is Authentication, as a 200 stream or as a 400", () =>
    Effect.gen(function* () {
      const fixture = F.sse(`${x}streaming-failure-api-key.txt`)
      for (const status of [200, 400]) {
        const error = yield* streamFailure({ ...fixture, status })
        expect(error._tag).toBe("Authentication")
        expect(error.message).toContain("API key not valid")
      }
    })
  )

  it.scoped("vertexai safety and recitation finishes are content_filter, function call as a tool call", () =>
    Effect.gen(function* () {
      const safety = (yield* streamed(F.sse(`${x}streaming-failure-finish-reason-safety.txt`))).assembled
      expect(finish(safety)).toBe("content_filter")
      const recitation = (yield* streamed(F.sse(`${x}streaming-failure-recitation-no-content.txt`))).assembled
      expect(finish(recitation)).toBe("content_filter")
      const call = (yield* streamed(F.sse(`${x}streaming-success-function-call-short.txt`))).assembled
      expect(calls(call)).toEqual([["getTemperature", { city: "San Jose" }]])
      expect(finish(call)).toBe("tool_calls")
    })
  )

  it.scoped("vercel-ai google-text and google-reasoning, with \\r\\n line ends", () =>
    Effect.gen(function* () {
      const text = (yield* streamed(F.chunks(`${v}google-text.chunks.txt`, "\r\n"))).assembled
      expect(message(text).content).toBe('There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y')
      expect(text.usage).toMatchObject({ prompt_tokens: 9, completion_tokens_details: { reasoning_tokens: 185 } })
      const reasoning = (yield* streamed(F.chunks(`${v}google-reasoning.chunks.txt`, "\r\n"))).assembled
      expect(finish(reasoning)).toBe("stop")
      expect(reasoning.usage).toMatchObject({ completion_tokens: 285 })
    })
  )

  it.scoped("vercel-ai google-tool-call: a whole function call", () =>
    Effect.gen(function* () {
      const { assembled } = yield* streamed(F.chunks(`${v}google-tool-call.chunks.txt`))
      expect(calls(assembled)).toEqual([["weather", { location: "San Francisco" }]])
      expect(finish(assembled)).toBe("tool_calls")
    })
  )

  it.scoped("vercel-ai streamed function-call arguments (partialArgs) become whole tool calls", () =>
    Effect.gen(function* () {
      const noArgs = (yield* streamed(F.chunks(`${v}google-stream-no-args-tool-call.chunks.txt`))).assembled
      expect(calls(noArgs)).toEqual([
        ["read_theme", {}],
        ["read_screen", { id: "A" }],
        ["read_screen", { id: "B" }],
        ["read_screen", { id: "C" }]
      ])
      const weather = (yield* streamed(F.chunks(`${v}google-stream-tool-call-arguments.chunks.txt`))).assembled
      expect(calls(weather)).toEqual([
        ["getWeather", { location: "Boston" }],
        ["getWeather", { location: "San Francisco" }]
      ])
      const items = (yield* streamed(
        F.chunks(`${v}google-stream-tool-call-array-arguments-missing-terminal-function-call.chunks.txt`)
      )).assembled
      expect(calls(items)).toEqual([
        [
          "writeItems",
          {
            operations: [
              { action: "add", description: "Fresh red apple", itemid: "apple_001", price: 0.5 },
              { action: "add", description: "Ripe yellow banana", itemid: "banana_001", price: 0.3 }
            ]
          }
        ]
      ])
      const recipe = (yield* streamed(F.chunks(`${v}google-vertex-stream-tool-call-arguments-nested.1.chunks.txt`)))
        .assembled
      const [[name, input]] = calls(recipe) as [
        readonly [string, { recipe: { name: string; ingredients: ReadonlyArray<unknown> } }]
      ]
      expect(name).toBe("cookRecipe")
      expect(input.recipe.name).toBe("Lasagna")
      expect(input.recipe.ingredients).toHaveLength(10)
      expect(input.recipe.ingredients[0]).toEqual({ amount: "16 oz", name: "Lasagna noodles" })
    })
  )
})

describe("Gemini replay: whole answers", () => {
  it.scoped("vertexai basic reply, citations, thought summary", () =>
    Effect.gen(function* () {
      expect(message(yield* whole(F.json(`${x}unary-success-basic-reply-short.json`))).content).toBe(
        "Mountain View, California"
      )
      expect(message(yield* whole(F.json(`${x}unary-success-citations.json`))).content).toBe(
        "Some information cited from an external source"
      )
      const thought = yield* whole(F.json(`${x}unary-success-thinking-reply-thought-summary.json`))
      expect(message(thought).content).toBe("Mountain View")
      expect(message(thought).reasoning_content).toContain("Google's headquarters")
      expect(thought.usage).toMatchObject({ completion_tokens_details: { reasoning_tokens: 39 } })
    })
  )

  it.scoped("vertexai function calls without arguments and with null in them; vercel-ai google-tool-call", () =>
    Effect.gen(function* () {
      expect(Run.toolCalls(yield* whole(F.json(`${x}unary-success-function-call-no-arguments.json`)))).toEqual([
        ["current_time", "{}"]
      ])
      expect(calls(yield* whole(F.json(`${x}unary-success-function-call-null.json`)))).toEqual([
        ["functionName", { original_title: "String", season: null }]
      ])
      expect(calls(yield* whole(F.json(`${v}google-tool-call.json`)))).toEqual([
        ["weather", { location: "San Francisco" }]
      ])
      expect(message(yield* whole(F.json(`${v}google-text.json`))).content).toContain("strawberry")
      expect(finish(yield* whole(F.json(`${v}google-reasoning.json`)))).toBe("stop")
    })
  )

  it.scoped("errors: blocked prompt, bad key (400 and as a 200 body), quota (429)", () =>
    Effect.gen(function* () {
      expect((yield* chatFailure(F.json(`${x}unary-failure-prompt-blocked-safety.json`)))._tag).toBe("ContentPolicy")
      expect((yield* chatFailure(F.json(`${g}unary-failure-api-key.json`, 400)))._tag).toBe("Authentication")
      expect((yield* chatFailure(F.json(`${g}unary-failure-api-key.json`, 200)))._tag).toBe("Authentication")
      const quota = yield* chatFailure(F.json(`${v}google-429-retry-info.json`, 429))
      expect(quota._tag).toBe("RateLimited")
      expect(quota.message).toContain("You exceeded your current quota")
    })
  )
})
