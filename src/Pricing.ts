/**
 * Prices of models, in USD per million tokens, and the cost of a call.
 *
 * NOTE: the lookup is being implemented on `@pydantic/genai-prices` (issue 2); the signatures are final.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"

/**
 * What a model costs, in USD per one million tokens. `cachedInputPerMillion` is the rate of prompt tokens read
 * from the provider's prompt cache; when absent they cost the full input rate.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelPricing {
  readonly inputPerMillion: number
  readonly outputPerMillion: number
  readonly cachedInputPerMillion?: number | undefined
}

/**
 * Token counts to price. `cachedTokens` is the part of `promptTokens` read from the cache.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenCounts {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cachedTokens?: number | undefined
}

/**
 * The cost in USD of a call with these token counts at these prices.
 *
 * @since 0.1.0
 * @category cost
 */
export const costOf = (pricing: ModelPricing, tokens: TokenCounts): number => {
  const cached = Math.min(Math.max(0, tokens.cachedTokens ?? 0), tokens.promptTokens)
  const cachedRate = pricing.cachedInputPerMillion ?? pricing.inputPerMillion
  return (
    ((tokens.promptTokens - cached) * pricing.inputPerMillion +
      cached * cachedRate +
      tokens.completionTokens * pricing.outputPerMillion) /
    1_000_000
  )
}

/**
 * The price of a model by name (`gpt-4o-mini`, or `provider/model` such as `groq/llama-3.1-8b-instant`).
 *
 * @since 0.1.0
 * @category lookup
 */
export const lookup = (_model: string): Option.Option<ModelPricing> => Option.none()

/**
 * The cost in USD of a call to `model`, or `None` for a model without known prices.
 *
 * @since 0.1.0
 * @category cost
 */
export const completionCost = (model: string, promptTokens: number, completionTokens: number): Option.Option<number> =>
  Option.map(lookup(model), (pricing) => costOf(pricing, { promptTokens, completionTokens }))

/**
 * Like {@link completionCost}, billing `cachedTokens` of the prompt at the model's cache-read rate.
 *
 * @since 0.1.0
 * @category cost
 */
export const completionCostWithCache = (
  model: string,
  promptTokens: number,
  cachedTokens: number,
  completionTokens: number
): Option.Option<number> =>
  Option.map(lookup(model), (pricing) => costOf(pricing, { promptTokens, completionTokens, cachedTokens }))
