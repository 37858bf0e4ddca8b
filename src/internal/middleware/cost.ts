/**
 * Prices for middleware and the router: a model's price from a caller's own table or `Pricing`, remembered per model
 * name. `None` means the model has no known price; callers decide what that means (the budget counts 0).
 */
import * as Option from "effect/Option"
import type * as Embedding from "../../Embedding.js"
import * as Pricing from "../../Pricing.js"
import { estimateTokens } from "../tokens.js"

/** Prices supplied by the caller, by model name; consulted before `Pricing.lookup`. */
export type PriceTable = Readonly<Record<string, Pricing.ModelPricing>>

/** The price of `model`: the caller's table first, then `Pricing.lookup`. */
export const pricingOf = (model: string, prices: PriceTable | undefined): Option.Option<Pricing.ModelPricing> => {
  const own = prices?.[model]
  return own === undefined ? Pricing.lookup(model) : Option.some(own)
}

/** Estimated tokens of an embeddings request: its texts at four characters a token, or its token arrays as given. */
export const estimateEmbeddingTokens = (request: Embedding.EmbeddingRequest): number => {
  const input = request.input
  if (typeof input === "string") return estimateTokens(input)
  let tokens = 0
  for (const item of input as ReadonlyArray<string | number | ReadonlyArray<number>>) {
    if (typeof item === "string") tokens += estimateTokens(item)
    else if (typeof item === "number") tokens += 1
    else tokens += item.length
  }
  return Math.max(1, tokens)
}

/** How many model names a price book remembers before it starts over (request models are caller-controlled). */
const priceBookCapacity = 256

/**
 * `pricingOf` remembered per model name, for code that prices every call (the router's cost-based order, the budget,
 * telemetry): a `Pricing.lookup` resolves aliases and provider prefixes, and a miss scans the price data, so it is
 * worth doing once per model rather than per call. Bounded, since model names come from requests; each book belongs
 * to one built layer.
 */
export const priceBook = (prices: PriceTable | undefined) => {
  const known = new Map<string, Option.Option<Pricing.ModelPricing>>()
  const pricing = (model: string): Option.Option<Pricing.ModelPricing> => {
    let found = known.get(model)
    if (found === undefined) {
      found = pricingOf(model, prices)
      if (known.size >= priceBookCapacity) known.clear()
      known.set(model, found)
    }
    return found
  }
  return { pricing }
}
