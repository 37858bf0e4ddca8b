/**
 * Carries Gemini's thought signatures through OpenAI-shaped conversations.
 *
 * Gemini's thinking models attach an opaque `thoughtSignature` to the function calls they make and require it back,
 * on the same `functionCall` part, when the conversation is continued — without it, newer models reject the request.
 * OpenAI's message format has no place for it, but every client echoes a tool call's `id` verbatim, so the
 * signature rides inside the id, after a separator, and is taken out again when the history is translated back.
 */

const separator = "__thought__"

/**
 * A tool call id carrying `signature` (when there is one).
 *
 * @since 0.1.0
 * @category tools
 */
export const withSignature = (id: string, signature: string | null | undefined): string =>
  signature == null || signature === "" ? id : `${id}${separator}${signature}`

/**
 * The signature a tool call id carries, if any.
 *
 * @since 0.1.0
 * @category tools
 */
export const signatureOf = (id: string): string | undefined => {
  const at = id.indexOf(separator)
  return at === -1 ? undefined : id.slice(at + separator.length)
}
