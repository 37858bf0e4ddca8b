/**
 * Translates a Gemini `generateContent` response into an OpenAI-style chat completion: one choice per candidate,
 * text parts joined into `content`, thought parts into `reasoning_content`, `functionCall` parts into `tool_calls`.
 *
 * Gemini's function calls often have no id, and OpenAI clients need one to answer the call, so ids are made from
 * the response id and the call's position. A prompt blocked before any candidate was produced is a `ContentPolicy`
 * error, not an empty answer.
 */
import * as Either from "effect/Either"
import type * as Chat from "../../Chat.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import { withSignature } from "./thoughtSignature.js"
import { toFinishReason, toUsage } from "./usage.js"
import type * as Wire from "./wire.js"

/**
 * The tool call id of the `position`-th call of candidate `choice`: Gemini's own id or one made up, plus the part's
 * thought signature, if any.
 *
 * @since 0.1.0
 * @category response
 */
export const toolCallId = (responseId: string, choice: number, position: number, part: Wire.Part): string =>
  withSignature(part.functionCall?.id ?? `call_${responseId}_${choice}_${position}`, part.thoughtSignature)

/**
 * The prompt-level refusal of a response without candidates, if that is what it is.
 *
 * @since 0.1.0
 * @category response
 */
export const blocked = (response: Wire.GenerateContentResponse): LiterLlmError.ContentPolicy | undefined => {
  const reason = response.promptFeedback?.blockReason
  if (response.candidates.length > 0 || reason == null) return undefined
  return new LiterLlmError.ContentPolicy({
    provider: "gemini",
    message: `gemini blocked the prompt (${reason}); change the prompt or the safety settings`
  })
}

const toChoice = (candidate: Wire.Candidate, position: number, responseId: string): Chat.Choice => {
  const index = candidate.index ?? position
  const text: Array<string> = []
  const thoughts: Array<string> = []
  const toolCalls: Array<Chat.FunctionToolCall> = []
  for (const part of candidate.content?.parts ?? []) {
    if (part.functionCall != null) {
      toolCalls.push({
        id: toolCallId(responseId, index, toolCalls.length, part),
        type: "function",
        function: { name: part.functionCall.name ?? "", arguments: JSON.stringify(part.functionCall.args ?? {}) }
      })
    } else if (part.text != null) {
      if (part.thought === true) thoughts.push(part.text)
      else text.push(part.text)
    }
  }
  return {
    index,
    message: {
      role: "assistant",
      content: text.length === 0 ? null : text.join(""),
      ...(thoughts.length === 0 ? {} : { reasoning_content: thoughts.join("") }),
      ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls })
    },
    finish_reason: toFinishReason(candidate.finishReason, toolCalls.length > 0)
  }
}

/**
 * The chat completion of a Gemini response. `id` is used when Gemini sent no `responseId`; `model` when it sent no
 * `modelVersion`.
 *
 * @since 0.1.0
 * @category response
 */
export const fromGenerateContentResponse = (
  response: Wire.GenerateContentResponse,
  fallback: { readonly id: string; readonly model: string; readonly created: number }
): Either.Either<Chat.ChatCompletionResponse, LiterLlmError.ContentPolicy | LiterLlmError.Serialization> => {
  const refusal = blocked(response)
  if (refusal !== undefined) return Either.left(refusal)
  if (response.candidates.length === 0) {
    // Every answer has a candidate, and a refused prompt says why; a body with neither is not an answer at all.
    return Either.left(
      new LiterLlmError.Serialization({
        provider: "gemini",
        message:
          'the response of generateContent from provider "gemini" has no candidates and no promptFeedback.blockReason; it is not an answer, retry the request'
      })
    )
  }
  const id = response.responseId ?? fallback.id
  return Either.right({
    id,
    object: "chat.completion",
    created: fallback.created,
    model: response.modelVersion ?? fallback.model,
    choices: response.candidates.map((candidate, position) => toChoice(candidate, position, id)),
    ...(response.usageMetadata == null ? {} : { usage: toUsage(response.usageMetadata) })
  })
}
