/**
 * Folds a stream of chat chunks into the response it amounts to: content and refusals concatenated per choice,
 * tool-call fragments joined by index, the last finish reason, and the usage of the final chunk. Middleware uses it
 * to account for a stream (cost, budget, telemetry) and the cache to store a completed stream.
 */
import type * as Chat from "../Chat.js"

interface ToolCallDraft {
  id: string
  type: string
  name: string
  arguments: string
}

interface ChoiceDraft {
  content: string | null
  refusal: string | null
  reasoning: string | null
  finish: string | null
  tools: Map<number, ToolCallDraft>
}

/** A mutable accumulator: `push` each chunk, then `result`. */
export class Assembler {
  private id = ""
  private model = ""
  private created = 0
  private usage: Chat.Usage | undefined = undefined
  private readonly choices = new Map<number, ChoiceDraft>()
  /** How many chunks were pushed. */
  count = 0

  push(chunk: Chat.ChatCompletionChunk): void {
    this.count++
    if (this.id === "") this.id = chunk.id
    if (this.model === "") this.model = chunk.model
    if (this.created === 0) this.created = chunk.created
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage
    for (const choice of chunk.choices) {
      let draft = this.choices.get(choice.index)
      if (draft === undefined) {
        draft = { content: null, refusal: null, reasoning: null, finish: null, tools: new Map() }
        this.choices.set(choice.index, draft)
      }
      const delta = choice.delta
      if (delta.content != null) draft.content = (draft.content ?? "") + delta.content
      if (delta.refusal != null) draft.refusal = (draft.refusal ?? "") + delta.refusal
      if (delta.reasoning_content != null) draft.reasoning = (draft.reasoning ?? "") + delta.reasoning_content
      if (choice.finish_reason !== null) draft.finish = choice.finish_reason
      for (const call of delta.tool_calls ?? []) {
        let tool = draft.tools.get(call.index)
        if (tool === undefined) {
          tool = { id: "", type: "function", name: "", arguments: "" }
          draft.tools.set(call.index, tool)
        }
        if (call.id != null) tool.id = call.id
        if (call.type != null) tool.type = call.type
        if (call.function?.name != null) tool.name += call.function.name
        if (call.function?.arguments != null) tool.arguments += call.function.arguments
      }
    }
  }

  /** The usage reported so far (normally by the last chunk). */
  get reportedUsage(): Chat.Usage | undefined {
    return this.usage
  }

  result(): Chat.ChatCompletionResponse {
    const choices = [...this.choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, draft]): Chat.Choice => {
        const tools = [...draft.tools.entries()]
          .sort(([a], [b]) => a - b)
          .map(([, t]) => ({ id: t.id, type: "function" as const, function: { name: t.name, arguments: t.arguments } }))
        return {
          index,
          message: {
            role: "assistant",
            content: draft.content,
            ...(draft.refusal === null ? {} : { refusal: draft.refusal }),
            ...(draft.reasoning === null ? {} : { reasoning_content: draft.reasoning }),
            ...(tools.length === 0 ? {} : { tool_calls: tools })
          },
          finish_reason: draft.finish
        }
      })
    return {
      id: this.id,
      object: "chat.completion",
      created: this.created,
      model: this.model,
      choices,
      ...(this.usage === undefined ? {} : { usage: this.usage })
    }
  }
}

/** Assembles a whole list of chunks at once. */
export const assemble = (chunks: Iterable<Chat.ChatCompletionChunk>): Chat.ChatCompletionResponse => {
  const assembler = new Assembler()
  for (const chunk of chunks) assembler.push(chunk)
  return assembler.result()
}
