/**
 * @effect/ai's answer in the chat-completion shape: the parts of a `generateText` response become one
 * `ChatCompletionResponse`, and the parts of a `streamText` stream become `ChatCompletionChunk`s.
 *
 * Decisions:
 * - Ids, model and creation time come from the provider's `response-metadata` part; without one the id is made up
 *   from `Random` and the time read from `Clock`, and the model is the request's.
 * - Tool calls come back as `tool_calls` with the parameters as JSON text. In a stream a call's parameters are sent as
 *   the provider streamed them (`tool-params-delta`), or whole from the final `tool-call` part when the provider sent
 *   no deltas, so a caller sees the same fragments an OpenAI stream would give.
 * - The stream's first chunk carries `role: "assistant"` and is sent with the first content, not with the metadata, so
 *   time-to-first-chunk measures the model. The finish part becomes a chunk with the finish reason and, after it, a
 *   chunk with no choices carrying the usage (OpenAI's `include_usage` shape), which is how budgets and cost settle.
 * - @effect/ai's finish reasons map to OpenAI's; `other` and `unknown` become `tool_calls` when the answer has tool
 *   calls and `stop` otherwise, `error` and `pause` are kept as they are (finish reasons are open strings).
 *
 * @since 0.2.0
 */
import type * as Response from "@effect/ai/Response"
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"
import type * as Chat from "../../Chat.js"

/**
 * What identifies an answer.
 *
 * @since 0.2.0
 * @category models
 */
export interface Identity {
  readonly id: string
  readonly model: string
  readonly created: number
}

/**
 * The identity a metadata part gives, over a fallback.
 *
 * @since 0.2.0
 * @category conversion
 */
export const identityOf = (fallback: Identity, part: Response.ResponseMetadataPart): Identity => ({
  id: Option.getOrElse(part.id, () => fallback.id),
  model: Option.getOrElse(part.modelId, () => fallback.model),
  created: Option.match(part.timestamp, {
    onNone: () => fallback.created,
    onSome: (at) => Math.floor(DateTime.toEpochMillis(at) / 1000)
  })
})

/**
 * OpenAI's finish reason for @effect/ai's.
 *
 * @since 0.2.0
 * @category conversion
 */
export const finishReason = (
  reason: Response.FinishReason,
  hasToolCalls: boolean
): Chat.ChatCompletionChunk["choices"][number]["finish_reason"] => {
  switch (reason) {
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "content-filter":
      return "content_filter"
    case "tool-calls":
      return "tool_calls"
    case "error":
    case "pause":
      return reason
    default:
      return hasToolCalls ? "tool_calls" : "stop"
  }
}

/**
 * Chat-completion usage for @effect/ai's, or `undefined` when the provider counted nothing.
 *
 * @since 0.2.0
 * @category conversion
 */
export const usageOf = (usage: Response.Usage): Chat.Usage | undefined => {
  if (usage.inputTokens === undefined && usage.outputTokens === undefined) return undefined
  const prompt = usage.inputTokens ?? 0
  const completion = usage.outputTokens ?? 0
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: usage.totalTokens ?? prompt + completion,
    ...(usage.cachedInputTokens === undefined
      ? {}
      : { prompt_tokens_details: { cached_tokens: usage.cachedInputTokens } }),
    ...(usage.reasoningTokens === undefined
      ? {}
      : { completion_tokens_details: { reasoning_tokens: usage.reasoningTokens } })
  }
}

/**
 * A whole answer from the parts of a `generateText` response.
 *
 * @since 0.2.0
 * @category conversion
 */
export const toResponse = (fallback: Identity, parts: ReadonlyArray<Response.AnyPart>): Chat.ChatCompletionResponse => {
  let identity = fallback
  let text: string | null = null
  let reasoning: string | null = null
  const toolCalls: Array<Chat.FunctionToolCall> = []
  let finish: Response.FinishPart | undefined
  for (const part of parts as ReadonlyArray<Response.AllParts<any>>) {
    switch (part.type) {
      case "response-metadata":
        identity = identityOf(identity, part)
        break
      case "text":
        text = (text ?? "") + part.text
        break
      case "reasoning":
        reasoning = (reasoning ?? "") + part.text
        break
      case "tool-call":
        if (part.providerExecuted !== true) {
          toolCalls.push({
            id: part.id,
            type: "function",
            function: { name: part.name, arguments: JSON.stringify(part.params ?? {}) }
          })
        }
        break
      case "finish":
        finish = part
        break
    }
  }
  const hasToolCalls = toolCalls.length > 0
  const usage = finish === undefined ? undefined : usageOf(finish.usage)
  return {
    id: identity.id,
    object: "chat.completion",
    created: identity.created,
    model: identity.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text,
          ...(reasoning === null ? {} : { reasoning_content: reasoning }),
          ...(hasToolCalls ? { tool_calls: toolCalls } : {})
        },
        finish_reason: finishReason(finish?.reason ?? "unknown", hasToolCalls)
      }
    ],
    ...(usage === undefined ? {} : { usage })
  }
}

/**
 * The state of a stream being turned into chunks.
 *
 * @since 0.2.0
 * @category models
 */
export interface StreamState {
  readonly identity: Identity
  /** Whether a chunk (with the role) was sent. */
  readonly started: boolean
  /** Tool calls by id, in order of appearance: their index and whether their parameters were streamed. */
  readonly calls: ReadonlyMap<string, { readonly index: number; readonly streamed: boolean }>
}

/**
 * The state before the first part.
 *
 * @since 0.2.0
 * @category constructors
 */
export const initial = (identity: Identity): StreamState => ({ identity, started: false, calls: new Map() })

/**
 * One stream part: the next state and the chunks it gives (often none).
 *
 * @since 0.2.0
 * @category conversion
 */
export const step = (
  state: StreamState,
  part: Response.AnyPart
): readonly [StreamState, ReadonlyArray<Chat.ChatCompletionChunk>] => {
  const chunk = (
    s: StreamState,
    delta: Chat.Delta,
    finish: string | null = null
  ): readonly [StreamState, ReadonlyArray<Chat.ChatCompletionChunk>] => [
    { ...s, started: true },
    [
      {
        id: s.identity.id,
        object: "chat.completion.chunk",
        created: s.identity.created,
        model: s.identity.model,
        choices: [{ index: 0, delta: s.started ? delta : { role: "assistant", ...delta }, finish_reason: finish }]
      }
    ]
  ]
  const withCall = (id: string, streamed: boolean) => {
    const calls = new Map(state.calls)
    const index = state.calls.get(id)?.index ?? state.calls.size
    calls.set(id, { index, streamed })
    return { state: { ...state, calls }, index }
  }
  const p = part as Response.StreamPart<any>
  switch (p.type) {
    case "response-metadata":
      return [{ ...state, identity: identityOf(state.identity, p) }, []]
    case "text-delta":
      return p.delta === "" ? [state, []] : chunk(state, { content: p.delta })
    case "reasoning-delta":
      return p.delta === "" ? [state, []] : chunk(state, { reasoning_content: p.delta })
    case "tool-params-start": {
      if (p.providerExecuted) return [state, []]
      const { index, state: next } = withCall(p.id, false)
      return chunk(next, {
        tool_calls: [{ index, id: p.id, type: "function", function: { name: p.name, arguments: "" } }]
      })
    }
    case "tool-params-delta": {
      const known = state.calls.get(p.id)
      if (known === undefined || p.delta === "") return [state, []]
      const { index, state: next } = withCall(p.id, true)
      return chunk(next, { tool_calls: [{ index, function: { arguments: p.delta } }] })
    }
    case "tool-call": {
      if (p.providerExecuted) return [state, []]
      const known = state.calls.get(p.id)
      if (known?.streamed === true) return [state, []]
      const args = JSON.stringify(p.params ?? {})
      const { index, state: next } = withCall(p.id, true)
      return chunk(next, {
        tool_calls: [
          known === undefined
            ? { index, id: p.id, type: "function", function: { name: p.name, arguments: args } }
            : { index, function: { arguments: args } }
        ]
      })
    }
    case "finish": {
      const [next, finished] = chunk(state, {}, finishReason(p.reason, state.calls.size > 0))
      const usage = usageOf(p.usage)
      if (usage === undefined) return [next, finished]
      const { created, id, model } = next.identity
      return [next, [...finished, { id, object: "chat.completion.chunk", created, model, choices: [], usage }]]
    }
    default:
      return [state, []]
  }
}
