import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { EffectAi } from "../../src/ai/index.js"
import * as Fold from "../../src/ai/internal/stream.js"
import type * as Chat from "../../src/Chat.js"
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

/** Splits a text at the given cut points (positions taken modulo its length). */
const cut = (text: string, at: ReadonlyArray<number>): Array<string> => {
  const points = [...new Set(at.map((n) => (text.length === 0 ? 0 : n % text.length)))]
    .filter((n) => n > 0)
    .sort((a, b) => a - b)
  return [0, ...points].map((from, i) => text.slice(from, points[i] ?? text.length)).filter((piece) => piece !== "")
}

const call = FastCheck.record({
  name: FastCheck.constantFrom("lookup", "time"),
  params: FastCheck.dictionary(FastCheck.constantFrom("a", "b", "c"), FastCheck.integer({ min: -9, max: 99 })),
  cuts: FastCheck.array(FastCheck.nat(), { maxLength: 4 })
})

describe("the stream fold (internal/stream.ts)", () => {
  it.prop(
    "however the upstream splits reasoning, text and tool arguments, the parts keep @effect/ai's order and add up",
    [
      FastCheck.string(),
      FastCheck.array(FastCheck.nat(), { maxLength: 4 }),
      FastCheck.string(),
      FastCheck.array(FastCheck.nat(), { maxLength: 4 }),
      FastCheck.array(call, { maxLength: 3 })
    ],
    ([reasoning, reasoningCuts, text, textCuts, calls]) => {
      const base = { id: "s", object: "chat.completion.chunk", created: 1, model: "m" }
      const chunk = (delta: Chat.Delta, finish: string | null = null): Chat.ChatCompletionChunk => ({
        ...base,
        choices: [{ index: 0, delta, finish_reason: finish }]
      })
      const chunks: Array<Chat.ChatCompletionChunk> = [
        ...cut(reasoning, reasoningCuts).map((piece) => chunk({ reasoning_content: piece })),
        ...cut(text, textCuts).map((piece) => chunk({ content: piece })),
        ...calls.flatMap((c, index) => [
          chunk({
            tool_calls: [{ index, id: `id${index}`, type: "function", function: { name: c.name, arguments: "" } }]
          }),
          ...cut(JSON.stringify(c.params), c.cuts).map((piece) =>
            chunk({ tool_calls: [{ index, function: { arguments: piece } }] })
          )
        ]),
        chunk({}, calls.length > 0 ? "tool_calls" : "stop"),
        { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } }
      ]
      let state = Fold.initial
      const parts: Array<Fold.Part> = []
      for (const c of chunks) {
        const [next, added] = Fold.step(state, c, "gen")
        state = next
        parts.push(...added)
      }
      const ended = Either.getOrThrow(Fold.end(state))
      parts.push(...ended[1], Fold.finish(ended[0]))

      expect(parts[0]!.type).toBe("response-metadata")
      const deltas = (type: string) =>
        parts.flatMap((part) => (part.type === type && "delta" in part ? [part.delta as string] : []))
      expect(deltas("reasoning-delta").join("")).toBe(reasoning)
      expect(deltas("text-delta").join("")).toBe(text)
      // every block opens before its deltas and closes once, and blocks never overlap
      let open: string | undefined
      for (const part of parts) {
        if (part.type === "text-start" || part.type === "reasoning-start") {
          expect(open).toBeUndefined()
          open = part.id
        } else if (part.type === "text-delta" || part.type === "reasoning-delta") {
          expect(part.id).toBe(open)
        } else if (part.type === "text-end" || part.type === "reasoning-end") {
          expect(part.id).toBe(open)
          open = undefined
        } else if (part.type.startsWith("tool-")) {
          expect(open).toBeUndefined()
        }
      }
      expect(open).toBeUndefined()
      const toolCalls = parts.flatMap((part) => (part.type === "tool-call" ? [[part.id, part.name, part.params]] : []))
      expect(toolCalls).toEqual(calls.map((c, i) => [`id${i}`, c.name, c.params]))
      const last = parts.at(-1)!
      expect(last).toEqual({
        type: "finish",
        reason: calls.length > 0 ? "tool-calls" : "stop",
        usage: { inputTokens: 3, outputTokens: 5, totalTokens: 8 }
      })
      expect(parts.filter((part) => part.type === "finish")).toHaveLength(1)
    }
  )
})
