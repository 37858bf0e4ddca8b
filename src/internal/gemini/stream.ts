/**
 * Translates the events of `streamGenerateContent?alt=sse` into OpenAI-style chunks.
 *
 * Every Gemini event is a partial `GenerateContentResponse`: new text and whole function calls per candidate, a
 * `finishReason` on the last event of a candidate, and cumulative `usageMetadata`. The translator numbers tool calls
 * per candidate across events, remembers whether a candidate called tools (so `STOP` becomes `tool_calls`), and
 * emits the last usage once at the end, OpenAI-style, as a chunk without choices. A body that ends before any
 * candidate finished was cut off: a `Streaming` error.
 */
import * as Either from "effect/Either"
import type * as Chat from "../../Chat.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import { blocked, toolCallId } from "./response.js"
import { toFinishReason, toUsage } from "./usage.js"
import type * as Wire from "./wire.js"

interface CandidateState {
  tools: number
  finished: boolean
}

/**
 * Per-stream state; create one per HTTP response.
 *
 * @since 0.1.0
 * @category streams
 */
export class StreamTranslator {
  private id: string | undefined = undefined
  private model: string
  private usage: Wire.UsageMetadata | undefined = undefined
  private readonly candidates = new Map<number, CandidateState>()

  constructor(
    private readonly fallbackId: string,
    requestModel: string,
    private readonly created: number
  ) {
    this.model = requestModel
  }

  private base(): Omit<Chat.ChatCompletionChunk, "choices"> {
    return { id: this.id ?? this.fallbackId, object: "chat.completion.chunk", created: this.created, model: this.model }
  }

  /** The chunks one event amounts to, or the refusal it means. */
  push(
    event: Wire.GenerateContentResponse
  ): Either.Either<ReadonlyArray<Chat.ChatCompletionChunk>, LiterLlmError.ContentPolicy> {
    const refusal = blocked(event)
    if (refusal !== undefined) return Either.left(refusal)
    if (this.id === undefined && event.responseId != null) this.id = event.responseId
    if (event.modelVersion != null) this.model = event.modelVersion
    if (event.usageMetadata != null) this.usage = event.usageMetadata
    const choices: Array<Chat.ChunkChoice> = []
    event.candidates.forEach((candidate, position) => {
      const index = candidate.index ?? position
      let state = this.candidates.get(index)
      const first = state === undefined
      if (state === undefined) {
        state = { tools: 0, finished: false }
        this.candidates.set(index, state)
      }
      let content: string | undefined = undefined
      let reasoning: string | undefined = undefined
      const toolCalls: Array<Chat.DeltaToolCall> = []
      for (const part of candidate.content?.parts ?? []) {
        if (part.functionCall != null) {
          const position = state.tools++
          toolCalls.push({
            index: position,
            id: toolCallId(this.id ?? this.fallbackId, index, position, part),
            type: "function",
            function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) }
          })
        } else if (part.text != null) {
          if (part.thought === true) reasoning = (reasoning ?? "") + part.text
          else content = (content ?? "") + part.text
        }
      }
      const finish = toFinishReason(candidate.finishReason, state.tools > 0)
      if (finish !== null) state.finished = true
      const delta: Chat.Delta = {
        ...(first ? { role: "assistant" } : {}),
        ...(content === undefined ? {} : { content }),
        ...(reasoning === undefined ? {} : { reasoning_content: reasoning }),
        ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls })
      }
      if (Object.keys(delta).length > 0 || finish !== null) choices.push({ index, delta, finish_reason: finish })
    })
    return Either.right(choices.length === 0 ? [] : [{ ...this.base(), choices }])
  }

  /** Once the body has ended: the usage chunk, or the error of a truncated stream. */
  end(): Either.Either<ReadonlyArray<Chat.ChatCompletionChunk>, LiterLlmError.Streaming> {
    const finished = [...this.candidates.values()].some((state) => state.finished)
    if (!finished) {
      return Either.left(
        new LiterLlmError.Streaming({
          provider: "gemini",
          message: "the gemini stream ended before any candidate finished; the answer is truncated, retry the request"
        })
      )
    }
    return Either.right(this.usage === undefined ? [] : [{ ...this.base(), choices: [], usage: toUsage(this.usage) }])
  }
}
