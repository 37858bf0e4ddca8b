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
import * as PartialArgs from "./partialArgs.js"
import { blocked, toolCallId } from "./response.js"
import { toFinishReason, toUsage } from "./usage.js"
import type * as Wire from "./wire.js"

interface CandidateState {
  tools: number
  finished: boolean
  /** A call whose arguments are still streaming (see `partialArgs.ts`), and its tool-call index. */
  open: { readonly position: number; readonly call: PartialArgs.OpenCall } | undefined
}

const misplaced = (detail: string) =>
  new LiterLlmError.Serialization({
    provider: "gemini",
    message: `a stream event from provider "gemini" had streamed function-call arguments that cannot be placed (${detail}); the tool call would be wrong, retry the request`
  })

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

  /** The chunks one event amounts to, or the refusal (or unplaceable streamed arguments) it means. */
  push(
    event: Wire.GenerateContentResponse
  ): Either.Either<ReadonlyArray<Chat.ChatCompletionChunk>, LiterLlmError.ContentPolicy | LiterLlmError.Serialization> {
    const refusal = blocked(event)
    if (refusal !== undefined) return Either.left(refusal)
    if (this.id === undefined && event.responseId != null) this.id = event.responseId
    if (event.modelVersion != null) this.model = event.modelVersion
    if (event.usageMetadata != null) this.usage = event.usageMetadata
    const choices: Array<Chat.ChunkChoice> = []
    let failure: LiterLlmError.Serialization | undefined = undefined
    event.candidates.forEach((candidate, position) => {
      const index = candidate.index ?? position
      let state = this.candidates.get(index)
      const first = state === undefined
      if (state === undefined) {
        state = { tools: 0, finished: false, open: undefined }
        this.candidates.set(index, state)
      }
      let content: string | undefined = undefined
      let reasoning: string | undefined = undefined
      const toolCalls: Array<Chat.DeltaToolCall> = []
      const current = state
      const close = () => {
        if (current.open === undefined) return
        toolCalls.push({
          index: current.open.position,
          function: { arguments: JSON.stringify(current.open.call.args) }
        })
        current.open = undefined
      }
      for (const part of candidate.content?.parts ?? []) {
        const call = part.functionCall
        if (call != null && (call.name == null || call.name === "")) {
          // A piece of the open call's streamed arguments, or (without willContinue) its end.
          if (state.open === undefined) {
            if ((call.partialArgs ?? []).length > 0) failure ??= misplaced("no call was open")
            continue
          }
          const unplaced = PartialArgs.apply(state.open.call, call.partialArgs ?? [])
          if (unplaced.length > 0) failure ??= misplaced(`paths ${unplaced.join(", ")}`)
          if (call.willContinue !== true) close()
        } else if (call != null) {
          close()
          const position = state.tools++
          const streams = call.willContinue === true
          if (streams) {
            state.open = { position, call: PartialArgs.open() }
            const unplaced = PartialArgs.apply(state.open.call, call.partialArgs ?? [])
            if (unplaced.length > 0) failure ??= misplaced(`paths ${unplaced.join(", ")}`)
          }
          toolCalls.push({
            index: position,
            id: toolCallId(this.id ?? this.fallbackId, index, position, part),
            type: "function",
            function: { name: call.name ?? "", arguments: streams ? "" : JSON.stringify(call.args ?? {}) }
          })
        } else if (part.text != null) {
          if (part.thought === true) reasoning = (reasoning ?? "") + part.text
          else content = (content ?? "") + part.text
        }
      }
      const finish = toFinishReason(candidate.finishReason, state.tools > 0)
      if (finish !== null) {
        close()
        state.finished = true
      }
      const delta: Chat.Delta = {
        ...(first ? { role: "assistant" } : {}),
        ...(content === undefined ? {} : { content }),
        ...(reasoning === undefined ? {} : { reasoning_content: reasoning }),
        ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls })
      }
      if (Object.keys(delta).length > 0 || finish !== null) choices.push({ index, delta, finish_reason: finish })
    })
    if (failure !== undefined) return Either.left(failure)
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
