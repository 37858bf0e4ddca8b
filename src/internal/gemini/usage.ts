/**
 * Gemini's token counts and finish reasons in OpenAI's terms.
 *
 * `promptTokenCount` already includes the cached part (reported as `cached_tokens`); tokens of tool-use prompts count
 * as prompt. Thinking tokens are billed as output, so, as OpenAI does for reasoning models, they are part of
 * `completion_tokens` and also reported as `reasoning_tokens`.
 */
import type * as Chat from "../../Chat.js"
import type * as Wire from "./wire.js"

/**
 * OpenAI-style usage from Gemini's `usageMetadata` (thoughts as reasoning tokens, cached content as cached tokens).
 *
 * @since 0.1.0
 * @category usage
 */
export const toUsage = (metadata: Wire.UsageMetadata): Chat.Usage => {
  const prompt = (metadata.promptTokenCount ?? 0) + (metadata.toolUsePromptTokenCount ?? 0)
  const thoughts = metadata.thoughtsTokenCount ?? 0
  const completion = (metadata.candidatesTokenCount ?? 0) + thoughts
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: metadata.totalTokenCount ?? prompt + completion,
    prompt_tokens_details: { cached_tokens: metadata.cachedContentTokenCount ?? 0 },
    completion_tokens_details: { reasoning_tokens: thoughts }
  }
}

const filtered = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION"
])

/**
 * The OpenAI finish reason of a Gemini one. Gemini says `STOP` also when it answers with function calls, where
 * OpenAI says `tool_calls`. Reasons with no OpenAI counterpart (`MALFORMED_FUNCTION_CALL`, `OTHER` …) are passed on
 * unchanged rather than guessed.
 *
 * @since 0.1.0
 * @category usage
 */
export const toFinishReason = (reason: string | null | undefined, calledTools: boolean): string | null => {
  if (reason == null || reason === "FINISH_REASON_UNSPECIFIED") return null
  if (reason === "STOP") return calledTools ? "tool_calls" : "stop"
  if (reason === "MAX_TOKENS") return "length"
  if (filtered.has(reason)) return "content_filter"
  return reason
}
