/**
 * Translates Anthropic's stream events into OpenAI-style chunks, one event at a time.
 *
 * Anthropic numbers content blocks (text, thinking and tool use together) while OpenAI numbers tool calls alone, so
 * the translator remembers which block index is which tool call. Usage arrives in two halves (input at
 * `message_start`, output at `message_delta`) and is emitted once, OpenAI-style, as a final chunk without choices
 * at `message_stop`. A stream that ends before `message_stop` was cut off, and an `error` event is the provider
 * giving up mid-answer: both are `Streaming` errors, since part of the answer may already have been delivered.
 */
import * as Either from "effect/Either"
import type * as Chat from "../../Chat.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import { beforeStart } from "./errors.js"
import { type Counts, emptyCounts, mergeCounts, toFinishReason, toUsage } from "./usage.js"
import * as Wire from "./wire.js"

const provider = "anthropic"

/** The JSON of a tool call's input given whole at its start, or "" when it streams (an empty `{}`, or none). */
const startInput = (input: unknown): string =>
  typeof input === "object" && input !== null && Object.keys(input).length > 0 ? JSON.stringify(input) : ""

/**
 * Per-stream state; create one per HTTP response.
 *
 * @since 0.1.0
 * @category streams
 */
export class StreamTranslator {
  private id = ""
  private model: string
  private counts: Counts = emptyCounts
  private readonly toolIndexByBlock = new Map<number, number>()
  /** Content blocks that are calls of the answer tool: their input is the answer's content. */
  private readonly answerBlocks = new Set<number>()
  /**
   * Tool and answer blocks whose input has not produced a character yet. A call without input streams only an empty
   * `input_json_delta`; closing it with `{}` makes the assembled arguments valid JSON, as the non-streamed path gives.
   */
  private readonly emptyInput = new Set<number>()
  private finished = false
  private started = false
  private blocksSeen = false

  constructor(
    private readonly created: number,
    requestModel: string,
    private readonly answerTool?: string | undefined
  ) {
    this.model = requestModel
  }

  /** Whether `message_stop` arrived. */
  get done(): boolean {
    return this.finished
  }

  private chunk(delta: Chat.Delta, finishReason: string | null = null): Chat.ChatCompletionChunk {
    return {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }]
    }
  }

  private blockStart(index: number, block: Wire.ContentBlock): ReadonlyArray<Chat.ChatCompletionChunk> {
    if (Wire.isTextBlock(block)) return block.text === "" ? [] : [this.chunk({ content: block.text })]
    if (Wire.isThinkingBlock(block))
      return block.thinking === "" ? [] : [this.chunk({ reasoning_content: block.thinking })]
    if (Wire.isToolUseBlock(block) && this.answerTool !== undefined && block.name === this.answerTool) {
      this.answerBlocks.add(index)
      const whole = startInput(block.input)
      if (whole === "") this.emptyInput.add(index)
      return whole === "" ? [] : [this.chunk({ content: whole })]
    }
    if (Wire.isToolUseBlock(block)) {
      const toolIndex = this.toolIndexByBlock.size
      this.toolIndexByBlock.set(index, toolIndex)
      // The input normally streams as input_json_delta after an empty `{}`; a non-empty start input is sent whole.
      const whole = startInput(block.input)
      if (whole === "") this.emptyInput.add(index)
      return [
        this.chunk({
          tool_calls: [
            { index: toolIndex, id: block.id, type: "function", function: { name: block.name, arguments: whole } }
          ]
        })
      ]
    }
    return []
  }

  private blockDelta(
    index: number,
    delta: Wire.Delta
  ): Either.Either<ReadonlyArray<Chat.ChatCompletionChunk>, LiterLlmError.Streaming> {
    switch (delta.type) {
      case "text_delta":
        return Either.right([this.chunk({ content: (delta as { readonly text: string }).text })])
      case "thinking_delta":
        return Either.right([this.chunk({ reasoning_content: (delta as { readonly thinking: string }).thinking })])
      case "input_json_delta": {
        const partial = (delta as { readonly partial_json: string }).partial_json
        if (partial !== "") this.emptyInput.delete(index)
        if (this.answerBlocks.has(index)) return Either.right(partial === "" ? [] : [this.chunk({ content: partial })])
        const toolIndex = this.toolIndexByBlock.get(index)
        // Server tools (web search, code execution) stream their input too; they are Anthropic's to run, not ours.
        if (toolIndex === undefined) return Either.right([])
        return Either.right(
          partial === "" ? [] : [this.chunk({ tool_calls: [{ index: toolIndex, function: { arguments: partial } }] })]
        )
      }
      default:
        // signature_delta, citations_delta and future deltas carry nothing an OpenAI chunk can hold.
        return Either.right([])
    }
  }

  /** Closes block `index`: a call whose input never arrived gets `{}` as its arguments (or content). */
  private blockStop(index: number): ReadonlyArray<Chat.ChatCompletionChunk> {
    if (!this.emptyInput.delete(index)) return []
    if (this.answerBlocks.has(index)) return [this.chunk({ content: "{}" })]
    const toolIndex = this.toolIndexByBlock.get(index)
    return toolIndex === undefined
      ? []
      : [this.chunk({ tool_calls: [{ index: toolIndex, function: { arguments: "{}" } }] })]
  }

  /** Closes every block still open, for a stream that reaches its end without `content_block_stop`. */
  private stopAll(): ReadonlyArray<Chat.ChatCompletionChunk> {
    return [...this.emptyInput].flatMap((index) => this.blockStop(index))
  }

  /** The chunks one event amounts to, or the error it means. */
  push(event: Wire.StreamEvent): Either.Either<ReadonlyArray<Chat.ChatCompletionChunk>, LiterLlmError.LiterLlmError> {
    if (this.finished) return Either.right([])
    // The decoded union's catch-all excludes the known types, so a known `type` implies its shape; TypeScript cannot
    // see that through the filter, hence the casts below.
    switch (event.type) {
      case "message_start": {
        const start = event as typeof Wire.MessageStart.Type
        if (this.started) {
          // A repeat before any content changes nothing; a new message inside the stream would splice two
          // generations into one answer (vercel/ai met both), and what was delivered cannot be taken back.
          if (start.message.id === this.id && !this.blocksSeen) return Either.right([])
          return Either.left(
            new LiterLlmError.Streaming({
              provider,
              message: `the anthropic stream started a second message (${start.message.id}) inside ${this.id}; the partial answer is incomplete, retry the request`
            })
          )
        }
        this.started = true
        this.id = start.message.id
        this.model = start.message.model
        this.counts = mergeCounts(this.counts, start.message.usage)
        return Either.right([this.chunk({ role: "assistant", content: "" })])
      }
      case "content_block_start": {
        const start = event as typeof Wire.ContentBlockStart.Type
        this.blocksSeen = true
        return Either.right(this.blockStart(start.index, start.content_block))
      }
      case "content_block_delta": {
        const delta = event as typeof Wire.ContentBlockDelta.Type
        return this.blockDelta(delta.index, delta.delta)
      }
      case "content_block_stop":
        return Either.right(this.blockStop((event as typeof Wire.ContentBlockStop.Type).index))
      case "message_delta": {
        const delta = event as typeof Wire.MessageDelta.Type
        const closed = this.stopAll()
        this.counts = mergeCounts(this.counts, delta.usage)
        const answeredOnly =
          this.answerBlocks.size > 0 && this.toolIndexByBlock.size === 0 && delta.delta.stop_reason === "tool_use"
        const finish = answeredOnly ? "stop" : toFinishReason(delta.delta.stop_reason)
        return Either.right(finish === null ? closed : [...closed, this.chunk({}, finish)])
      }
      case "message_stop":
        this.finished = true
        return Either.right([...this.stopAll(), { ...this.chunk({}), choices: [], usage: toUsage(this.counts) }])
      case "error": {
        const error = (event as typeof Wire.ErrorEvent.Type).error
        const kind = error.type ?? "error"
        const early = this.started ? undefined : beforeStart(kind, error.message)
        if (early !== undefined) return Either.left(early)
        return Either.left(
          new LiterLlmError.Streaming({
            provider,
            message: `anthropic reported ${kind} mid-stream${error.message == null ? "" : `: ${error.message}`}; the partial answer is incomplete, retry the request`,
            cause: error
          })
        )
      }
      default:
        // ping and event types added later carry nothing to translate.
        return Either.right([])
    }
  }

  /** Checks, once the body has ended, that the answer was complete. */
  end(): Either.Either<ReadonlyArray<Chat.ChatCompletionChunk>, LiterLlmError.Streaming> {
    return this.finished
      ? Either.right([])
      : Either.left(
          new LiterLlmError.Streaming({
            provider,
            message: "the anthropic stream ended before message_stop; the answer is truncated, retry the request"
          })
        )
  }
}
