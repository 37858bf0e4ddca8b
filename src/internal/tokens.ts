/**
 * Cheap token estimates, used where a decision must be made before the provider reports real usage: the router's
 * cost-based strategy, the budget's reservation and the rate limiter's token window. One token per four characters
 * is the usual rule of thumb for English text; it is an estimate, settled later against the real usage.
 */
import type * as Chat from "../Chat.js"

/**
 * One token per four characters of text, at least one.
 *
 * @since 0.1.0
 * @category tokens
 */
export const estimateTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4))

/**
 * The text of a message's content (parts that are not text count by their JSON size).
 *
 * @since 0.1.0
 * @category tokens
 */
export const messageText = (message: Chat.Message): string => {
  const content = message.content
  if (content === undefined || content === null) return ""
  if (typeof content === "string") return content
  let text = ""
  for (const part of content) {
    if (part.type === "text") text += part.text
    else if (part.type === "refusal") text += part.refusal
    else text += JSON.stringify(part)
  }
  return text
}

/**
 * Estimated prompt tokens of a request: its messages (plus a few tokens of framing each) and its tools.
 *
 * @since 0.1.0
 * @category tokens
 */
export const estimatePromptTokens = (request: Chat.ChatCompletionRequest): number => {
  let tokens = 0
  for (const message of request.messages) {
    tokens += 4 + estimateTokens(messageText(message))
    // an earlier assistant turn's tool calls are sent back as part of the prompt
    if (message.role === "assistant" && message.tool_calls !== undefined && message.tool_calls.length > 0) {
      tokens += estimateTokens(JSON.stringify(message.tool_calls))
    }
  }
  if (request.tools !== undefined) tokens += estimateTokens(JSON.stringify(request.tools))
  return tokens
}

/**
 * Completion tokens assumed when a request does not bound its output.
 *
 * @since 0.1.0
 * @category tokens
 */
export const defaultCompletionTokens = 256

/**
 * The most output a request can produce, or {@link defaultCompletionTokens} when it sets no bound.
 *
 * @since 0.1.0
 * @category tokens
 */
export const expectedCompletionTokens = (request: Chat.ChatCompletionRequest): number =>
  request.max_completion_tokens ?? request.max_tokens ?? defaultCompletionTokens
