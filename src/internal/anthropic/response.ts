/**
 * Translates a complete Anthropic message into an OpenAI-style chat completion: text blocks joined into `content`,
 * `tool_use` blocks into `tool_calls` (input serialised back to a JSON string), thinking into `reasoning_content`.
 * Block types with no OpenAI counterpart (server tool results, redacted thinking) are left out.
 */
import type * as Chat from "../../Chat.js"
import { emptyCounts, mergeCounts, toFinishReason, toUsage } from "./usage.js"
import * as Wire from "./wire.js"

/**
 * The chat completion of an Anthropic message. A call of `answerTool` (see `structured.ts`) is the JSON answer: it
 * becomes the content, and the finish reason is `stop` unless real tools were called too.
 *
 * @since 0.1.0
 * @category response
 */
export const fromMessage = (
  message: Wire.Message,
  created: number,
  answerTool?: string | undefined
): Chat.ChatCompletionResponse => {
  const text: Array<string> = []
  const thinking: Array<string> = []
  const toolCalls: Array<Chat.FunctionToolCall> = []
  let answered = false
  for (const block of message.content) {
    if (Wire.isTextBlock(block)) text.push(block.text)
    else if (Wire.isThinkingBlock(block)) thinking.push(block.thinking)
    else if (Wire.isToolUseBlock(block) && answerTool !== undefined && block.name === answerTool) {
      // Forced tool use comes without text, so the content is the JSON; kept in order, as a stream would deliver it.
      answered = true
      text.push(JSON.stringify(block.input ?? {}))
    } else if (Wire.isToolUseBlock(block)) {
      toolCalls.push({
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) }
      })
    }
  }
  return {
    id: message.id,
    object: "chat.completion",
    created,
    model: message.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text.length === 0 ? null : text.join(""),
          ...(thinking.length === 0 ? {} : { reasoning_content: thinking.join("") }),
          ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls })
        },
        finish_reason:
          answered && toolCalls.length === 0 && message.stop_reason === "tool_use"
            ? "stop"
            : toFinishReason(message.stop_reason)
      }
    ],
    usage: toUsage(mergeCounts(emptyCounts, message.usage))
  }
}
