/**
 * An @effect/ai `Prompt` as chat-completion messages.
 *
 * Decisions:
 * - A user message of one text part is sent as a plain string (every OpenAI-compatible server takes that, not all
 *   take part arrays); anything else is sent as parts.
 * - Files by media type: images become `image_url` (a URL, or a `data:` URL built from the bytes), wav/mp3 audio
 *   `input_audio`, everything else `file` with base64 `file_data`. String data is a `data:` URL, an http(s) URL, or
 *   base64, as @effect/ai's own providers read it. Chat completions take no file by URL except images: such a part
 *   fails with `MalformedInput` rather than being dropped.
 * - Assistant reasoning is not sent back: chat completions have no input field for it, and servers that return it
 *   (DeepSeek) ask that it is left out of the next turn. Tool calls and results the provider ran itself have no
 *   place in chat completions either and are left out; files in an assistant turn fail with `MalformedInput`.
 * - A tool result is sent as the tool message's content: a string as is, anything else as JSON.
 */
import type * as Prompt from "@effect/ai/Prompt"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import type * as Chat from "../../Chat.js"

/** A part of the prompt the chat-completions API cannot carry, said in words. */
export type Problem = string

const dataUrl = (mediaType: string, data: string | Uint8Array): string =>
  typeof data === "string" && data.startsWith("data:")
    ? data
    : `data:${mediaType};base64,${typeof data === "string" ? data : Encoding.encodeBase64(data)}`

const isHttpUrl = (data: string | Uint8Array | URL): data is URL | string =>
  data instanceof URL || (typeof data === "string" && /^https?:\/\//i.test(data))

/** Base64 without a `data:` prefix, for the fields that take the bare encoding. */
const base64 = (data: string | Uint8Array): string =>
  typeof data === "string" ? data.replace(/^data:[^,]*,/, "") : Encoding.encodeBase64(data)

const audioFormats: Readonly<Record<string, "wav" | "mp3">> = {
  "audio/wav": "wav",
  "audio/x-wav": "wav",
  "audio/wave": "wav",
  "audio/mpeg": "mp3",
  "audio/mp3": "mp3"
}

const filePart = (part: Prompt.FilePart, at: string): Either.Either<Chat.UserContentPart, Problem> => {
  const { data, mediaType } = part
  if (mediaType.startsWith("image/")) {
    const url = isHttpUrl(data) ? data.toString() : dataUrl(mediaType === "image/*" ? "image/jpeg" : mediaType, data)
    return Either.right({ type: "image_url", image_url: { url } })
  }
  if (isHttpUrl(data)) {
    return Either.left(
      `${at}: a ${mediaType} file by URL (${data.toString()}); chat completions take files inline only — pass its bytes or base64`
    )
  }
  const format = audioFormats[mediaType]
  if (format !== undefined) return Either.right({ type: "input_audio", input_audio: { data: base64(data), format } })
  return Either.right({
    type: "file",
    file: { file_data: dataUrl(mediaType, data), ...(part.fileName === undefined ? {} : { filename: part.fileName }) }
  })
}

const userMessage = (message: Prompt.UserMessage, at: string): Either.Either<Chat.UserMessage, Problem> => {
  const [only] = message.content
  if (message.content.length === 1 && only!.type === "text") return Either.right({ role: "user", content: only!.text })
  return Either.map(
    Either.all(
      message.content.map((part, i): Either.Either<Chat.UserContentPart, Problem> =>
        part.type === "text" ? Either.right({ type: "text", text: part.text }) : filePart(part, `${at}, part ${i}`)
      )
    ),
    (content) => ({ role: "user" as const, content })
  )
}

const json = (value: unknown): string => (typeof value === "string" ? value : (JSON.stringify(value) ?? "null"))

const assistantMessage = (
  message: Prompt.AssistantMessage,
  at: string
): Either.Either<ReadonlyArray<Chat.Message>, Problem> => {
  const text: Array<string> = []
  const calls: Array<Chat.FunctionToolCall> = []
  for (const [i, part] of message.content.entries()) {
    switch (part.type) {
      case "text":
        text.push(part.text)
        break
      case "tool-call":
        if (!part.providerExecuted) {
          calls.push({ id: part.id, type: "function", function: { name: part.name, arguments: json(part.params) } })
        }
        break
      case "file":
        return Either.left(`${at}, part ${i}: a file in an assistant turn; chat completions cannot carry it`)
      case "reasoning":
      case "tool-result":
        break
    }
  }
  if (text.length === 0 && calls.length === 0) return Either.right([])
  return Either.right([
    {
      role: "assistant",
      content: text.length === 0 ? null : text.join(""),
      ...(calls.length === 0 ? {} : { tool_calls: calls })
    }
  ])
}

/**
 * The messages of a prompt, or what in it cannot be sent.
 */
export const toMessages = (prompt: Prompt.Prompt): Either.Either<ReadonlyArray<Chat.Message>, Problem> =>
  Either.map(
    Either.all(
      prompt.content.map((message, i): Either.Either<ReadonlyArray<Chat.Message>, Problem> => {
        const at = `prompt message ${i} (${message.role})`
        switch (message.role) {
          case "system":
            return Either.right([{ role: "system", content: message.content }])
          case "user":
            return Either.map(userMessage(message, at), (user) => [user])
          case "assistant":
            return assistantMessage(message, at)
          case "tool":
            return Either.right(
              message.content.map((result) => ({
                role: "tool" as const,
                tool_call_id: result.id,
                content: json(result.result)
              }))
            )
        }
      })
    ),
    (groups) => groups.flat()
  )
