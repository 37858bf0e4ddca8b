/**
 * A chat completion as @effect/ai response parts: metadata first, then reasoning, text, sources and tool calls, and
 * the finish part (reason and usage) last.
 *
 * Decisions:
 * - Only the first choice is read: @effect/ai's response is one answer.
 * - Finish reasons: `stop` → stop, `length` → length, `tool_calls` and `function_call` → tool-calls,
 *   `content_filter` → content-filter, none → unknown, any other → other. Some servers (older Ollama, some vLLM
 *   templates) answer tool calls with `stop`: an answer that carries tool calls finishes with tool-calls.
 * - A refusal is an empty text part whose metadata (`effectLiterLlm.refusal`) holds it, as @effect/ai-openai does.
 * - Tool-call arguments are parsed here; arguments that are not JSON fail the call (`MalformedOutput`, naming the
 *   tool), since @effect/ai could not decode them into the tool's parameters anyway.
 * - A tool call without an id (some servers) is named from a prefix the caller draws from @effect/ai's
 *   `IdGenerator` once per call, so its result can answer it; sources are named the same way.
 */
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as Either from "effect/Either"
import type * as Chat from "../../Chat.js"

/** The metadata key this library's parts use. */
export const metadataKey = "effectLiterLlm"

/**
 * @effect/ai's finish reason for a chat-completions one.
 */
export const finishReason = (reason: string | null, hasToolCalls: boolean): Response.FinishReason => {
  if (hasToolCalls && (reason === "stop" || reason === "tool_calls" || reason === "function_call")) return "tool-calls"
  switch (reason) {
    case null:
      return hasToolCalls ? "tool-calls" : "unknown"
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    case "content_filter":
      return "content-filter"
    default:
      return "other"
  }
}

/**
 * @effect/ai's usage for a chat-completions one; counts the server did not send stay `undefined`.
 */
export const usage = (usage: Chat.Usage | null | undefined): typeof Response.Usage.Encoded => {
  if (usage == null) return { inputTokens: undefined, outputTokens: undefined, totalTokens: undefined }
  const reasoning = usage.completion_tokens_details?.reasoning_tokens
  const cached = usage.prompt_tokens_details?.cached_tokens
  return {
    inputTokens: usage.prompt_tokens,
    outputTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens,
    ...(reasoning == null ? {} : { reasoningTokens: reasoning }),
    ...(cached == null ? {} : { cachedInputTokens: cached })
  }
}

/**
 * Parses a tool call's arguments; empty arguments are an empty object (a tool without parameters).
 */
export const toolParams = (name: string, args: string): Either.Either<unknown, string> => {
  if (args.trim() === "") return Either.right({})
  try {
    return Either.right(Tool.unsafeSecureJsonParse(args))
  } catch {
    const shown = args.length > 200 ? `${args.slice(0, 200)}…` : args
    return Either.left(`the model called tool "${name}" with arguments that are not JSON: ${shown}`)
  }
}

/**
 * The response-metadata part for an answer's id, model and creation time (seconds since the epoch; 0 is unknown).
 */
export const metadataPart = (id: string, model: string, created: number): Response.ResponseMetadataPartEncoded => ({
  type: "response-metadata",
  ...(id === "" ? {} : { id }),
  ...(model === "" ? {} : { modelId: model }),
  ...(created > 0 ? { timestamp: new Date(created * 1000).toISOString() } : {})
})

/**
 * The parts of a completed chat response; ids it has to make start with `idPrefix`.
 */
export const toParts = (
  response: Chat.ChatCompletionResponse,
  idPrefix: string
): Either.Either<Array<Response.PartEncoded>, string> => {
  const parts: Array<Response.PartEncoded> = [metadataPart(response.id, response.model, response.created)]
  const choice = response.choices[0]
  const message = choice?.message
  if (message?.reasoning_content != null && message.reasoning_content !== "") {
    parts.push({ type: "reasoning", text: message.reasoning_content })
  }
  if (message?.content != null) parts.push({ type: "text", text: message.content })
  if (message?.refusal != null) {
    parts.push({ type: "text", text: "", metadata: { [metadataKey]: { refusal: message.refusal } } })
  }
  for (const [i, annotation] of (message?.annotations ?? []).entries()) {
    const citation = annotation.url_citation
    if (annotation.type === "url_citation" && citation != null) {
      parts.push({
        type: "source",
        sourceType: "url",
        id: `${idPrefix}_source_${i}`,
        url: citation.url,
        title: citation.title ?? citation.url
      })
    }
  }
  let calls = 0
  for (const [i, call] of (message?.tool_calls ?? []).entries()) {
    if (call.type !== "function") continue
    const { arguments: args, name } = (call as Chat.FunctionToolCall).function
    const params = toolParams(name, args)
    if (Either.isLeft(params)) return Either.left(params.left)
    parts.push({
      type: "tool-call",
      id: call.id === "" ? `${idPrefix}_call_${i}` : call.id,
      name,
      params: params.right
    })
    calls++
  }
  parts.push({
    type: "finish",
    reason: finishReason(choice?.finish_reason ?? null, calls > 0),
    usage: usage(response.usage)
  })
  return Either.right(parts)
}
