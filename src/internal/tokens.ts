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
 * Tokens assumed for one image, audio or file part. Providers bill media by its size in tiles or seconds, not by the
 * length of its base64 text (counted as text, a 1 MB image would look like 250k tokens and blow every budget), so a
 * flat figure of the order of one high-detail image tile set is used.
 *
 * @since 0.1.0
 * @category tokens
 */
export const mediaPartTokens = 768

/**
 * The text of a message's content: its text and refusal parts (media parts are counted by {@link mediaParts}).
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
  }
  return text
}

/**
 * How many parts of a message's content are media (image, audio, file, or a kind this library does not know).
 *
 * @since 0.1.0
 * @category tokens
 */
export const mediaParts = (message: Chat.Message): number => {
  const content = message.content
  if (content === undefined || content === null || typeof content === "string") return 0
  let count = 0
  for (const part of content) if (part.type !== "text" && part.type !== "refusal") count++
  return count
}

/** The JSON length of a value; 0 for one JSON cannot represent (a `BigInt`, a cycle), which the request send reports. */
const jsonLength = (value: unknown): number => {
  try {
    return JSON.stringify(value)?.length ?? 0
  } catch {
    return 0
  }
}

/**
 * Estimated prompt tokens of a request: its messages (plus a few tokens of framing each), its media parts and its
 * tools. Never throws, whatever the request holds.
 *
 * @since 0.1.0
 * @category tokens
 */
export const estimatePromptTokens = (request: Chat.ChatCompletionRequest): number => {
  let tokens = 0
  for (const message of request.messages) {
    tokens += 4 + estimateTokens(messageText(message)) + mediaParts(message) * mediaPartTokens
    // an earlier assistant turn's tool calls are sent back as part of the prompt
    if (message.role === "assistant" && message.tool_calls !== undefined && message.tool_calls.length > 0) {
      tokens += Math.ceil(jsonLength(message.tool_calls) / 4)
    }
  }
  if (request.tools !== undefined) tokens += Math.ceil(jsonLength(request.tools) / 4)
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
