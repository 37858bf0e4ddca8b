/**
 * Anthropic's token counts and stop reasons in OpenAI's terms.
 *
 * Anthropic reports `input_tokens` without the cached part, while OpenAI's `prompt_tokens` is the whole prompt; so
 * the prompt is input + cache reads + cache writes, with the reads as `cached_tokens` and the writes as
 * `cache_creation_tokens` (they are priced differently, and cost code needs both).
 */
import type * as Chat from "../../Chat.js"
import type * as Wire from "./wire.js"

/**
 * Token counts as they accumulate over a stream: `message_start` gives the input, `message_delta` the output.
 *
 * @since 0.1.0
 * @category usage
 */
export interface Counts {
  readonly input: number
  readonly output: number
  readonly cacheRead: number
  readonly cacheCreation: number
}

/**
 * Counts before any event arrived.
 *
 * @since 0.1.0
 * @category usage
 */
export const emptyCounts: Counts = { input: 0, output: 0, cacheRead: 0, cacheCreation: 0 }

/**
 * Overlays the counts a usage object reports on what was known; absent fields keep their earlier value.
 *
 * @since 0.1.0
 * @category usage
 */
export const mergeCounts = (counts: Counts, usage: Wire.Usage | null | undefined): Counts =>
  usage == null
    ? counts
    : {
        input: usage.input_tokens ?? counts.input,
        output: usage.output_tokens ?? counts.output,
        cacheRead: usage.cache_read_input_tokens ?? counts.cacheRead,
        cacheCreation: usage.cache_creation_input_tokens ?? counts.cacheCreation
      }

/**
 * OpenAI-style usage from Anthropic's counts (the prompt includes cache reads and writes).
 *
 * @since 0.1.0
 * @category usage
 */
export const toUsage = (counts: Counts): Chat.Usage => {
  const prompt = counts.input + counts.cacheRead + counts.cacheCreation
  return {
    prompt_tokens: prompt,
    completion_tokens: counts.output,
    total_tokens: prompt + counts.output,
    prompt_tokens_details: { cached_tokens: counts.cacheRead, cache_creation_tokens: counts.cacheCreation }
  }
}

/**
 * The OpenAI finish reason of an Anthropic stop reason. Reasons without an OpenAI counterpart (`pause_turn`,
 * `model_context_window_exceeded`, future ones) are passed on unchanged rather than guessed.
 *
 * @since 0.1.0
 * @category usage
 */
export const toFinishReason = (stopReason: string | null | undefined): string | null => {
  switch (stopReason) {
    case null:
    case undefined:
      return null
    case "end_turn":
    case "stop_sequence":
      return "stop"
    case "max_tokens":
      return "length"
    case "tool_use":
      return "tool_calls"
    case "refusal":
      return "content_filter"
    default:
      return stopReason
  }
}
