import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import type * as Chat from "../../src/Chat.js"
import { assemble, Assembler } from "../../src/internal/assemble.js"

const chunk = (
  choices: Chat.ChatCompletionChunk["choices"],
  extra: Partial<Chat.ChatCompletionChunk> = {}
): Chat.ChatCompletionChunk => ({
  id: "s",
  object: "chat.completion.chunk",
  created: 5,
  model: "m",
  choices,
  ...extra
})

const text = (index: number, content: string, finish: string | null = null) => ({
  index,
  delta: { content },
  finish_reason: finish
})

describe("Assembler", () => {
  it("counts chunks and exposes the usage reported so far", () => {
    const assembler = new Assembler()
    expect(assembler.reportedUsage).toBeUndefined()
    assembler.push(chunk([text(0, "a")]))
    assembler.push(chunk([text(0, "b", "stop")], { usage: null }))
    expect(assembler.reportedUsage).toBeUndefined()
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }
    assembler.push(chunk([], { usage }))
    expect(assembler.count).toBe(3)
    expect(assembler.reportedUsage).toEqual(usage)
    const result = assembler.result()
    expect(result.choices[0].message.content).toBe("ab")
    expect(result.usage).toEqual(usage)
    // result() can be read before the end, and pushing continues afterwards
    assembler.push(chunk([text(0, "c")]))
    expect(assembler.result().choices[0].message.content).toBe("abc")
  })

  it("takes id, model and created from the first chunk that has them", () => {
    const result = assemble([
      chunk([text(0, "x")], { id: "first", model: "m1", created: 10 }),
      chunk([], { id: "second" })
    ])
    expect(result).toMatchObject({ id: "first", model: "m1", created: 10, object: "chat.completion" })
  })

  it("an empty or missing id, type or name in a later fragment keeps what an earlier fragment set", () => {
    // Qwen/DashScope send the tool call's id and type once, then "" in every later fragment
    const fragment = (call: Chat.DeltaToolCall) =>
      chunk([{ index: 0, delta: { tool_calls: [call] }, finish_reason: null }])
    const result = assemble([
      fragment({ index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: "" } }),
      fragment({ index: 0, id: "", type: "", function: { name: "", arguments: '{"city":' } }),
      fragment({ index: 0, id: null, type: null, function: { name: null, arguments: '"Paris"}' } }),
      fragment({ index: 0, function: { arguments: "" } })
    ])
    expect(result.choices[0]!.message.tool_calls).toEqual([
      { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }
    ])
  })

  it("calls sent whole without an index (read as 0) stay separate calls, by their ids", () => {
    const call = (id: string, name: string, args: string): Chat.DeltaToolCall => ({
      index: 0,
      id,
      type: "function",
      function: { name, arguments: args }
    })
    const result = assemble([
      chunk([{ index: 0, delta: { tool_calls: [call("a", "weather", '{"city":"Paris"}')] }, finish_reason: null }]),
      chunk([
        { index: 0, delta: { tool_calls: [call("b", "time", "{}"), call("c", "weather", "{}")] }, finish_reason: null }
      ]),
      // the same id again continues its call
      chunk([
        { index: 0, delta: { tool_calls: [{ index: 0, id: "c", function: { arguments: "" } }] }, finish_reason: null }
      ])
    ])
    expect(result.choices[0]!.message.tool_calls?.map((t) => [t.id, (t as Chat.FunctionToolCall).function])).toEqual([
      ["a", { name: "weather", arguments: '{"city":"Paris"}' }],
      ["b", { name: "time", arguments: "{}" }],
      ["c", { name: "weather", arguments: "{}" }]
    ])
  })

  it("a choice with only a finish reason has null content", () => {
    const result = assemble([chunk([{ index: 0, delta: {}, finish_reason: "stop" }])])
    expect(result.choices[0].message).toEqual({ role: "assistant", content: null })
    expect(result.choices[0].finish_reason).toBe("stop")
  })

  it.prop(
    "content split anywhere, across interleaved choices, joins back to the original texts",
    [
      FastCheck.array(FastCheck.string({ maxLength: 20 }), { minLength: 1, maxLength: 3 }),
      FastCheck.integer({ min: 1, max: 7 })
    ],
    ([texts, size]) => {
      const chunks: Array<Chat.ChatCompletionChunk> = []
      const longest = Math.max(...texts.map((t) => t.length))
      for (let offset = 0; offset < Math.max(longest, 1); offset += size) {
        for (const [index, t] of texts.entries()) chunks.push(chunk([text(index, t.slice(offset, offset + size))]))
      }
      const result = assemble(chunks)
      expect(result.choices.map((c) => c.message.content)).toEqual(texts)
    }
  )
})
