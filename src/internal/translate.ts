/**
 * Pieces of the OpenAI-to-native request translation that Anthropic and Gemini share: `data:` URLs, the text of a
 * message, and tool-call arguments, which OpenAI sends as a JSON string and both native APIs want as an object.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Chat from "../Chat.js"
import * as LiterLlmError from "../LiterLlmError.js"

/**
 * Splits a `data:` URL into its media type and base64 payload; `undefined` for anything else.
 *
 * @since 0.1.0
 * @category translation
 */
export const parseDataUrl = (url: string): { readonly mediaType: string; readonly data: string } | undefined => {
  const match = /^data:([^;,]+)?((?:;[^;,]*)*?);base64,(.*)$/s.exec(url)
  if (match === null) return undefined
  return { mediaType: match[1] ?? "application/octet-stream", data: match[3] }
}

/**
 * The text of a message's content, its text parts joined.
 *
 * @since 0.1.0
 * @category translation
 */
export const textOf = (content: string | ReadonlyArray<{ readonly text: string }>): string =>
  typeof content === "string" ? content : content.map((part) => part.text).join("")

/**
 * Whether a tool call of an assistant message is a function call (the only kind the native APIs take).
 *
 * @since 0.1.0
 * @category translation
 */
export const isFunctionCall = Schema.is(Chat.FunctionToolCall)

/**
 * Parses a tool call's arguments into the JSON object the native APIs want; "" means no arguments.
 *
 * @since 0.1.0
 * @category translation
 */
export const parseArguments = (
  call: Chat.FunctionToolCall,
  provider: string
): Either.Either<unknown, LiterLlmError.BadRequest> => {
  const text = call.function.arguments.trim()
  if (text === "") return Either.right({})
  const bad = (message: string) => Either.left(new LiterLlmError.BadRequest({ provider, message }))
  try {
    const input: unknown = JSON.parse(text)
    return typeof input === "object" && input !== null && !Array.isArray(input)
      ? Either.right(input)
      : bad(`the arguments of tool call "${call.id}" must be a JSON object for ${provider}`)
  } catch {
    return bad(`the arguments of tool call "${call.id}" are not valid JSON; ${provider} needs an object`)
  }
}

/**
 * A tool choice reduced to what the native APIs can say: a mode, or one function by name.
 *
 * @since 0.1.0
 * @category translation
 */
export type NativeToolChoice = "none" | "auto" | "required" | { readonly name: string }

/**
 * The function tools and tool choice a native API gets. Custom tools and custom tool choices have no native
 * counterpart and are `BadRequest`; `allowed_tools` is served by sending only the allowed tools, with its mode as the
 * choice, since neither native API has a subset that leaves the rest of the tool list visible.
 *
 * @since 0.1.0
 * @category translation
 */
export const nativeTools = (
  request: Chat.ChatCompletionRequest,
  provider: string
): Either.Either<
  { readonly tools: ReadonlyArray<Chat.FunctionTool>; readonly choice: NativeToolChoice | undefined },
  LiterLlmError.BadRequest
> => {
  const bad = (message: string) => Either.left(new LiterLlmError.BadRequest({ provider, message }))
  const tools: Array<Chat.FunctionTool> = []
  for (const tool of request.tools ?? []) {
    if (tool.type !== "function") {
      return bad(
        `${provider} has no custom (free-form input) tools; declare "${Chat.toolName(tool)}" as a function tool`
      )
    }
    tools.push(tool)
  }
  const choice = request.tool_choice
  if (choice === undefined || typeof choice === "string") return Either.right({ tools, choice })
  switch (choice.type) {
    case "function":
      return Either.right({ tools, choice: { name: choice.function.name } })
    case "custom":
      return bad(`${provider} has no custom tools, so tool_choice cannot name custom tool "${choice.custom.name}"`)
    case "allowed_tools": {
      const allowed = new Set(choice.allowed_tools.tools.map(Chat.toolName))
      const kept = tools.filter((tool) => allowed.has(tool.function.name))
      const known = new Set(kept.map((tool) => tool.function.name))
      const missing = [...allowed].filter((name) => !known.has(name))
      if (missing.length > 0) {
        return bad(
          `tool_choice.allowed_tools names ${missing.map((name) => `"${name}"`).join(", ")}, not among the request's function tools; add them to tools or remove them from allowed_tools`
        )
      }
      return Either.right({ tools: kept, choice: choice.allowed_tools.mode })
    }
  }
}
