/**
 * The bodies and stream events FakeUpstream answers with in the OpenAI-compatible wire format (Anthropic's are in
 * `anthropic.ts`), and the reply they are made of. Pure functions of the script and the request, so answers are
 * deterministic.
 *
 * @since 0.1.0
 */

/**
 * A tool call the fake model makes.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCall {
  readonly name: string
  /** JSON text of the arguments. */
  readonly arguments: string
  readonly id?: string | undefined
}

/**
 * Everything a reply is made of, resolved from a script and the request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reply {
  readonly id: string
  readonly created: number
  readonly model: string
  readonly pieces: ReadonlyArray<string>
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly promptTokens: number
  readonly completionTokens: number
  /** Prompt tokens read from the provider's cache; reported only when a script sets it (Responses: always, 0). */
  readonly cachedTokens?: number | undefined
  /** Hidden reasoning tokens among the completion tokens; reported like `cachedTokens`. */
  readonly reasoningTokens?: number | undefined
}

/**
 * Splits a text into `n` pieces (words kept whole where possible); joining them gives the text back.
 *
 * @since 0.1.0
 * @category utils
 */
export const split = (text: string, n: number): ReadonlyArray<string> => {
  if (n <= 1 || text.length === 0) return [text]
  const size = Math.ceil(text.length / n)
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

const toolCallId = (reply: Reply, call: ToolCall, index: number) => call.id ?? `call_${reply.id}_${index}`

const usage = (reply: Reply) => ({
  prompt_tokens: reply.promptTokens,
  completion_tokens: reply.completionTokens,
  total_tokens: reply.promptTokens + reply.completionTokens,
  ...(reply.cachedTokens === undefined ? {} : { prompt_tokens_details: { cached_tokens: reply.cachedTokens } }),
  ...(reply.reasoningTokens === undefined
    ? {}
    : { completion_tokens_details: { reasoning_tokens: reply.reasoningTokens } })
})

// ---------------------------------------------------------------------------------------------------------------
// OpenAI-compatible
// ---------------------------------------------------------------------------------------------------------------

/**
 * A `chat.completion` body.
 *
 * @since 0.1.0
 * @category openai
 */
export const openAiCompletion = (reply: Reply) => ({
  id: reply.id,
  object: "chat.completion",
  created: reply.created,
  model: reply.model,
  choices: [
    {
      index: 0,
      message: {
        role: "assistant",
        content: reply.toolCalls.length > 0 && reply.pieces.join("") === "" ? null : reply.pieces.join(""),
        refusal: null,
        ...(reply.toolCalls.length > 0
          ? {
              tool_calls: reply.toolCalls.map((call, i) => ({
                id: toolCallId(reply, call, i),
                type: "function",
                function: { name: call.name, arguments: call.arguments }
              }))
            }
          : {})
      },
      finish_reason: reply.toolCalls.length > 0 ? "tool_calls" : "stop",
      logprobs: null
    }
  ],
  usage: usage(reply)
})

/**
 * The JSON data of each `chat.completion.chunk` of a streamed reply: role, content pieces, tool-call deltas (name
 * first, arguments in two halves), the finish reason, and — when asked — a last chunk carrying usage.
 *
 * @since 0.1.0
 * @category openai
 */
export const openAiChunks = (reply: Reply, includeUsage: boolean): ReadonlyArray<unknown> => {
  const base = { id: reply.id, object: "chat.completion.chunk", created: reply.created, model: reply.model }
  const chunk = (delta: unknown, finish: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }]
  })
  const out: Array<unknown> = [chunk({ role: "assistant", content: "" })]
  for (const piece of reply.pieces) if (piece !== "") out.push(chunk({ content: piece }))
  reply.toolCalls.forEach((call, index) => {
    out.push(
      chunk({
        tool_calls: [
          { index, id: toolCallId(reply, call, index), type: "function", function: { name: call.name, arguments: "" } }
        ]
      })
    )
    const half = Math.ceil(call.arguments.length / 2)
    for (const part of [call.arguments.slice(0, half), call.arguments.slice(half)]) {
      if (part !== "") out.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }))
    }
  })
  out.push(chunk({}, reply.toolCalls.length > 0 ? "tool_calls" : "stop"))
  if (includeUsage) out.push({ ...base, choices: [], usage: usage(reply) })
  return out
}

/**
 * An OpenAI-style error body.
 *
 * @since 0.1.0
 * @category openai
 */
export const openAiError = (status: number, message: string) => ({
  error: { message, type: status === 429 ? "rate_limit_exceeded" : "fake_upstream_error", code: null, param: null }
})

/**
 * A deterministic embedding of a text: `dimensions` numbers derived from its characters.
 *
 * @since 0.1.0
 * @category openai
 */
export const embedding = (text: string, dimensions: number): Array<number> => {
  const out = new Array<number>(dimensions).fill(0)
  for (let i = 0; i < text.length; i++) out[i % dimensions]! += (text.charCodeAt(i) % 97) / 97
  const norm = Math.sqrt(out.reduce((s, x) => s + x * x, 0)) || 1
  return out.map((x) => x / norm)
}
