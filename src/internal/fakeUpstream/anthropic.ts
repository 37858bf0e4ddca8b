/**
 * The bodies and stream events FakeUpstream answers with in Anthropic's Messages format: the message, its named SSE
 * events, and the error body. Pure functions of the resolved reply, like their OpenAI-compatible peers in `wire.ts`.
 *
 * @since 0.2.0
 */
import type { Reply, ToolCall } from "./wire.js"

const anthropicCache = (reply: Reply) =>
  reply.cachedTokens === undefined ? {} : { cache_read_input_tokens: reply.cachedTokens }

const anthropicStop = (reply: Reply) => (reply.toolCalls.length > 0 ? "tool_use" : "end_turn")

const anthropicToolInput = (call: ToolCall): unknown => {
  try {
    return JSON.parse(call.arguments)
  } catch {
    return {}
  }
}

/**
 * An Anthropic `message` body.
 *
 * @since 0.1.0
 * @category anthropic
 */
export const anthropicMessage = (reply: Reply) => ({
  id: reply.id,
  type: "message",
  role: "assistant",
  model: reply.model,
  content: [
    ...(reply.pieces.join("") === "" && reply.toolCalls.length > 0
      ? []
      : [{ type: "text", text: reply.pieces.join("") }]),
    ...reply.toolCalls.map((call, i) => ({
      type: "tool_use",
      id: call.id ?? `toolu_${reply.id}_${i}`,
      name: call.name,
      input: anthropicToolInput(call)
    }))
  ],
  stop_reason: anthropicStop(reply),
  stop_sequence: null,
  usage: { input_tokens: reply.promptTokens, output_tokens: reply.completionTokens, ...anthropicCache(reply) }
})

/**
 * The named events of a streamed Anthropic reply, in order: `message_start`, a `ping`, text and tool-use content
 * blocks with their deltas, `message_delta` with the stop reason and usage, `message_stop`.
 *
 * @since 0.1.0
 * @category anthropic
 */
export const anthropicEvents = (reply: Reply): ReadonlyArray<{ readonly event: string; readonly data: unknown }> => {
  const out: Array<{ event: string; data: unknown }> = [
    {
      event: "message_start",
      data: {
        type: "message_start",
        message: {
          id: reply.id,
          type: "message",
          role: "assistant",
          model: reply.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: reply.promptTokens, output_tokens: 1, ...anthropicCache(reply) }
        }
      }
    },
    { event: "ping", data: { type: "ping" } }
  ]
  let index = 0
  if (reply.pieces.join("") !== "" || reply.toolCalls.length === 0) {
    out.push({
      event: "content_block_start",
      data: { type: "content_block_start", index, content_block: { type: "text", text: "" } }
    })
    for (const piece of reply.pieces) {
      if (piece === "") continue
      out.push({
        event: "content_block_delta",
        data: { type: "content_block_delta", index, delta: { type: "text_delta", text: piece } }
      })
    }
    out.push({ event: "content_block_stop", data: { type: "content_block_stop", index } })
    index++
  }
  reply.toolCalls.forEach((call, i) => {
    out.push({
      event: "content_block_start",
      data: {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: call.id ?? `toolu_${reply.id}_${i}`, name: call.name, input: {} }
      }
    })
    const half = Math.ceil(call.arguments.length / 2)
    for (const part of [call.arguments.slice(0, half), call.arguments.slice(half)]) {
      if (part === "") continue
      out.push({
        event: "content_block_delta",
        data: { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: part } }
      })
    }
    out.push({ event: "content_block_stop", data: { type: "content_block_stop", index } })
    index++
  })
  out.push({
    event: "message_delta",
    data: {
      type: "message_delta",
      delta: { stop_reason: anthropicStop(reply), stop_sequence: null },
      usage: { output_tokens: reply.completionTokens }
    }
  })
  out.push({ event: "message_stop", data: { type: "message_stop" } })
  return out
}

/**
 * An Anthropic error body; 529 is `overloaded_error`.
 *
 * @since 0.1.0
 * @category anthropic
 */
export const anthropicError = (status: number, message: string) => ({
  type: "error",
  error: {
    type:
      status === 529
        ? "overloaded_error"
        : status === 429
          ? "rate_limit_error"
          : status === 401
            ? "authentication_error"
            : status === 404
              ? "not_found_error"
              : status >= 500
                ? "api_error"
                : "invalid_request_error",
    message
  }
})
