import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import type * as Chat from "../../src/Chat.js"
import * as Tokens from "../../src/internal/tokens.js"

const user = (content: Chat.UserMessage["content"]): Chat.Message => ({ role: "user", content })

describe("estimateTokens", () => {
  it("is one token per four characters, rounded up, at least one", () => {
    expect(Tokens.estimateTokens("")).toBe(1)
    expect(Tokens.estimateTokens("abcd")).toBe(1)
    expect(Tokens.estimateTokens("abcde")).toBe(2)
    expect(Tokens.estimateTokens("x".repeat(4000))).toBe(1000)
  })

  it.prop("never decreases as text grows", [FastCheck.string(), FastCheck.string()], ([a, b]) => {
    expect(Tokens.estimateTokens(a + b)).toBeGreaterThanOrEqual(Tokens.estimateTokens(a))
  })
})

describe("estimatePromptTokens", () => {
  it("adds a per-message overhead to the text of every message", () => {
    const one = Tokens.estimatePromptTokens({ model: "m", messages: [user("x".repeat(40))] })
    expect(one).toBe(4 + 10)
    const two = Tokens.estimatePromptTokens({
      model: "m",
      messages: [{ role: "system", content: "x".repeat(8) }, user("x".repeat(40))]
    })
    expect(two).toBe(4 + 2 + 4 + 10)
  })

  it("counts text parts, refusals and non-text parts, but not an empty assistant turn's null content", () => {
    const parts = Tokens.estimatePromptTokens({
      model: "m",
      messages: [
        user([
          { type: "text", text: "x".repeat(20) },
          { type: "text", text: "y".repeat(20) }
        ])
      ]
    })
    expect(parts).toBe(4 + 10)
    const image = Tokens.estimatePromptTokens({
      model: "m",
      messages: [user([{ type: "image_url", image_url: { url: "https://example.com/a.png" } }])]
    })
    expect(image).toBeGreaterThan(4 + 1)
    expect(Tokens.messageText({ role: "assistant", content: null })).toBe("")
    expect(Tokens.messageText({ role: "assistant", content: [{ type: "refusal", refusal: "no" }] })).toBe("no")
  })

  it("counts a media part by a flat figure, not by the length of its base64, and never throws", () => {
    const big = `data:image/png;base64,${"A".repeat(1_000_000)}`
    const image = Tokens.estimatePromptTokens({
      model: "m",
      messages: [
        user([
          { type: "text", text: "abcd" },
          { type: "image_url", image_url: { url: big } }
        ])
      ]
    })
    expect(image).toBe(4 + 1 + Tokens.mediaPartTokens)
    const cyclic: Record<string, unknown> = {}
    cyclic["self"] = cyclic
    const odd = Tokens.estimatePromptTokens({
      model: "m",
      messages: [user("abcd")],
      tools: [{ type: "function", function: { name: "f", parameters: { big: 1n, cyclic } } }]
    })
    expect(odd).toBe(4 + 1)
  })

  it("counts tools and an earlier assistant turn's tool calls", () => {
    const base: Chat.ChatCompletionRequest = { model: "m", messages: [user("hi")] }
    const withTools = Tokens.estimatePromptTokens({
      ...base,
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }]
    })
    expect(withTools).toBeGreaterThan(Tokens.estimatePromptTokens(base))
    const call: Chat.Message = {
      role: "assistant",
      content: null,
      tool_calls: [
        { id: "c", type: "function", function: { name: "lookup", arguments: '{"q":"' + "z".repeat(400) + '"}' } }
      ]
    }
    const withCall = Tokens.estimatePromptTokens({ ...base, messages: [...base.messages, call] })
    expect(withCall - Tokens.estimatePromptTokens(base)).toBeGreaterThan(100)
  })
})

describe("expectedCompletionTokens", () => {
  it("prefers max_completion_tokens, then max_tokens, then the default", () => {
    const base: Chat.ChatCompletionRequest = { model: "m", messages: [] }
    expect(Tokens.expectedCompletionTokens({ ...base, max_completion_tokens: 50, max_tokens: 10 })).toBe(50)
    expect(Tokens.expectedCompletionTokens({ ...base, max_tokens: 10 })).toBe(10)
    expect(Tokens.expectedCompletionTokens({ ...base, max_tokens: null })).toBe(Tokens.defaultCompletionTokens)
    expect(Tokens.expectedCompletionTokens(base)).toBe(256)
  })
})
