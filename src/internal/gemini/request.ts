/**
 * Translates an OpenAI-style chat request into a Gemini `generateContent` request.
 *
 * - `assistant` is Gemini's `model` role; system and developer messages become `systemInstruction`;
 * - consecutive turns of one role are merged (parallel tool results must share one turn);
 * - assistant `tool_calls` become `functionCall` parts, with the thought signature their id carries (see
 *   `thoughtSignature.ts`); a `tool` message becomes a `functionResponse` part, named after the call it answers
 *   (Gemini matches responses by function name, OpenAI by call id, so the name is looked up from the earlier
 *   assistant turn). Its content is sent as the response object when it is a JSON object, otherwise wrapped as
 *   `{ "result": content }`, since Gemini requires an object;
 * - `data:` images and files become `inlineData`; other URLs become `fileData` (Gemini fetches only URIs it can
 *   reach, such as uploaded files or `gs://`);
 * - sampling options go to `generationConfig`; `response_format` JSON modes set `responseMimeType` (and a converted
 *   `responseSchema`); `reasoning_effort` sets a thinking budget.
 */
import * as Either from "effect/Either"
import type * as Chat from "../../Chat.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import type { NativeToolChoice } from "../translate.js"
import { isFunctionCall, nativeTools, parseArguments, parseDataUrl, textOf } from "../translate.js"
import { toGeminiSchema } from "./jsonSchema.js"
import { signatureOf } from "./thoughtSignature.js"
import type * as Wire from "./wire.js"

const provider = "gemini"

const bad = (message: string) => new LiterLlmError.BadRequest({ provider, message })

/**
 * Thinking budgets for `reasoning_effort`; 0 turns thinking off where the model allows it. 32768 is the largest budget
 * Gemini 2.5 models take, so `xhigh` and `max` share it.
 */
const thinkingBudget: Record<Chat.ReasoningEffort, number> = {
  none: 0,
  minimal: 512,
  low: 1024,
  medium: 8192,
  high: 24576,
  xhigh: 32768,
  max: 32768
}

const mimeByExtension: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  heic: "image/heic",
  heif: "image/heif",
  pdf: "application/pdf"
}

const guessMime = (url: string, fallback: string): string => {
  const extension = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(url)?.[1]?.toLowerCase()
  return (extension === undefined ? undefined : mimeByExtension[extension]) ?? fallback
}

const mediaPart = (url: string, fallbackMime: string): Wire.RequestPart => {
  const inline = parseDataUrl(url)
  return inline === undefined
    ? { fileData: { mimeType: guessMime(url, fallbackMime), fileUri: url } }
    : { inlineData: { mimeType: inline.mediaType, data: inline.data } }
}

const userParts = (message: Chat.UserMessage): Either.Either<Array<Wire.RequestPart>, LiterLlmError.BadRequest> => {
  if (typeof message.content === "string") return Either.right([{ text: message.content }])
  return Either.all(
    message.content.map((part): Either.Either<Wire.RequestPart, LiterLlmError.BadRequest> => {
      switch (part.type) {
        case "text":
          return Either.right({ text: part.text })
        case "image_url":
          return Either.right(mediaPart(part.image_url.url, "image/jpeg"))
        case "input_audio":
          return Either.right({
            inlineData: { mimeType: `audio/${part.input_audio.format}`, data: part.input_audio.data }
          })
        case "file": {
          const data = part.file.file_data
          if (data !== undefined) {
            const inline = parseDataUrl(data)
            return Either.right({
              inlineData: { mimeType: inline?.mediaType ?? "application/pdf", data: inline?.data ?? data }
            })
          }
          if (part.file.file_id !== undefined) {
            return Either.right({ fileData: { mimeType: "application/pdf", fileUri: part.file.file_id } })
          }
          return Either.left(bad("a file part needs file_data or file_id"))
        }
      }
    })
  )
}

/** Gemini wants an object as a function's response. */
const responseObject = (content: string): unknown => {
  try {
    const parsed: unknown = JSON.parse(content)
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed
  } catch {
    // not JSON: wrapped below
  }
  return { result: content }
}

const appendTurn = (turns: Array<Wire.Content>, role: "user" | "model", parts: ReadonlyArray<Wire.RequestPart>) => {
  const kept = parts.filter((part) => !("text" in part) || part.text !== "")
  if (kept.length === 0) return
  const last = turns[turns.length - 1]
  if (last !== undefined && last.role === role) turns[turns.length - 1] = { role, parts: [...last.parts, ...kept] }
  else turns.push({ role, parts: kept })
}

/**
 * The system instruction and the turns of a conversation.
 *
 * @since 0.1.0
 * @category request
 */
export const toContents = (
  messages: ReadonlyArray<Chat.Message>
): Either.Either<
  { readonly system: string | undefined; readonly contents: ReadonlyArray<Wire.Content> },
  LiterLlmError.BadRequest
> => {
  const system: Array<string> = []
  const contents: Array<Wire.Content> = []
  const toolNames = new Map<string, string>()
  for (const message of messages) {
    switch (message.role) {
      case "system":
      case "developer": {
        const text = textOf(message.content)
        if (text !== "") system.push(text)
        break
      }
      case "user": {
        const parts = userParts(message)
        if (Either.isLeft(parts)) return Either.left(parts.left)
        appendTurn(contents, "user", parts.right)
        break
      }
      case "assistant": {
        const parts: Array<Wire.RequestPart> = []
        const content = message.content
        if (typeof content === "string") parts.push({ text: content })
        else if (content != null) {
          for (const part of content) parts.push({ text: part.type === "text" ? part.text : part.refusal })
        }
        for (const call of message.tool_calls ?? []) {
          if (!isFunctionCall(call)) {
            return Either.left(bad(`gemini only takes function tool calls; "${call.id}" is of type "${call.type}"`))
          }
          const fn = call
          const args = parseArguments(fn, provider)
          if (Either.isLeft(args)) return Either.left(args.left)
          toolNames.set(fn.id, fn.function.name)
          const signature = signatureOf(fn.id)
          parts.push({
            functionCall: { name: fn.function.name, args: args.right },
            ...(signature === undefined ? {} : { thoughtSignature: signature })
          })
        }
        appendTurn(contents, "model", parts)
        break
      }
      case "tool": {
        const name = toolNames.get(message.tool_call_id)
        if (name === undefined) {
          return Either.left(
            bad(
              `tool message answers "${message.tool_call_id}", but no earlier assistant message made that call; gemini needs the function name`
            )
          )
        }
        appendTurn(contents, "user", [
          { functionResponse: { name, response: responseObject(textOf(message.content)) } }
        ])
        break
      }
    }
  }
  return Either.right({ system: system.length === 0 ? undefined : system.join("\n\n"), contents })
}

const toToolConfig = (choice: NativeToolChoice | undefined): Wire.GenerateContentRequest["toolConfig"] => {
  if (choice === undefined) return undefined
  if (choice === "auto") return { functionCallingConfig: { mode: "AUTO" } }
  if (choice === "none") return { functionCallingConfig: { mode: "NONE" } }
  if (choice === "required") return { functionCallingConfig: { mode: "ANY" } }
  return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.name] } }
}

const toGenerationConfig = (request: Chat.ChatCompletionRequest): Wire.GenerationConfig | undefined => {
  const stop = request.stop == null ? undefined : typeof request.stop === "string" ? [request.stop] : request.stop
  const maxTokens = request.max_completion_tokens ?? request.max_tokens
  const format = request.response_format
  const schema = format?.type === "json_schema" ? format.json_schema.schema : undefined
  const config: Wire.GenerationConfig = {
    ...(request.temperature == null ? {} : { temperature: request.temperature }),
    ...(request.top_p == null ? {} : { topP: request.top_p }),
    ...(maxTokens == null ? {} : { maxOutputTokens: maxTokens }),
    ...(stop === undefined || stop.length === 0 ? {} : { stopSequences: stop }),
    ...(request.n == null ? {} : { candidateCount: request.n }),
    ...(request.presence_penalty == null ? {} : { presencePenalty: request.presence_penalty }),
    ...(request.frequency_penalty == null ? {} : { frequencyPenalty: request.frequency_penalty }),
    ...(request.seed == null ? {} : { seed: request.seed }),
    ...(format?.type === "json_object" || format?.type === "json_schema"
      ? { responseMimeType: "application/json" }
      : {}),
    ...(schema === undefined ? {} : { responseSchema: toGeminiSchema(schema) }),
    ...(request.reasoning_effort == null
      ? {}
      : { thinkingConfig: { thinkingBudget: thinkingBudget[request.reasoning_effort] } })
  }
  return Object.keys(config).length === 0 ? undefined : config
}

/** Gemini rejects an object schema without properties, so a tool taking no arguments declares no parameters. */
const hasProperties = (parameters: Readonly<Record<string, unknown>> | undefined): boolean => {
  if (parameters === undefined) return false
  const properties = parameters["properties"]
  return typeof properties === "object" && properties !== null && Object.keys(properties).length > 0
}

/**
 * The Gemini `generateContent` body for an OpenAI-style request.
 *
 * @since 0.1.0
 * @category request
 */
export const toGenerateContentRequest = (
  request: Chat.ChatCompletionRequest
): Either.Either<Wire.GenerateContentRequest, LiterLlmError.BadRequest> => {
  const declared = nativeTools(request, provider)
  if (Either.isLeft(declared)) return Either.left(declared.left)
  const { choice, tools } = declared.right
  return Either.map(toContents(request.messages), ({ contents, system }) => {
    const toolConfig = tools.length === 0 ? undefined : toToolConfig(choice)
    const generationConfig = toGenerationConfig(request)
    const body: Wire.GenerateContentRequest = {
      contents,
      ...(system === undefined ? {} : { systemInstruction: { parts: [{ text: system }] } }),
      ...(tools.length === 0
        ? {}
        : {
            tools: [
              {
                functionDeclarations: tools.map((tool) => ({
                  name: tool.function.name,
                  ...(tool.function.description === undefined ? {} : { description: tool.function.description }),
                  ...(hasProperties(tool.function.parameters)
                    ? { parameters: toGeminiSchema(tool.function.parameters) }
                    : {})
                }))
              }
            ]
          }),
      ...(toolConfig === undefined ? {} : { toolConfig }),
      ...(generationConfig === undefined ? {} : { generationConfig }),
      ...request.extra_body
    }
    return body
  })
}
