/**
 * What the middleware needs to know of the operations beyond chat and embeddings: each one's request check, its
 * token estimate (what a rate limit and a budget reserve before the call), and the tokens its answer reports (what
 * they settle at). Only tokens are counted: where an answer reports none (speech, transcription, moderation), the
 * estimate stands for the rate limit and the budget charges what the price data can price — never a guess. The
 * router reads the same specs (request checks, and `answerCost` for its route facts), so a call is checked and
 * priced one way wherever it is.
 */
import type * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Image from "../../Image.js"
import * as Pricing from "../../Pricing.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import type * as Moderation from "../../Moderation.js"
import type * as Rerank from "../../Rerank.js"
import type * as Speech from "../../Speech.js"
import type * as Transcription from "../../Transcription.js"
import { estimateTokens } from "../tokens.js"
import * as ValidateOps from "../validateOps.js"

/** Tokens an answer reported: input and output, for pricing; `undefined` when it reported none. */
export interface Reported {
  readonly input: number
  readonly output: number
}

export interface Spec<Req, Res> {
  readonly problem: (request: Req) => LiterLlmError.BadRequest | undefined
  /** Input tokens, estimated from the request. */
  readonly estimate: (request: Req) => number
  readonly reported: (response: Res) => Reported | undefined
  /**
   * The answer's cost at `model` where the price data prices it other than by tokens (transcription by the hour of
   * audio); `undefined` when it does not.
   */
  readonly cost?: ((model: string, response: Res) => number | undefined) | undefined
}

const finite = (n: unknown): number | undefined =>
  typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : undefined

const image: Spec<Image.ImageRequest, Image.ImageResponse> = {
  problem: ValidateOps.imageProblem,
  estimate: (request) => estimateTokens(request.prompt),
  reported: (response) => {
    const input = finite(response.usage?.input_tokens)
    const output = finite(response.usage?.output_tokens)
    return input === undefined && output === undefined ? undefined : { input: input ?? 0, output: output ?? 0 }
  }
}

const speech: Spec<Speech.SpeechRequest, Speech.SpeechResponse> = {
  problem: ValidateOps.speechProblem,
  estimate: (request) => estimateTokens(request.input),
  reported: () => undefined
}

const transcribe: Spec<Transcription.TranscriptionRequest, Transcription.TranscriptionResponse> = {
  problem: ValidateOps.transcriptionProblem,
  estimate: (request) => (request.prompt === undefined ? 1 : estimateTokens(request.prompt)),
  reported: (response) => {
    const usage = response.usage as Record<string, unknown> | null | undefined
    const input = finite(usage?.input_tokens)
    const output = finite(usage?.output_tokens)
    return input === undefined ? undefined : { input, output: output ?? 0 }
  },
  // whisper-style models are priced by the hour of audio: the answer's `duration`, or OpenAI's duration usage
  cost: (model, response) => {
    const usage = response.usage as Record<string, unknown> | null | undefined
    const seconds = finite(response.duration) ?? (usage?.type === "duration" ? finite(usage.seconds) : undefined)
    return seconds === undefined ? undefined : Option.getOrUndefined(Pricing.transcriptionCost(model, seconds))
  }
}

const moderate: Spec<Moderation.ModerationRequest, Moderation.ModerationResponse> = {
  problem: ValidateOps.moderationProblem,
  estimate: (request) =>
    estimateTokens(typeof request.input === "string" ? request.input : JSON.stringify(request.input)),
  reported: () => undefined
}

const rerank: Spec<Rerank.RerankRequest, Rerank.RerankResponse> = {
  problem: ValidateOps.rerankProblem,
  estimate: (request) =>
    estimateTokens(request.query) * request.documents.length +
    request.documents.reduce((sum, d) => sum + estimateTokens(typeof d === "string" ? d : d.text), 0),
  reported: (response) => {
    const total = finite(response.usage?.total_tokens)
    return total === undefined ? undefined : { input: total, output: 0 }
  }
}

/**
 * What an answer cost at `model`: its price other than by tokens where the price data has one, else the tokens it
 * reported at `pricing`; `undefined` when neither is known (never a guess).
 */
export const answerCost = <Req, Res>(
  spec: Spec<Req, Res>,
  model: string,
  pricing: Pricing.ModelPricing | undefined,
  response: Res
): number | undefined => {
  const other = spec.cost?.(model, response)
  if (other !== undefined) return other
  const reported = spec.reported(response)
  return reported === undefined || pricing === undefined
    ? undefined
    : Pricing.costOf(pricing, { promptTokens: reported.input, completionTokens: reported.output })
}

/** The operations, by their name on `LlmService`. */
export const specs = { image, speech, transcribe, moderate, rerank } as const

export type Name = keyof typeof specs

export const names: ReadonlyArray<Name> = ["image", "speech", "transcribe", "moderate", "rerank"]

type Request<N extends Name> = Parameters<LlmService.Service[N]>[0]

/**
 * Wraps each of the five operations of `below` with `wrap`, which sees the operation's spec. Typed once here, so each
 * middleware writes one generic wrapper instead of five.
 */
export const wrapAll = (
  below: LlmService.Service,
  wrap: <Req extends { readonly model: string }, Res>(
    name: Name,
    spec: Spec<Req, Res>,
    call: (request: Req) => Effect.Effect<Res, LiterLlmError.LiterLlmError>
  ) => (request: Req) => Effect.Effect<Res, LiterLlmError.LiterLlmError>
): Pick<LlmService.Service, Name> => ({
  image: wrap("image", specs.image, below.image),
  speech: wrap("speech", specs.speech, below.speech),
  transcribe: wrap("transcribe", specs.transcribe, below.transcribe),
  moderate: wrap("moderate", specs.moderate, below.moderate),
  rerank: wrap("rerank", specs.rerank, below.rerank)
})

export type { Request }
