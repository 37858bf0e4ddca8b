/**
 * Prices of models, in USD per million tokens, and the cost of a call.
 *
 * Prices come from `@pydantic/genai-prices`, bundled with the package: upgrading that dependency updates them, and
 * nothing here ever fetches price data over the network (its remote update is never enabled).
 *
 * Names resolve as `provider/model` (`openai/gpt-4o-mini`, `groq/llama-3.1-8b-instant`, our provider ids such as
 * `gemini`, `vertex_ai`, `bedrock`, `together_ai` or genai-prices' own) or as a bare model name (`gpt-4o-mini`),
 * which goes to the provider whose naming rule claims it. A `provider/model` whose prefix is not a provider, or whose
 * provider does not list the model, is tried as a whole bare id, as organisation-prefixed ids
 * (`meta-llama/Llama-3.3-70B-Instruct`) are common.
 *
 * Choices where the data has more than one price:
 * - tiered prices (Claude's higher rate above 200k prompt tokens): the base tier, which is what almost every request
 *   pays; a router comparing deployments needs the common case, not the rare long prompt.
 * - prices that change on a date: {@link lookup} takes the newest one in the data (a data release records a price
 *   change once it is announced); {@link lookupAt} and {@link lookupNow} take the one in force at a given time.
 * - time-of-day prices (DeepSeek's peak and off-peak hours): {@link lookup} takes the price in force for most of the
 *   day, {@link lookupAt} the one in force at that moment.
 * - cache writes (Anthropic's cache creation) have no field in {@link ModelPricing}; they are billed as input.
 *
 * Lookups are cheap (a map read for models named exactly in the data), so callers may price on every request.
 *
 * @since 0.1.0
 */
import type { ModelInfo, ModelPrice, TimeOfDateConstraint } from "@pydantic/genai-prices"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Chat from "./Chat.js"
import * as PriceIndex from "./internal/priceIndex.js"

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

// A price may be a flat number or tiers by prompt size; the base tier is what a request below every threshold pays.
const perMillion = (price: ModelPrice[string]): number | undefined =>
  price === undefined ? undefined : typeof price === "number" ? price : price.base

const toPricing = (price: ModelPrice): Option.Option<ModelPricing> => {
  const input = perMillion(price["input_mtok"])
  const output = perMillion(price["output_mtok"])
  // A model priced by the image, the hour or the page has no token price to compare or bill.
  if (input === undefined && output === undefined) return Option.none()
  const cached = perMillion(price["cache_read_mtok"])
  return Option.some({
    inputPerMillion: input ?? 0,
    outputPerMillion: output ?? 0,
    ...(cached === undefined ? {} : { cachedInputPerMillion: cached })
  })
}

// Periods are listed oldest first. The list price is the newest period in force for most of the day: a dated period
// counts, a time-of-day window counts only when it covers more than half the day (DeepSeek lists its standard price
// as a 16-hour window over an off-peak default; its newer models list short discount windows over a standard price).
const listPrice = (model: ModelInfo): ModelPrice => {
  if (!Array.isArray(model.prices)) return model.prices
  for (let i = model.prices.length - 1; i >= 0; i--) {
    const { constraint, prices } = model.prices[i]
    if (constraint?.type !== "time_of_date" || windowSeconds(constraint) > 43_200) return prices
  }
  return model.prices[0].prices
}

const windowSeconds = (window: TimeOfDateConstraint): number =>
  (secondsOfDay(window.end_time) - secondsOfDay(window.start_time) + 86_400) % 86_400

const secondsOfDay = (time: string): number => {
  const match = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/.exec(time)
  if (match === null) return Number.NaN
  const offset = match[4] === "Z" ? 0 : (match[5] === "+" ? 1 : -1) * (Number(match[6]) * 3600 + Number(match[7]) * 60)
  return (Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) - offset + 86_400) % 86_400
}

const dayStart = (date: string): number => {
  const [year, month, day] = date.split("-").map(Number)
  return Date.UTC(year, month - 1, day)
}

// The period in force at `epochMillis`, by the same rule as the package: the last listed period whose constraint
// holds, else the first.
const priceAt = (model: ModelInfo, epochMillis: number): ModelPrice => {
  if (!Array.isArray(model.prices)) return model.prices
  const second = (((epochMillis / 1000) % 86_400) + 86_400) % 86_400
  for (let i = model.prices.length - 1; i >= 0; i--) {
    const { constraint, prices } = model.prices[i]
    if (constraint === undefined) return prices
    if (constraint.type === "start_date") {
      if (epochMillis >= dayStart(constraint.start_date)) return prices
    } else {
      const start = secondsOfDay(constraint.start_time)
      const end = secondsOfDay(constraint.end_time)
      const inside = end < start ? second >= start || second < end : second >= start && second < end
      if (inside) return prices
    }
  }
  return model.prices[0].prices
}

/**
 * The price of a model by name (`gpt-4o-mini`, or `provider/model` such as `groq/llama-3.1-8b-instant`), or `None`
 * for a model the price data does not know or does not price by the token.
 *
 * @since 0.1.0
 * @category lookup
 */
export const lookup = (model: string): Option.Option<ModelPricing> => {
  const resolved = PriceIndex.resolve(model)
  return resolved === undefined ? Option.none() : toPricing(listPrice(resolved.model))
}

/**
 * The price of an hour of audio for `model` (speech-to-text models the price data prices by the hour, such as
 * `whisper-1`), or `None` where it has no such price.
 *
 * @since 0.2.0
 * @category lookup
 */
export const audioHourPrice = (model: string): Option.Option<number> => {
  const resolved = PriceIndex.resolve(model)
  if (resolved === undefined) return Option.none()
  const price = listPrice(resolved.model)
  const perHour = perMillion(price["input_audio_hours"]) ?? perMillion(price["audio_hours"])
  return perHour === undefined ? Option.none() : Option.some(perHour)
}

/**
 * The cost in USD of transcribing `seconds` of audio with `model`, or `None` where the price data has no price by
 * the hour for it (a token-priced model is priced by its reported tokens instead).
 *
 * @since 0.2.0
 * @category cost
 */
export const transcriptionCost = (model: string, seconds: number): Option.Option<number> =>
  Option.map(audioHourPrice(model), (perHour) => (perHour * Math.max(0, seconds)) / 3600)

/**
 * The price of `model` as sold by `provider` (our provider id such as `groq`, `gemini`, `bedrock`, or genai-prices'
 * own). `None` when the data has no such provider or the provider does not list the model.
 *
 * @since 0.1.0
 * @category lookup
 */
export const lookupWith = (provider: string, model: string): Option.Option<ModelPricing> => {
  const found = PriceIndex.providerFor(provider)
  const resolved = found && PriceIndex.resolveIn(found, model)
  return resolved === undefined ? Option.none() : toPricing(listPrice(resolved.model))
}

/**
 * The price of a model in force at `epochMillis` (UTC), including dated price changes and time-of-day discounts.
 *
 * @since 0.1.0
 * @category lookup
 */
export const lookupAt = (model: string, epochMillis: number): Option.Option<ModelPricing> => {
  const resolved = PriceIndex.resolve(model)
  return resolved === undefined ? Option.none() : toPricing(priceAt(resolved.model, epochMillis))
}

/**
 * The price of a model in force now, by the `Clock` (so `TestClock` decides "now" in tests).
 *
 * @since 0.1.0
 * @category lookup
 */
export const lookupNow = (model: string): Effect.Effect<Option.Option<ModelPricing>> =>
  Effect.map(Clock.currentTimeMillis, (now) => lookupAt(model, now))

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

/**
 * The cost in USD of a completion's reported `usage` (cached prompt tokens at the cache-read rate), or `None` for
 * a model without known prices.
 *
 * @since 0.1.0
 * @category cost
 */
export const usageCost = (model: string, usage: Chat.Usage): Option.Option<number> =>
  Option.map(lookup(model), (pricing) => costOfUsage(pricing, usage))

/**
 * The cost in USD of a completion's reported `usage` at the given prices (cached prompt tokens at the cache-read
 * rate).
 *
 * @since 0.1.0
 * @category cost
 */
export const costOfUsage = (pricing: ModelPricing, usage: Chat.Usage): number =>
  costOf(pricing, {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0
  })
