/**
 * OpenTelemetry GenAI semantic-convention attributes for requests and responses, and the cost of a call. Kept apart
 * from `Telemetry.ts` so the module reads as "what a span and a metric record", not as attribute plumbing.
 */
import * as Option from "effect/Option"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"
import * as Pricing from "../../Pricing.js"

/** The token counts of one call, as the provider reported them (or as estimated when it did not). */
export interface Tokens {
  readonly input: number
  readonly output: number
  readonly cached: number
}

/** Where attributes go: a span's `attribute`. Set one by one, since building objects of dotted keys costs more. */
export interface Target {
  attribute(key: string, value: unknown): void
}

/** Attributes known before the call: what was asked for. Never the prompt unless `recordContent`. */
export const chatRequest = (span: Target, request: Chat.ChatCompletionRequest, recordContent: boolean): void => {
  span.attribute("gen_ai.operation.name", "chat")
  span.attribute("gen_ai.request.model", request.model)
  const maxTokens = request.max_completion_tokens ?? request.max_tokens
  if (maxTokens != null) span.attribute("gen_ai.request.max_tokens", maxTokens)
  if (request.temperature != null) span.attribute("gen_ai.request.temperature", request.temperature)
  if (request.top_p != null) span.attribute("gen_ai.request.top_p", request.top_p)
  if (request.seed != null) span.attribute("gen_ai.request.seed", request.seed)
  if (recordContent) span.attribute("gen_ai.input.messages", JSON.stringify(request.messages))
}

/** Attributes of an embeddings request. The input text is recorded only with `recordContent`. */
export const embedRequest = (span: Target, request: Embedding.EmbeddingRequest, recordContent: boolean): void => {
  span.attribute("gen_ai.operation.name", "embeddings")
  span.attribute("gen_ai.request.model", request.model)
  if (request.dimensions != null) span.attribute("gen_ai.embeddings.dimension.count", request.dimensions)
  if (recordContent) span.attribute("gen_ai.input.messages", JSON.stringify(request.input))
}

/** Attributes learned from a (possibly assembled) chat response. */
export const chatResponse = (span: Target, response: Chat.ChatCompletionResponse, recordContent: boolean): void => {
  if (response.id !== "") span.attribute("gen_ai.response.id", response.id)
  if (response.model !== "") span.attribute("gen_ai.response.model", response.model)
  const reasons: Array<string> = []
  for (const choice of response.choices) if (choice.finish_reason != null) reasons.push(choice.finish_reason)
  if (reasons.length > 0) span.attribute("gen_ai.response.finish_reasons", reasons)
  if (recordContent) {
    span.attribute("gen_ai.output.messages", JSON.stringify(response.choices.map((choice) => choice.message)))
  }
}

/** Token counts from a chat usage block. */
export const chatTokens = (usage: Chat.Usage): Tokens => ({
  input: usage.prompt_tokens,
  output: usage.completion_tokens,
  cached: usage.prompt_tokens_details?.cached_tokens ?? 0
})

/** Span attributes for token counts. */
export const tokens = (span: Target, tokens: Tokens, estimated: boolean): void => {
  span.attribute("gen_ai.usage.input_tokens", tokens.input)
  span.attribute("gen_ai.usage.output_tokens", tokens.output)
  if (tokens.cached > 0) span.attribute("gen_ai.usage.cache_read.input_tokens", tokens.cached)
  if (estimated) span.attribute("liter_llm.usage.estimated", true)
}

/**
 * The cost of a call in USD: the configured pricing when given (a deployment knows its own price), else a lookup of
 * the requested model, then of the model the provider says answered (a dated snapshot name may be priced where an
 * alias is not). `undefined` when no price is known — unknown is not free.
 */
export const costOf = (
  pricing: Pricing.ModelPricing | undefined,
  models: ReadonlyArray<string>,
  tokens: Tokens,
  lookup: (model: string) => Option.Option<Pricing.ModelPricing>
): number | undefined => {
  const counts = { promptTokens: tokens.input, completionTokens: tokens.output, cachedTokens: tokens.cached }
  if (pricing !== undefined) return Pricing.costOf(pricing, counts)
  for (const model of models) {
    if (model === "") continue
    const found = lookup(model)
    if (Option.isSome(found)) return Pricing.costOf(found.value, counts)
  }
  return undefined
}
