/**
 * Puts the shared request checks (`Validate.chat`, `Validate.embedding`) in front of a service's operations, so a
 * provider — or the test kit standing in for one — refuses a malformed request before it does anything: no bytes
 * go upstream, no call is counted, and the caller gets a `BadRequest` naming the field.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as LiterLlmError from "../LiterLlmError.js"
import type * as LlmService from "../LlmService.js"
import * as Validate from "./validate.js"
import * as ValidateOps from "./validateOps.js"

type Operations = Partial<LlmService.Service> & { readonly provider?: string | undefined }

/**
 * Wraps the operations of a partial service with their request checks (`listModels` has no request).
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
  const { image, moderate, rerank, speech, transcribe } = operations
  if (image !== undefined) checked.image = guarded(ValidateOps.imageProblem, image)
  if (speech !== undefined) checked.speech = guarded(ValidateOps.speechProblem, speech)
  if (transcribe !== undefined) checked.transcribe = guarded(ValidateOps.transcriptionProblem, transcribe)
  if (moderate !== undefined) checked.moderate = guarded(ValidateOps.moderationProblem, moderate)
  if (rerank !== undefined) checked.rerank = guarded(ValidateOps.rerankProblem, rerank)
  return checked
}

const guarded =
  <Req, A, E>(
    problem: (request: unknown) => LiterLlmError.BadRequest | undefined,
    operation: (request: Req) => Effect.Effect<A, E>
  ) =>
  (request: Req): Effect.Effect<A, E | LiterLlmError.BadRequest> => {
    const found = problem(request)
    return found === undefined ? operation(request) : Effect.fail(found)
  }
