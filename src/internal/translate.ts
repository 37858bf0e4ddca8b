/**
 * Pieces of the OpenAI-to-native request translation that Anthropic and Gemini share: `data:` URLs, the text of a
 * message, and tool-call arguments, which OpenAI sends as a JSON string and both native APIs want as an object.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Chat from "../Chat.js"
import * as LiterLlmError from "../LiterLlmError.js"

/** Splits a `data:` URL into its media type and base64 payload; `undefined` for anything else. */
export const parseDataUrl = (url: string): { readonly mediaType: string; readonly data: string } | undefined => {
  const match = /^data:([^;,]+)?((?:;[^;,]*)*?);base64,(.*)$/s.exec(url)
  if (match === null) return undefined
  return { mediaType: match[1] ?? "application/octet-stream", data: match[3] }
}

/** The text of a message's content, its text parts joined. */
export const textOf = (content: string | ReadonlyArray<{ readonly text: string }>): string =>
  typeof content === "string" ? content : content.map((part) => part.text).join("")

/** Whether a tool call of an assistant message is a function call (the only kind the native APIs take). */
export const isFunctionCall = Schema.is(Chat.FunctionToolCall)

/** Parses a tool call's arguments into the JSON object the native APIs want; "" means no arguments. */
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
