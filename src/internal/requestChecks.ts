/**
 * Puts the shared request checks (`Validate.chat`, `Validate.embedding`) in front of a service's operations, so a
 * provider — or the test kit standing in for one — refuses a malformed request before it does anything: no bytes
 * go upstream, no call is counted, and the caller gets a `BadRequest` naming the field.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as LlmService from "../LlmService.js"
import * as Validate from "./validate.js"

type Operations = Partial<LlmService.Service> & { readonly provider?: string | undefined }

/**
 * Wraps `chat`, `chatStream` and `embed` of a partial service with the request checks; other fields pass through.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withRequestChecks = (operations: Operations): Operations => {
  const { chat, chatStream, embed } = operations
  const checked: { -readonly [K in keyof Operations]: Operations[K] } = { ...operations }
  if (chat !== undefined)
    checked.chat = (request) =>
      Effect.zipRight(
        Validate.chat(request),
        Effect.suspend(() => chat(request))
      )
  if (chatStream !== undefined) {
    checked.chatStream = (request) =>
      Stream.unwrap(
        Effect.zipRight(
          Validate.chat(request),
          Effect.sync(() => chatStream(request))
        )
      )
  }
  if (embed !== undefined)
    checked.embed = (request) =>
      Effect.zipRight(
        Validate.embedding(request),
        Effect.suspend(() => embed(request))
      )
  return checked
}
