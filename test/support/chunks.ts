import type * as Chat from "../../src/Chat.js"

/** A streamed chat chunk carrying `content` in one choice, as the fake services in tests emit them. */
export const contentChunk = (content: string, id = "chunk"): Chat.ChatCompletionChunk => ({
  id,
  object: "chat.completion.chunk",
  created: 0,
  model: "m",
  choices: [{ index: 0, delta: { content }, finish_reason: null }]
})
