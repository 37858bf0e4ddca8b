/**
 * Folds a stream of chat chunks into the response it amounts to: content and refusals concatenated per choice,
 * tool-call fragments joined by index, the last finish reason, and the usage of the final chunk. Middleware uses it
 * to account for a stream (cost, budget, telemetry) and the cache to store a completed stream.
 */
import * as Chunk from "effect/Chunk"
import * as Option from "effect/Option"
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
  /** Content parts other than text and thinking, as streamed. */
  parts: Array<unknown> | null
  finish: string | null
  /** The call each wire index currently continues. */
  tools: Map<number, ToolCallDraft>
  /** Every call with its wire index, in the order they started. */
  calls: Array<readonly [number, ToolCallDraft]>
  logprobs: Array<Chat.TokenLogprob> | null
  refusalLogprobs: Array<Chat.TokenLogprob> | null
}

/**
 * A mutable accumulator: `push` each chunk, then `result`.
 *
 * @since 0.1.0
 * @category streams
 */
export class Assembler {
  private id = ""
  private model = ""
  private created = 0
  private usage: Chat.Usage | undefined = undefined
  private fingerprint: string | undefined = undefined
  private serviceTier: string | undefined = undefined
  private readonly choices = new Map<number, ChoiceDraft>()
  /** How many chunks were pushed. */
  count = 0

  push(chunk: Chat.ChatCompletionChunk): void {
    this.count++
    if (this.id === "") this.id = chunk.id
    if (this.model === "") this.model = chunk.model
    if (this.created === 0) this.created = chunk.created
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage
    if (chunk.system_fingerprint != null) this.fingerprint = chunk.system_fingerprint
    if (chunk.service_tier != null) this.serviceTier = chunk.service_tier
    for (const choice of chunk.choices) {
      let draft = this.choices.get(choice.index)
      if (draft === undefined) {
        draft = {
          content: null,
          refusal: null,
          reasoning: null,
          parts: null,
          finish: null,
          tools: new Map(),
          calls: [],
          logprobs: null,
          refusalLogprobs: null
        }
        this.choices.set(choice.index, draft)
      }
      const delta = choice.delta
      if (delta.content != null) draft.content = (draft.content ?? "") + delta.content
      if (delta.refusal != null) draft.refusal = (draft.refusal ?? "") + delta.refusal
      if (delta.reasoning_content != null) draft.reasoning = (draft.reasoning ?? "") + delta.reasoning_content
      if (delta.content_parts !== undefined) (draft.parts ??= []).push(...delta.content_parts)
      if (choice.finish_reason !== null) draft.finish = choice.finish_reason
      if (choice.logprobs?.content != null) (draft.logprobs ??= []).push(...choice.logprobs.content)
      if (choice.logprobs?.refusal != null) (draft.refusalLogprobs ??= []).push(...choice.logprobs.refusal)
      for (const call of delta.tool_calls ?? []) {
        let tool = draft.tools.get(call.index)
        // A different id at an index already in use starts another call: servers that leave `index` out (it then
        // reads as 0) send each call whole, with its own id, and must not have them glued together.
        if (tool === undefined || (call.id != null && call.id !== "" && tool.id !== "" && call.id !== tool.id)) {
          tool = { id: "", type: "function", name: "", arguments: "" }
          draft.tools.set(call.index, tool)
          draft.calls.push([call.index, tool])
        }
        // Some servers (Qwen/DashScope) send the id once, then "" in every later fragment: an empty or missing value
        // never erases what an earlier fragment set.
        if (call.id != null && call.id !== "") tool.id = call.id
        if (call.type != null && call.type !== "") tool.type = call.type
        // OpenAI sends the name once; some compatible servers repeat it in every fragment. A repeat is not new text.
        const name = call.function?.name
        if (name != null && name !== "" && name !== tool.name) tool.name += name
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
        // a stable sort: calls sharing an index stay in the order they started
        const tools = [...draft.calls]
          .sort(([a], [b]) => a - b)
          .map(([, t]): Chat.ToolCall =>
            t.type === "function"
              ? { id: t.id, type: "function", function: { name: t.name, arguments: t.arguments } }
              : // a tool type we do not know: keep its type and what it streamed
                { id: t.id, type: t.type, function: { name: t.name, arguments: t.arguments } }
          )
        return {
          index,
          message: {
            role: "assistant",
            content: draft.content,
            ...(draft.refusal === null ? {} : { refusal: draft.refusal }),
            ...(draft.reasoning === null ? {} : { reasoning_content: draft.reasoning }),
            ...(draft.parts === null ? {} : { content_parts: draft.parts }),
            ...(tools.length === 0 ? {} : { tool_calls: tools })
          },
          finish_reason: draft.finish,
          ...(draft.logprobs === null && draft.refusalLogprobs === null
            ? {}
            : { logprobs: { content: draft.logprobs, refusal: draft.refusalLogprobs } })
        }
      })
    return {
      id: this.id,
      object: "chat.completion",
      created: this.created,
      model: this.model,
      choices,
      ...(this.usage === undefined ? {} : { usage: this.usage }),
      ...(this.fingerprint === undefined ? {} : { system_fingerprint: this.fingerprint }),
      ...(this.serviceTier === undefined ? {} : { service_tier: this.serviceTier })
    }
  }
}

/**
 * Assembles a whole list of chunks at once.
 *
 * @since 0.1.0
 * @category streams
 */
export const assemble = (chunks: Iterable<Chat.ChatCompletionChunk>): Chat.ChatCompletionResponse => {
  const assembler = new Assembler()
  for (const chunk of chunks) assembler.push(chunk)
  return assembler.result()
}

/**
 * The usage of the last chunk that carries one (normally the final chunk), if any: what a stream's usage is without
 * assembling it.
 *
 * @since 0.4.0
 * @category streams
 */
export const lastUsage = (chunks: Chunk.Chunk<Chat.ChatCompletionChunk>): Chat.Usage | undefined =>
  Option.getOrUndefined(Chunk.findLast(chunks, (chunk) => chunk.usage != null))?.usage ?? undefined
