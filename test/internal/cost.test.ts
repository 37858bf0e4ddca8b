import { describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as Pricing from "../../src/Pricing.js"
import { priceBook } from "../../src/internal/middleware/cost.js"

describe("priceBook", () => {
  it("answers like Pricing.lookup, before and after it starts over past its capacity", () => {
    const book = priceBook(undefined)
    const known = Option.getOrThrow(Pricing.lookup("gpt-4o-mini"))
    expect(book.pricing("gpt-4o-mini")).toEqual(Option.some(known))
    for (let i = 0; i < 300; i++) expect(Option.isNone(book.pricing(`no-such-model-${i}`))).toBe(true)
    expect(book.pricing("gpt-4o-mini")).toEqual(Option.some(known))
  })

  it("prefers the caller's own table and prices cached tokens at the cache-read rate", () => {
    const own = { inputPerMillion: 1, outputPerMillion: 2, cachedInputPerMillion: 0.5 }
    const book = priceBook({ "gpt-4o-mini": own })
    expect(book.pricing("gpt-4o-mini")).toEqual(Option.some(own))
    const usage = {
      prompt_tokens: 1_000_000,
      completion_tokens: 1_000_000,
      total_tokens: 2_000_000,
      prompt_tokens_details: { cached_tokens: 500_000 }
    }
    expect(Option.map(book.pricing("gpt-4o-mini"), (p) => Pricing.costOfUsage(p, usage))).toEqual(
      Option.some(0.5 + 0.25 + 2)
    )
  })
})
