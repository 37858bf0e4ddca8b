/**
 * The bodies and stream events FakeUpstream answers on OpenAI's Responses API (`POST /v1/responses`), the only API
 * @effect/ai-openai's language model speaks. The shapes follow the API reference and the schemas that client decodes
 * with (its `Generated.Response` and `ResponseStreamEvent`): that client skips an event it cannot decode without a
 * word, so a field missing here would not fail a test, it would silently lose a part of the answer. The FakeUpstream
 * tests decode every body and event with those schemas for that reason.
 *
 * Required fields follow the OpenAPI document of the API (which asks for more than the client reads, e.g. `logprobs`
 * on text parts, `name` on `function_call_arguments.done`).
 *
 * A reply becomes at most one `message` output item (the text) followed by one `function_call` item per tool call.
 * Requests echo back the way the real API does (`tools`, `tool_choice`, `temperature`, …) because the response object
 * requires them.
 *
 * @since 0.2.0
 */
import type { Reply, ToolCall } from "./wire.js"

const field = (body: unknown, name: string): unknown =>
  typeof body === "object" && body !== null ? (body as Record<string, unknown>)[name] : undefined

const orElse = <A>(value: unknown, fallback: A, accept: (u: unknown) => boolean): unknown =>
  accept(value) ? value : fallback

const text = (reply: Reply) => reply.pieces.join("")

const hasMessage = (reply: Reply) => text(reply) !== "" || reply.toolCalls.length === 0

const messageId = (reply: Reply) => `msg_${reply.id}`

const callItemId = (reply: Reply, index: number) => `fc_${reply.id}_${index}`

const callId = (reply: Reply, call: ToolCall, index: number) => call.id ?? `call_${reply.id}_${index}`

const usage = (reply: Reply) => ({
  input_tokens: reply.promptTokens,
  input_tokens_details: { cached_tokens: reply.cachedTokens ?? 0, cache_write_tokens: 0 },
  output_tokens: reply.completionTokens,
  output_tokens_details: { reasoning_tokens: reply.reasoningTokens ?? 0 },
  total_tokens: reply.promptTokens + reply.completionTokens
})

const messageItem = (reply: Reply, status: "in_progress" | "completed") => ({
  id: messageId(reply),
  type: "message",
  role: "assistant",
  status,
  content: status === "completed" ? [{ type: "output_text", text: text(reply), annotations: [], logprobs: [] }] : []
})

const callItem = (reply: Reply, call: ToolCall, index: number, status: "in_progress" | "completed") => ({
  id: callItemId(reply, index),
  type: "function_call",
  call_id: callId(reply, call, index),
  name: call.name,
  arguments: status === "completed" ? call.arguments : "",
  status
})

/**
 * A `response` object: `in_progress` with no output (the first stream event), or `completed` with the whole answer.
 *
 * @since 0.2.0
 * @category responses
 */
export const response = (reply: Reply, request: unknown, status: "in_progress" | "completed" = "completed") => {
  const done = status === "completed"
  const output = done
    ? [
        ...(hasMessage(reply) ? [messageItem(reply, "completed")] : []),
        ...reply.toolCalls.map((call, i) => callItem(reply, call, i, "completed"))
      ]
    : []
  return {
    id: reply.id,
    object: "response",
    created_at: reply.created,
    status,
    error: null,
    incomplete_details: null,
    instructions: orElse(field(request, "instructions"), null, (u) => typeof u === "string"),
    model: reply.model,
    output,
    parallel_tool_calls: orElse(field(request, "parallel_tool_calls"), true, (u) => typeof u === "boolean"),
    tools: orElse(field(request, "tools"), [], Array.isArray),
    tool_choice: orElse(field(request, "tool_choice"), "auto", (u) => u !== undefined && u !== null),
    temperature: orElse(field(request, "temperature"), 1, (u) => typeof u === "number"),
    top_p: orElse(field(request, "top_p"), 1, (u) => typeof u === "number"),
    max_output_tokens: orElse(field(request, "max_output_tokens"), null, (u) => typeof u === "number"),
    metadata: orElse(field(request, "metadata"), {}, (u) => typeof u === "object" && u !== null),
    usage: done ? usage(reply) : null
  }
}

/**
 * The events of a streamed answer, in the API's order: `response.created`, `response.in_progress`; for the text a
 * `message` item (added, content part added, one `output_text.delta` per piece, text done, part done, item done); for
 * each tool call a `function_call` item (added, the arguments in two `function_call_arguments.delta`s, arguments done,
 * item done); last `response.completed` carrying the usage. `sequence_number` counts from 0.
 *
 * @since 0.2.0
 * @category responses
 */
export const events = (
  reply: Reply,
  request: unknown
): ReadonlyArray<{ readonly event: string; readonly data: unknown }> => {
  const out: Array<{ event: string; data: unknown }> = []
  const push = (type: string, data: Record<string, unknown>) =>
    out.push({ event: type, data: { type, sequence_number: out.length, ...data } })
  push("response.created", { response: response(reply, request, "in_progress") })
  push("response.in_progress", { response: response(reply, request, "in_progress") })
  let outputIndex = 0
  if (hasMessage(reply)) {
    const item_id = messageId(reply)
    const at = { item_id, output_index: outputIndex, content_index: 0 }
    push("response.output_item.added", { output_index: outputIndex, item: messageItem(reply, "in_progress") })
    push("response.content_part.added", {
      ...at,
      part: { type: "output_text", text: "", annotations: [], logprobs: [] }
    })
    for (const piece of reply.pieces) {
      if (piece !== "") push("response.output_text.delta", { ...at, delta: piece, logprobs: [] })
    }
    push("response.output_text.done", { ...at, text: text(reply), logprobs: [] })
    push("response.content_part.done", {
      ...at,
      part: { type: "output_text", text: text(reply), annotations: [], logprobs: [] }
    })
    push("response.output_item.done", { output_index: outputIndex, item: messageItem(reply, "completed") })
    outputIndex++
  }
  reply.toolCalls.forEach((call, index) => {
    const at = { item_id: callItemId(reply, index), output_index: outputIndex }
    push("response.output_item.added", { output_index: outputIndex, item: callItem(reply, call, index, "in_progress") })
    const half = Math.ceil(call.arguments.length / 2)
    for (const part of [call.arguments.slice(0, half), call.arguments.slice(half)]) {
      if (part !== "") push("response.function_call_arguments.delta", { ...at, delta: part })
    }
    push("response.function_call_arguments.done", { ...at, name: call.name, arguments: call.arguments })
    push("response.output_item.done", { output_index: outputIndex, item: callItem(reply, call, index, "completed") })
    outputIndex++
  })
  push("response.completed", { response: response(reply, request, "completed") })
  return out
}
