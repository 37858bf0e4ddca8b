/**
 * Translates an OpenAI-style chat request into an Anthropic Messages request.
 *
 * Anthropic differs in ways that are easy to get subtly wrong, so each is handled here in one place:
 * - system and developer messages leave the conversation and become the top-level `system` text;
 * - turns must alternate user/assistant, so consecutive turns of one role are merged, and tool results (role
 *   `tool` in OpenAI) become `tool_result` blocks of a user turn, placed before any text of that turn;
 * - assistant `tool_calls` become `tool_use` blocks whose `input` is the parsed JSON of `arguments`;
 * - images become base64 (for `data:` URLs) or url sources; PDFs given as `file_data` become documents;
 * - `max_tokens` is required, so a default is filled in; `reasoning_effort` turns on extended thinking;
 * - `response_format` is served as described in `structured.ts`.
 *
 * Content Anthropic cannot take (audio, uploaded file ids, `n` > 1) is a `BadRequest` naming what to change,
 * rather than something silently dropped.
 */
import * as Either from "effect/Either"
import type * as Chat from "../../Chat.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import type { NativeToolChoice } from "../translate.js"
import { isFunctionCall, nativeTools, parseArguments, parseDataUrl, textOf } from "../translate.js"
import { answerTool, jsonObjectInstruction } from "./structured.js"
import type * as Wire from "./wire.js"

/**
 * Options of the translation that come from the provider's configuration.
 *
 * @since 0.1.0
 * @category request
 */
export interface RequestOptions {
  /** `max_tokens` when the request sets neither `max_tokens` nor `max_completion_tokens`. */
  readonly defaultMaxTokens: number
  readonly stream: boolean
}

const provider = "anthropic"

const bad = (message: string) => new LiterLlmError.BadRequest({ provider, message })

/** Anthropic's smallest thinking budget. */
const minThinkingBudget = 1024

/**
 * Thinking budgets for `reasoning_effort`; Anthropic's minimum budget is 1024 tokens. `max` stays below 64k with the
 * default answer room added, since 64k output tokens is the ceiling of current Claude models.
 */
const thinkingBudget: Record<Chat.ReasoningEffort, number | undefined> = {
  none: undefined,
  minimal: minThinkingBudget,
  low: 2048,
  medium: 8192,
  high: 16384,
  xhigh: 32768,
  max: 57344
}

const imageBlock = (part: Chat.ImagePart): Wire.RequestBlock => {
  const inline = parseDataUrl(part.image_url.url)
  return inline === undefined
    ? { type: "image", source: { type: "url", url: part.image_url.url } }
    : { type: "image", source: { type: "base64", media_type: inline.mediaType, data: inline.data } }
}

const fileBlock = (part: Chat.FilePart): Either.Either<Wire.RequestBlock, LiterLlmError.BadRequest> => {
  const data = part.file.file_data
  if (data === undefined) {
    return Either.left(bad("anthropic cannot read OpenAI file ids; send the file inline as file_data (base64)"))
  }
  const inline = parseDataUrl(data)
  const source: Wire.ImageSource = {
    type: "base64",
    media_type: inline?.mediaType ?? "application/pdf",
    data: inline?.data ?? data
  }
  return Either.right({
    type: "document",
    source,
    ...(part.file.filename === undefined ? {} : { title: part.file.filename })
  })
}

const userBlocks = (message: Chat.UserMessage): Either.Either<Array<Wire.RequestBlock>, LiterLlmError.BadRequest> => {
  if (typeof message.content === "string") return Either.right([{ type: "text", text: message.content }])
  return Either.all(
    message.content.map((part): Either.Either<Wire.RequestBlock, LiterLlmError.BadRequest> => {
      switch (part.type) {
        case "text":
          return Either.right({ type: "text", text: part.text })
        case "image_url":
          return Either.right(imageBlock(part))
        case "file":
          return fileBlock(part)
        case "input_audio":
          return Either.left(bad("anthropic does not accept audio input; transcribe it first or use another model"))
      }
    })
  )
}

const assistantBlocks = (
  message: Chat.AssistantMessage
): Either.Either<Array<Wire.RequestBlock>, LiterLlmError.BadRequest> => {
  const blocks: Array<Wire.RequestBlock> = []
  const content = message.content
  if (typeof content === "string") blocks.push({ type: "text", text: content })
  else if (content != null) {
    for (const part of content) blocks.push({ type: "text", text: part.type === "text" ? part.text : part.refusal })
  }
  for (const call of message.tool_calls ?? []) {
    if (!isFunctionCall(call)) {
      return Either.left(bad(`anthropic only takes function tool calls; "${call.id}" is of type "${call.type}"`))
    }
    const input = parseArguments(call, provider)
    if (Either.isLeft(input)) return Either.left(input.left)
    blocks.push({ type: "tool_use", id: call.id, name: call.function.name, input: input.right })
  }
  return Either.right(blocks)
}

/** Anthropic rejects empty text blocks, and a turn made only of them. */
const nonEmpty = (blocks: ReadonlyArray<Wire.RequestBlock>) =>
  blocks.filter((block) => block.type !== "text" || block.text !== "")

/**
 * Appends a turn, merging it into the previous one when the role repeats. Within a user turn, tool results go
 * first: Anthropic requires them to lead the turn that answers the tool calls.
 */
const appendTurn = (
  turns: Array<Wire.RequestMessage>,
  role: "user" | "assistant",
  blocks: Array<Wire.RequestBlock>
) => {
  const kept = nonEmpty(blocks)
  if (kept.length === 0) return
  const last = turns[turns.length - 1]
  const merged = last !== undefined && last.role === role ? [...last.content, ...kept] : kept
  const ordered =
    role === "user"
      ? [...merged.filter((b) => b.type === "tool_result"), ...merged.filter((b) => b.type !== "tool_result")]
      : merged
  if (last !== undefined && last.role === role) turns[turns.length - 1] = { role, content: ordered }
  else turns.push({ role, content: ordered })
}

/**
 * The system text and the alternating turns of a conversation.
 *
 * @since 0.1.0
 * @category request
 */
export const toMessages = (
  messages: ReadonlyArray<Chat.Message>
): Either.Either<
  { readonly system: string | undefined; readonly turns: ReadonlyArray<Wire.RequestMessage> },
  LiterLlmError.BadRequest
> => {
  const system: Array<string> = []
  const turns: Array<Wire.RequestMessage> = []
  for (const message of messages) {
    switch (message.role) {
      case "system":
      case "developer": {
        const text = textOf(message.content)
        if (text !== "") system.push(text)
        break
      }
      case "user": {
        const blocks = userBlocks(message)
        if (Either.isLeft(blocks)) return Either.left(blocks.left)
        appendTurn(turns, "user", blocks.right)
        break
      }
      case "assistant": {
        const blocks = assistantBlocks(message)
        if (Either.isLeft(blocks)) return Either.left(blocks.left)
        appendTurn(turns, "assistant", blocks.right)
        break
      }
      case "tool":
        appendTurn(turns, "user", [
          { type: "tool_result", tool_use_id: message.tool_call_id, content: textOf(message.content) }
        ])
        break
    }
  }
  return Either.right({ system: system.length === 0 ? undefined : system.join("\n\n"), turns })
}

const toTools = (tools: ReadonlyArray<Chat.FunctionTool>): Array<Wire.RequestTool> =>
  tools.map((tool) => ({
    name: tool.function.name,
    ...(tool.function.description === undefined ? {} : { description: tool.function.description }),
    input_schema: tool.function.parameters ?? { type: "object", properties: {} }
  }))

const toToolChoice = (
  choice: NativeToolChoice | undefined,
  parallel: boolean | undefined
): Wire.RequestToolChoice | undefined => {
  // Anthropic expresses "no parallel calls" on the tool choice, so a choice is needed to carry it.
  const serial = parallel === false ? { disable_parallel_tool_use: true } : {}
  if (choice === undefined) return parallel === false ? { type: "auto", ...serial } : undefined
  if (choice === "none") return { type: "none" }
  if (choice === "auto") return { type: "auto", ...serial }
  if (choice === "required") return { type: "any", ...serial }
  return { type: "tool", name: choice.name, ...serial }
}

const stops = (stop: Chat.ChatCompletionRequest["stop"]): ReadonlyArray<string> | undefined =>
  stop == null ? undefined : typeof stop === "string" ? [stop] : stop.length === 0 ? undefined : stop

/**
 * With thinking on, Anthropic wants the last assistant turn of a tool loop to start with the thinking block (and its
 * signature) the model produced. OpenAI-shaped history cannot carry those blocks, so thinking is left off for such
 * follow-up requests instead of failing them; it comes back once the loop is over.
 */
const canThink = (turns: ReadonlyArray<Wire.RequestMessage>): boolean => {
  const lastAssistant = [...turns].reverse().find((turn) => turn.role === "assistant")
  return lastAssistant === undefined || !lastAssistant.content.some((block) => block.type === "tool_use")
}

/**
 * Anthropic rejects a thinking budget that is not below `max_tokens`, and one under 1024 tokens. So a caller's small
 * `max_tokens` cuts the budget to fit under it, and one of 1024 or less turns thinking off, rather than the request
 * failing upstream with a 400.
 */
const fitBudget = (budget: number | undefined, asked: number | null | undefined): number | undefined => {
  if (budget === undefined || asked == null || budget < asked) return budget
  return asked - 1 >= minThinkingBudget ? asked - 1 : undefined
}

/**
 * The Anthropic Messages body for an OpenAI-style request.
 *
 * @since 0.1.0
 * @category request
 */
export const toMessagesRequest = (
  request: Chat.ChatCompletionRequest,
  options: RequestOptions
): Either.Either<Wire.MessagesRequest, LiterLlmError.BadRequest> => {
  if (request.n != null && request.n > 1) {
    return Either.left(bad("anthropic returns one choice per request; set n to 1 or send several requests"))
  }
  const declared = nativeTools(request, provider)
  if (Either.isLeft(declared)) return Either.left(declared.left)
  const { choice, tools: functionTools } = declared.right
  return Either.map(toMessages(request.messages), ({ system, turns }) => {
    const asked = request.max_completion_tokens ?? request.max_tokens
    const budget = fitBudget(
      canThink(turns) && request.reasoning_effort != null ? thinkingBudget[request.reasoning_effort] : undefined,
      asked
    )
    // With thinking on, max_tokens covers thinking plus answer, so the default leaves room for both.
    const maxTokens = asked ?? options.defaultMaxTokens + (budget ?? 0)
    const stopSequences = stops(request.stop)
    const answer = answerTool(request)
    const ownTools = toTools(functionTools)
    const allTools = answer === undefined ? ownTools : [...ownTools, answer.tool]
    const tools = allTools.length === 0 ? undefined : allTools
    const toolChoice =
      tools === undefined
        ? undefined
        : answer !== undefined && (choice === undefined || choice === "auto" || choice === "required")
          ? answer.choice
          : toToolChoice(choice, request.parallel_tool_calls)
    const instructions = request.response_format?.type === "json_object" ? [system, jsonObjectInstruction] : [system]
    const systemText = instructions.filter((text) => text !== undefined).join("\n\n")
    const body: Wire.MessagesRequest = {
      model: request.model,
      max_tokens: maxTokens,
      messages: turns,
      ...(systemText === "" ? {} : { system: systemText }),
      ...(stopSequences === undefined ? {} : { stop_sequences: stopSequences }),
      ...(request.temperature == null ? {} : { temperature: request.temperature }),
      ...(request.top_p == null ? {} : { top_p: request.top_p }),
      ...(tools === undefined ? {} : { tools }),
      ...(toolChoice === undefined ? {} : { tool_choice: toolChoice }),
      ...(request.user === undefined ? {} : { metadata: { user_id: request.user } }),
      ...(budget === undefined ? {} : { thinking: { type: "enabled", budget_tokens: budget } }),
      ...(options.stream ? { stream: true } : {}),
      ...request.extra_body
    }
    return body
  })
}
