import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { EffectAi } from "../../src/ai/index.js"
import { body, upstream } from "./kit.js"

const model = EffectAi.layer({ model: "m" })

/** Runs a stream and gives the parts that arrived and the failure, if any. */
const run = <A, E, R>(stream: Stream.Stream<A, E, R>) =>
  Effect.gen(function* () {
    const seen: Array<A> = []
    const result = yield* Stream.runForEach(stream, (part) => Effect.sync(() => seen.push(part))).pipe(Effect.either)
    return { seen, error: result._tag === "Left" ? result.left : undefined }
  })

const sse = (chunks: ReadonlyArray<Record<string, unknown>>) => [
  ...chunks.map((chunk) => `data: ${JSON.stringify({ id: "s1", created: 1, model: "m", ...chunk })}\n\n`),
  "data: [DONE]\n\n"
]

const delta = (d: Record<string, unknown>, finish_reason: string | null = null) => ({
  choices: [{ index: 0, delta: d, finish_reason }]
})

const Lookup = Tool.make("lookup", {
  parameters: { query: Schema.String },
  success: Schema.String
})

/** Never runs: these tests turn tool-call resolution off, but a toolkit's type still asks for its handlers. */
const LookupHandlers = Toolkit.make(Lookup).toLayer({ lookup: () => Effect.succeed("unused") })

describe("EffectAi.layer: streamText over real HTTP", () => {
  it.scoped("streams text as start, deltas and end, asks for usage, and ends with the finish part carrying it", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream({
        script: { reply: "one two three", chunks: 3, usage: { promptTokens: 9, completionTokens: 3 } }
      })
      const { error, seen } = yield* run(LanguageModel.streamText({ prompt: "count" })).pipe(
        Effect.provide(model),
        Effect.provide(llm)
      )
      expect(error).toBeUndefined()
      expect(seen.map((part) => part.type)).toEqual([
        "response-metadata",
        "text-start",
        "text-delta",
        "text-delta",
        "text-delta",
        "text-end",
        "finish"
      ])
      const text = seen.flatMap((part) => (part.type === "text-delta" ? [part.delta] : [])).join("")
      expect(text).toBe("one two three")
      const finish = seen.at(-1)
      expect(finish?.type === "finish" && finish.reason).toBe("stop")
      expect(finish?.type === "finish" && [finish.usage.inputTokens, finish.usage.outputTokens]).toEqual([9, 3])
      expect(yield* body(server)).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    })
  )

  it.scoped("reasoning comes as its own block before the text, and reasoning tokens reach the finish part", () =>
    Effect.gen(function* () {
      const { llm } = yield* upstream({
        script: {
          events: sse([
            delta({ role: "assistant", reasoning_content: "Let me " }),
            delta({ reasoning_content: "think." }),
            delta({ content: "Done" }),
            delta({}, "stop"),
            {
              choices: [],
              usage: {
                prompt_tokens: 4,
                completion_tokens: 12,
                total_tokens: 16,
                completion_tokens_details: { reasoning_tokens: 10 }
              }
            }
          ])
        }
      })
      const { seen } = yield* run(LanguageModel.streamText({ prompt: "x" })).pipe(
        Effect.provide(model),
        Effect.provide(llm)
      )
      expect(seen.map((part) => part.type)).toEqual([
        "response-metadata",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-delta",
        "reasoning-end",
        "text-start",
        "text-delta",
        "text-end",
        "finish"
      ])
      const finish = seen.at(-1)
      expect(finish?.type === "finish" && finish.usage.reasoningTokens).toBe(10)
    })
  )

  it.scoped("a tool call streams its name, its argument fragments, then the parsed call, before the finish part", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream({
        script: { reply: "", toolCalls: [{ id: "call_7", name: "lookup", arguments: '{"query":"effect"}' }] }
      })
      const { seen } = yield* run(
        LanguageModel.streamText({
          prompt: "search",
          toolkit: Toolkit.make(Lookup),
          toolChoice: { tool: "lookup" },
          disableToolCallResolution: true
        })
      ).pipe(Effect.provide(model), Effect.provide(Layer.merge(llm, LookupHandlers)))
      const types = seen.map((part) => part.type)
      expect(types[0]).toBe("response-metadata")
      expect(types[1]).toBe("tool-params-start")
      expect(types.slice(-3)).toEqual(["tool-params-end", "tool-call", "finish"])
      const args = seen.flatMap((part) => (part.type === "tool-params-delta" ? [part.delta] : [])).join("")
      expect(args).toBe('{"query":"effect"}')
      const call = seen.find((part) => part.type === "tool-call")
      expect(call?.type === "tool-call" && [call.id, call.name, call.params]).toEqual([
        "call_7",
        "lookup",
        { query: "effect" }
      ])
      const finish = seen.at(-1)
      expect(finish?.type === "finish" && finish.reason).toBe("tool-calls")
      expect(yield* body(server)).toMatchObject({ tool_choice: { type: "function", function: { name: "lookup" } } })
    })
  )

  it.scoped("an error before the first chunk fails the stream with the status; nothing was emitted", () =>
    Effect.gen(function* () {
      const { llm } = yield* upstream({ script: { status: 503 } })
      const { error, seen } = yield* run(LanguageModel.streamText({ prompt: "x" })).pipe(
        Effect.provide(model),
        Effect.provide(llm)
      )
      expect(seen).toEqual([])
      expect(error?._tag).toBe("HttpResponseError")
      expect(error?._tag === "HttpResponseError" && error.response.status).toBe(503)
      expect(error !== undefined && EffectAi.isRetryable(error)).toBe(true)
    })
  )

  it.scoped("a connection dropped mid-stream ends the stream with MalformedOutput after the parts already sent", () =>
    Effect.gen(function* () {
      const { llm } = yield* upstream({ script: { reply: "a b c d e f", chunks: 6, dropAfter: 2 } })
      const { error, seen } = yield* run(LanguageModel.streamText({ prompt: "x" })).pipe(
        Effect.provide(model),
        Effect.provide(llm)
      )
      expect(seen.some((part) => part.type === "text-delta")).toBe(true)
      expect(seen.some((part) => part.type === "finish")).toBe(false)
      // part of the answer reached the caller: not retryable, as the library's own Streaming error is not transient
      expect(error?._tag).toBe("MalformedOutput")
      expect(error?._tag === "MalformedOutput" && (error.cause as { _tag: string })._tag).toBe("Streaming")
      expect(error !== undefined && EffectAi.isRetryable(error)).toBe(false)
    })
  )

  it.scoped("arguments that are not JSON fail the stream with MalformedOutput naming the tool", () =>
    Effect.gen(function* () {
      const { llm } = yield* upstream({
        script: {
          events: sse([
            delta({
              tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "lookup", arguments: "" } }]
            }),
            delta({ tool_calls: [{ index: 0, function: { arguments: '{"query": ' } }] }),
            delta({}, "tool_calls")
          ])
        }
      })
      const { error, seen } = yield* run(
        LanguageModel.streamText({ prompt: "x", toolkit: Toolkit.make(Lookup), disableToolCallResolution: true })
      ).pipe(Effect.provide(model), Effect.provide(Layer.merge(llm, LookupHandlers)))
      expect(Chunk.fromIterable(seen.map((part) => part.type))).toContain("tool-params-start")
      expect(error?._tag).toBe("MalformedOutput")
      expect(error?._tag === "MalformedOutput" && error.description).toContain(`tool "lookup"`)
    })
  )
})
