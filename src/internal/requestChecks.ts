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
 * The check runs when the operation is called, before the operation's effect is even built: a plain comparison of
 * a few fields, so an ordinary request goes straight to the operation with no Effect added.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withRequestChecks = (operations: Operations): Operations => {
  const { chat, chatStream, embed } = operations
  const checked: { -readonly [K in keyof Operations]: Operations[K] } = { ...operations }
  if (chat !== undefined) {
    checked.chat = (request) => {
      const problem = Validate.chatProblem(request)
      return problem === undefined ? chat(request) : Effect.fail(problem)
    }
  }
  if (chatStream !== undefined) {
    checked.chatStream = (request) => {
      const problem = Validate.chatProblem(request)
      return problem === undefined ? chatStream(request) : Stream.fail(problem)
    }
  }
  if (embed !== undefined) {
    checked.embed = (request) => {
      const problem = Validate.embeddingProblem(request)
      return problem === undefined ? embed(request) : Effect.fail(problem)
    }
  }
  return checked
}
