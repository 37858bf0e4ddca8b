/**
 * What the end of each kind of call tells `Telemetry`'s recorder: the tokens (reported, or estimated for a stream
 * that reported none), the model that answered, the attributes of the answer, and a cost where the price data gives
 * it other than by tokens. Pure: built from the call's exit, read by the recorder.
 */
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Tracer from "effect/Tracer"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type * as Ops from "../middleware/ops.js"
import * as StreamSettle from "../middleware/stream.js"
import { estimatePromptTokens, estimateTokens } from "../tokens.js"
import * as Attributes from "./attributes.js"
import type { Outcome } from "./recorder.js"

const nothing = () => {}

/** A call that ended with no answer to read (a failure, or a stream that delivered nothing): only the call counts. */
const unanswered = (exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError>): Outcome => ({
  exit,
  tokens: undefined,
  estimated: false,
  responseModel: "",
  annotate: nothing
})

/** The outcome of a chat call; the answer's content is recorded only with `recordContent`. */
export const chat =
  (recordContent: boolean) =>
  (exit: Exit.Exit<Chat.ChatCompletionResponse, LiterLlmError.LiterLlmError>): Outcome =>
    Exit.match(exit, {
      onFailure: () => unanswered(exit),
      onSuccess: (response) => ({
        exit,
        tokens: response.usage == null ? undefined : Attributes.chatTokens(response.usage),
        estimated: false,
        responseModel: response.model,
        annotate: (span) => Attributes.chatResponse(span, response, recordContent)
      })
    })

/** The outcome of an embeddings call: input tokens only. */
export const embed = (exit: Exit.Exit<Embedding.EmbeddingResponse, LiterLlmError.LiterLlmError>): Outcome =>
  Exit.match(exit, {
    onFailure: () => unanswered(exit),
    onSuccess: (response) => ({
      exit,
      tokens: response.usage == null ? undefined : { input: response.usage.prompt_tokens, output: 0, cached: 0 },
      estimated: false,
      responseModel: response.model,
      annotate: (span) => span.attribute("gen_ai.response.model", response.model)
    })
  })

/**
 * The outcome of a stream. Without reported usage (no include_usage, or the stream broke off) the provider still
 * billed what it generated: estimate from the text that arrived — unless a cache below marked the span as a hit (a
 * replay the provider never saw costs nothing).
 */
export const stream = (
  span: Tracer.Span,
  request: Chat.ChatCompletionRequest,
  outcome: StreamSettle.Outcome<LiterLlmError.LiterLlmError>,
  recordContent: boolean
): Outcome => {
  const exit: Exit.Exit<unknown, LiterLlmError.LiterLlmError> =
    outcome._tag === "Completed"
      ? Exit.void
      : outcome._tag === "Failed"
        ? Exit.fail(outcome.error)
        : Exit.interrupt(FiberId.none)
  if (outcome.chunks.length === 0) return unanswered(exit)
  const response = StreamSettle.assembled(outcome)
  const usage = StreamSettle.usageOf(outcome)
  const hit = span.attributes.get("liter_llm.cache.hit") === true
  const output = response.choices.reduce(
    (sum, choice) => sum + (choice.message.content == null ? 0 : estimateTokens(choice.message.content)),
    0
  )
  const tokens: Attributes.Tokens =
    usage !== undefined
      ? Attributes.chatTokens(usage)
      : hit
        ? { input: 0, output: 0, cached: 0 }
        : { input: estimatePromptTokens(request), output, cached: 0 }
  return {
    exit,
    tokens,
    estimated: usage === undefined && !hit,
    responseModel: response.model,
    annotate: (span) => Attributes.chatResponse(span, response, recordContent)
  }
}

/**
 * The outcome of one of the other operations: tokens where the answer reports them, and its cost priced as Budget
 * prices it — by the hour of audio where the price data does so, else (left to the recorder) by tokens.
 */
export const operation = <Req, Res>(
  spec: Ops.Spec<Req, Res>,
  model: string,
  exit: Exit.Exit<Res, LiterLlmError.LiterLlmError>
): Outcome =>
  Exit.match(exit, {
    onFailure: () => unanswered(exit),
    onSuccess: (response) => {
      const reported = spec.reported(response)
      return {
        exit,
        tokens: reported === undefined ? undefined : { ...reported, cached: 0 },
        estimated: false,
        responseModel: model,
        annotate: nothing,
        costUsd: spec.cost?.(model, response)
      }
    }
  })
