/**
 * A chat completion request as @effect/ai's language model takes it: the messages as a `Prompt`, the request's
 * function tools as a toolkit, and the tool choice in @effect/ai's words.
 *
 * Decisions:
 * - The prompt is built from @effect/ai's part and message constructors, never through `Prompt.make` on raw JSON,
 *   whose decoding throws: a request it cannot express fails here with a `BadRequest` naming what is wrong.
 * - `system` and `developer` messages are system messages (@effect/ai has one kind). A message's `name` has no
 *   place in @effect/ai's prompt and is not sent. Images and files become file
 *   parts: a `data:` URL (and input audio) is decoded to bytes with its media type, an `http(s)` URL stays a URL; the
 *   provider decides what it can read. File ids are refused: @effect/ai-openai reads a string as an id only under a
 *   configured prefix and otherwise leaves the part out without a word.
 * - A tool message carries only the id of the call it answers; @effect/ai's tool result also wants the tool's name,
 *   found in the assistant message that made the call. A result whose call is not in the conversation is refused.
 *   Its content is handed over as JSON when it parses as JSON (the providers serialise results themselves, so a
 *   JSON text would otherwise arrive quoted twice), else as the text.
 * - Tools are built per request from the request's JSON Schema: a tool whose parameters accept any object, annotated
 *   with that JSON Schema, so the provider sends the caller's schema unchanged. Nothing runs them: the deployment asks
 *   @effect/ai not to resolve tool calls, and the toolkit's handler is never reached.
 *
 * @since 0.2.0
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import type { ToolChoice } from "@effect/ai/LanguageModel"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Schema from "effect/Schema"
import * as Chat from "../../Chat.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import { isFunctionCall, nativeTools, parseArguments, parseDataUrl, textOf } from "../../internal/translate.js"

/**
 * What a chat request becomes on @effect/ai's side.
 *
 * @since 0.2.0
 * @category models
 */
export interface Call {
  readonly prompt: Prompt.Prompt
  /** `undefined` when the request has no tools. */
  readonly toolkit: Toolkit.WithHandler<Record<string, Tool.Any>> | undefined
  readonly toolChoice: ToolChoice<string> | undefined
}

type Result<A> = Either.Either<A, LiterLlmError.BadRequest>

const bad = (provider: string, message: string) => Either.left(new LiterLlmError.BadRequest({ provider, message }))

const filePart = (provider: string, url: string, fallbackType: string, fileName?: string): Result<Prompt.FilePart> => {
  const inline = parseDataUrl(url)
  if (inline !== undefined) {
    const bytes = Encoding.decodeBase64(inline.data)
    if (Either.isLeft(bytes)) return bad(provider, `a data: URL of media type ${inline.mediaType} is not valid base64`)
    return Either.right(Prompt.filePart({ mediaType: inline.mediaType, data: bytes.right, fileName }))
  }
  if (/^https?:\/\//i.test(url)) return Either.right(Prompt.filePart({ mediaType: fallbackType, data: new URL(url) }))
  return bad(provider, `an image_url must be an http(s) or data: URL, got "${url.slice(0, 40)}"`)
}

const userPart = (provider: string, part: Chat.UserContentPart): Result<Prompt.UserMessagePart> => {
  switch (part.type) {
    case "text":
      return Either.right(Prompt.textPart({ text: part.text }))
    case "image_url":
      return filePart(provider, part.image_url.url, "image/*")
    case "input_audio": {
      const mediaType = part.input_audio.format === "wav" ? "audio/wav" : "audio/mpeg"
      return filePart(provider, `data:${mediaType};base64,${part.input_audio.data}`, mediaType)
    }
    case "file": {
      const { file_data, file_id, filename } = part.file
      if (file_data !== undefined) {
        const url = file_data.startsWith("data:") ? file_data : `data:application/pdf;base64,${file_data}`
        return filePart(provider, url, "application/pdf", filename)
      }
      return bad(
        provider,
        file_id === undefined
          ? "a file part needs file_data"
          : `file ids mean something only to the provider that issued them; send file "${file_id}" inline as file_data`
      )
    }
  }
}

/** A tool result as JSON when its text is JSON, else the text. */
const resultOf = (content: string): unknown => {
  try {
    return JSON.parse(content)
  } catch {
    return content
  }
}

const assistantParts = (
  provider: string,
  message: Chat.AssistantMessage
): Result<Array<Prompt.AssistantMessagePart>> => {
  const parts: Array<Prompt.AssistantMessagePart> = []
  const content = message.content
  if (typeof content === "string" && content !== "") parts.push(Prompt.textPart({ text: content }))
  if (Array.isArray(content)) {
    for (const part of content) {
      const text = part.type === "text" ? part.text : part.refusal
      if (text !== "") parts.push(Prompt.textPart({ text }))
    }
  }
  if (typeof message.refusal === "string" && message.refusal !== "") {
    parts.push(Prompt.textPart({ text: message.refusal }))
  }
  for (const call of message.tool_calls ?? []) {
    if (!isFunctionCall(call)) {
      return bad(provider, `@effect/ai takes function tool calls only; tool call "${call.id}" is of type ${call.type}`)
    }
    const params = parseArguments(call, provider)
    if (Either.isLeft(params)) return Either.left(params.left)
    parts.push(
      Prompt.toolCallPart({ id: call.id, name: call.function.name, params: params.right, providerExecuted: false })
    )
  }
  return Either.right(parts)
}

/**
 * The request's messages as a `Prompt`.
 *
 * @since 0.2.0
 * @category conversion
 */
export const toPrompt = (provider: string, messages: ReadonlyArray<Chat.Message>): Result<Prompt.Prompt> => {
  const out: Array<Prompt.Message> = []
  const toolNames = new Map<string, string>()
  for (const [index, message] of messages.entries()) {
    switch (message.role) {
      case "system":
      case "developer":
        out.push(Prompt.systemMessage({ content: textOf(message.content) }))
        break
      case "user": {
        if (typeof message.content === "string") {
          out.push(Prompt.userMessage({ content: [Prompt.textPart({ text: message.content })] }))
          break
        }
        const parts: Array<Prompt.UserMessagePart> = []
        for (const part of message.content) {
          const converted = userPart(provider, part)
          if (Either.isLeft(converted)) return Either.left(converted.left)
          parts.push(converted.right)
        }
        out.push(Prompt.userMessage({ content: parts }))
        break
      }
      case "assistant": {
        const parts = assistantParts(provider, message)
        if (Either.isLeft(parts)) return Either.left(parts.left)
        for (const part of parts.right) if (part.type === "tool-call") toolNames.set(part.id, part.name)
        out.push(Prompt.assistantMessage({ content: parts.right }))
        break
      }
      case "tool": {
        const name = toolNames.get(message.tool_call_id)
        if (name === undefined) {
          return bad(
            provider,
            `messages[${index}] answers tool call "${message.tool_call_id}", which no earlier assistant message made`
          )
        }
        const result = Prompt.toolResultPart({
          id: message.tool_call_id,
          name,
          result: resultOf(textOf(message.content)),
          isFailure: false,
          providerExecuted: false
        })
        out.push(Prompt.toolMessage({ content: [result] }))
        break
      }
    }
  }
  return Either.right(Prompt.fromMessages(out))
}

const AnyObject = Schema.Struct({}, Schema.Record({ key: Schema.String, value: Schema.Unknown }))

const toolOf = (tool: Chat.FunctionTool): Tool.Any =>
  Tool.make(tool.function.name, { description: tool.function.description }).setParameters(
    AnyObject.annotations({ jsonSchema: tool.function.parameters ?? { type: "object", properties: {} } })
  )

/**
 * The request's tools as a toolkit whose calls are never run, and its tool choice in @effect/ai's words.
 *
 * @since 0.2.0
 * @category conversion
 */
export const toTools = (
  provider: string,
  request: Chat.ChatCompletionRequest
): Result<Pick<Call, "toolkit" | "toolChoice">> => {
  const native = nativeTools(request, provider)
  if (Either.isLeft(native)) return Either.left(native.left)
  const { choice, tools } = native.right
  if (tools.length === 0) {
    if (choice === undefined || choice === "auto" || choice === "none") {
      return Either.right({ toolkit: undefined, toolChoice: undefined })
    }
    return bad(provider, "tool_choice asks for a tool call but the request has no function tools; add tools")
  }
  const byName: Record<string, Tool.Any> = {}
  for (const tool of tools) {
    if (byName[tool.function.name] !== undefined) {
      return bad(provider, `two tools are named "${tool.function.name}"; tool names must be unique`)
    }
    byName[tool.function.name] = toolOf(tool)
  }
  const toolkit: Toolkit.WithHandler<Record<string, Tool.Any>> = {
    tools: byName,
    handle: (name) =>
      Effect.dieMessage(`tool "${String(name)}" was asked to run, but a deployment hands tool calls to its caller`)
  }
  const toolChoice: ToolChoice<string> | undefined =
    choice === undefined || typeof choice === "string" ? choice : { tool: choice.name }
  return Either.right({ toolkit, toolChoice })
}

/**
 * The whole conversion of a request.
 *
 * @since 0.2.0
 * @category conversion
 */
export const toCall = (provider: string, request: Chat.ChatCompletionRequest): Result<Call> =>
  Either.flatMap(toPrompt(provider, request.messages), (prompt) =>
    Either.map(toTools(provider, request), (tools) => ({ prompt, ...tools }))
  )
