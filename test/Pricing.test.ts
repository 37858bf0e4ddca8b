import { describe, expect, it } from "@effect/vitest"
import { calcPrice, findProvider, type MatchLogic } from "@pydantic/genai-prices"
import { Effect, Option, TestClock } from "effect"
import * as Pricing from "../src/Pricing.js"
import * as PriceIndex from "../src/internal/priceIndex.js"

// Prices pinned from the bundled @pydantic/genai-prices 0.1.8 data. A data upgrade that changes one of them should
// fail here, loudly, so the change is looked at rather than silently shifting routing decisions.
describe("Pricing.lookup", () => {
  it("knows gpt-4o-mini, bare and as openai/…", () => {
    const expected = { inputPerMillion: 0.15, outputPerMillion: 0.6, cachedInputPerMillion: 0.075 }
    expect(Pricing.lookup("gpt-4o-mini")).toEqual(Option.some(expected))
    expect(Pricing.lookup("openai/gpt-4o-mini")).toEqual(Option.some(expected))
    expect(Pricing.lookup("  GPT-4o-Mini ")).toEqual(Option.some(expected))
  })

  it("knows Claude models with their cache-read rate, at the base tier", () => {
    expect(Pricing.lookup("anthropic/claude-3-5-haiku-latest")).toEqual(
      Option.some({ inputPerMillion: 0.8, outputPerMillion: 4, cachedInputPerMillion: 0.08 })
    )
    // Sonnet 4.5 doubles its input rate above 200k prompt tokens; the base tier is what we quote.
    expect(Pricing.lookup("claude-sonnet-4-5")).toEqual(
      Option.some({ inputPerMillion: 3, outputPerMillion: 15, cachedInputPerMillion: 0.3 })
    )
    // dated ids resolve too
    expect(Pricing.lookup("claude-3-5-haiku-20241022")).toEqual(Pricing.lookup("claude-3-5-haiku-latest"))
  })

  it("knows a Groq model, which has no cache-read rate", () => {
    const groq = Pricing.lookup("groq/llama-3.1-8b-instant")
    expect(groq).toEqual(Option.some({ inputPerMillion: 0.05, outputPerMillion: 0.08 }))
    expect(Option.getOrThrow(groq).cachedInputPerMillion).toBeUndefined()
  })

  it("maps our provider ids to genai-prices' ones", () => {
    expect(Pricing.lookup("gemini/gemini-2.0-flash")).toEqual(
      Option.some({ inputPerMillion: 0.1, outputPerMillion: 0.4, cachedInputPerMillion: 0.025 })
    )
    expect(Pricing.lookup("vertex_ai/gemini-2.0-flash")).toEqual(Pricing.lookup("gemini/gemini-2.0-flash"))
    expect(Pricing.lookup("xai/grok-3")).toEqual(
      Option.some({ inputPerMillion: 3, outputPerMillion: 15, cachedInputPerMillion: 0.75 })
    )
    expect(Pricing.lookup("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo")).toEqual(
      Option.some({ inputPerMillion: 0.88, outputPerMillion: 0.88 })
    )
    expect(Pricing.lookup("togetherai/meta-llama/Llama-3.3-70B-Instruct-Turbo")).toEqual(
      Pricing.lookup("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo")
    )
    expect(Pricing.lookup("moonshot/kimi-k2-0711-preview")).toEqual(
      Option.some({ inputPerMillion: 0.6, outputPerMillion: 2.5, cachedInputPerMillion: 0.15 })
    )
    expect(Pricing.lookup("fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct")).toEqual(
      Option.some({ inputPerMillion: 0.2, outputPerMillion: 0.2 })
    )
  })

  it("prices the same model differently per provider", () => {
    expect(Pricing.lookupWith("openai", "gpt-4o")).toEqual(
      Option.some({ inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 })
    )
    // OpenRouter lists gpt-4o without a cache-read rate
    expect(Pricing.lookup("openrouter/openai/gpt-4o")).toEqual(
      Option.some({ inputPerMillion: 2.5, outputPerMillion: 10 })
    )
    expect(Pricing.lookupWith("groq", "gpt-4o")).toEqual(Option.none())
    expect(Pricing.lookupWith("no-such-provider", "gpt-4o")).toEqual(Option.none())
  })

  it("resolves organisation-prefixed and embedding ids that no provider rule claims", () => {
    expect(Pricing.lookup("meta-llama/Llama-3.3-70B-Instruct-Turbo")).toEqual(
      Option.some({ inputPerMillion: 0.88, outputPerMillion: 0.88 })
    )
    expect(Pricing.lookup("text-embedding-3-small")).toEqual(
      Option.some({ inputPerMillion: 0.02, outputPerMillion: 0 })
    )
  })

  it("is None for unknown models, unknown providers and models not priced by the token", () => {
    expect(Pricing.lookup("no-such-model-xyz")).toEqual(Option.none())
    expect(Pricing.lookup("ollama/llama3")).toEqual(Option.none())
    expect(Pricing.lookup("")).toEqual(Option.none())
    expect(Pricing.lookup("dall-e-3")).toEqual(Option.none())
    expect(Pricing.lookup("litellm/gpt-4o-mini")).toEqual(Option.none())
  })

  it("takes the newest dated price and the price in force most of the day", () => {
    // o3's price was cut on 2025-06-10
    expect(Pricing.lookup("o3")).toEqual(
      Option.some({ inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: 0.5 })
    )
    // DeepSeek lists its standard price as a 16-hour window over an off-peak default
    expect(Pricing.lookup("deepseek/deepseek-chat")).toEqual(
      Option.some({ inputPerMillion: 0.27, outputPerMillion: 1.1, cachedInputPerMillion: 0.07 })
    )
  })
})

describe("Pricing.lookupAt / lookupNow", () => {
  const at = (iso: string) => Date.parse(iso)

  it("applies dated price changes", () => {
    expect(Pricing.lookupAt("o3", at("2025-06-09T23:59:59Z"))).toEqual(
      Option.some({ inputPerMillion: 10, outputPerMillion: 40, cachedInputPerMillion: 0.5 })
    )
    expect(Pricing.lookupAt("o3", at("2025-06-10T00:00:00Z"))).toEqual(Pricing.lookup("o3"))
  })

  it("applies time-of-day prices", () => {
    const peak = Pricing.lookupAt("deepseek-chat", at("2025-03-01T12:00:00Z"))
    const offPeak = Pricing.lookupAt("deepseek-chat", at("2025-03-01T20:00:00Z"))
    expect(peak).toEqual(Option.some({ inputPerMillion: 0.27, outputPerMillion: 1.1, cachedInputPerMillion: 0.07 }))
    expect(offPeak).toEqual(
      Option.some({ inputPerMillion: 0.135, outputPerMillion: 0.55, cachedInputPerMillion: 0.035 })
    )
    // the window's end is exclusive
    expect(Pricing.lookupAt("deepseek-chat", at("2025-03-01T16:30:00Z"))).toEqual(offPeak)
    expect(Pricing.lookupAt("deepseek-chat", at("2025-03-01T00:30:00Z"))).toEqual(peak)
  })

  it("agrees with the package's own choice of period", () => {
    let compared = 0
    for (const iso of [
      "2024-01-01T00:00:00Z",
      "2025-06-10T00:00:00Z",
      "2025-03-01T03:00:00Z",
      "2026-09-01T18:00:00Z"
    ]) {
      for (const [provider, model] of [
        ["openai", "o3"],
        ["deepseek", "deepseek-chat"],
        ["deepseek", "deepseek-v4-pro"],
        ["mistral", "mistral-ocr-latest"]
      ] as const) {
        // a fixed instant, not the wall clock: the package's API takes a Date
        const theirs = calcPrice({}, model, { providerId: provider, timestamp: new Date(iso) })
        const ours = Pricing.lookupAt(`${provider}/${model}`, at(iso))
        const input = theirs?.model_price["input_mtok"]
        if (typeof input === "number") {
          expect(Option.map(ours, (p) => p.inputPerMillion)).toEqual(Option.some(input))
          compared++
        }
      }
    }
    expect(compared).toBeGreaterThanOrEqual(12)
  })

  it.effect("lookupNow reads the Clock", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(at("2025-01-01T00:00:00Z"))
      expect((yield* Pricing.lookupNow("o3")).pipe(Option.map((p) => p.inputPerMillion))).toEqual(Option.some(10))
      yield* TestClock.setTime(at("2025-07-01T00:00:00Z"))
      expect((yield* Pricing.lookupNow("o3")).pipe(Option.map((p) => p.inputPerMillion))).toEqual(Option.some(2))
    })
  )
})

describe("cost", () => {
  it("costOf bills uncached input, cached input and output at their rates", () => {
    const pricing = { inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: 0.5 }
    expect(Pricing.costOf(pricing, { promptTokens: 1_000_000, completionTokens: 0 })).toBeCloseTo(2, 12)
    expect(Pricing.costOf(pricing, { promptTokens: 1000, completionTokens: 500, cachedTokens: 400 })).toBeCloseTo(
      (600 * 2 + 400 * 0.5 + 500 * 8) / 1e6,
      15
    )
    // more cached than prompt tokens is clamped; negative cached counts as none
    expect(Pricing.costOf(pricing, { promptTokens: 100, completionTokens: 0, cachedTokens: 1000 })).toBeCloseTo(
      (100 * 0.5) / 1e6,
      15
    )
    expect(Pricing.costOf(pricing, { promptTokens: 100, completionTokens: 0, cachedTokens: -5 })).toBeCloseTo(
      (100 * 2) / 1e6,
      15
    )
    // without a cache rate, cached tokens cost the input rate
    expect(
      Pricing.costOf(
        { inputPerMillion: 1, outputPerMillion: 1 },
        { promptTokens: 10, completionTokens: 0, cachedTokens: 10 }
      )
    ).toBeCloseTo(10 / 1e6, 15)
  })

  it("completionCost uses the looked-up prices", () => {
    expect(Option.getOrThrow(Pricing.completionCost("gpt-4o-mini", 1_000_000, 1_000_000))).toBeCloseTo(0.75, 12)
    expect(Option.getOrThrow(Pricing.completionCost("groq/llama-3.1-8b-instant", 2000, 1000))).toBeCloseTo(
      (2000 * 0.05 + 1000 * 0.08) / 1e6,
      15
    )
    expect(Pricing.completionCost("no-such-model-xyz", 10, 10)).toEqual(Option.none())
  })

  it("completionCostWithCache bills cached prompt tokens at the cache-read rate", () => {
    const withCache = Option.getOrThrow(Pricing.completionCostWithCache("gpt-4o-mini", 1000, 400, 100))
    expect(withCache).toBeCloseTo((600 * 0.15 + 400 * 0.075 + 100 * 0.6) / 1e6, 15)
    expect(withCache).toBeLessThan(Option.getOrThrow(Pricing.completionCost("gpt-4o-mini", 1000, 100)))
    // Claude reads from its cache at a tenth of the input rate
    expect(
      Option.getOrThrow(Pricing.completionCostWithCache("anthropic/claude-3-5-haiku-latest", 10_000, 10_000, 0))
    ).toBeCloseTo((10_000 * 0.08) / 1e6, 15)
    // Groq has no cache rate: caching changes nothing
    expect(Pricing.completionCostWithCache("groq/llama-3.1-8b-instant", 1000, 500, 0)).toEqual(
      Pricing.completionCost("groq/llama-3.1-8b-instant", 1000, 0)
    )
    expect(Pricing.completionCostWithCache("no-such-model-xyz", 10, 5, 10)).toEqual(Option.none())
  })

  it("usageCost prices a response's usage, cached tokens included", () => {
    const usage = {
      prompt_tokens: 1000,
      completion_tokens: 100,
      total_tokens: 1100,
      prompt_tokens_details: { cached_tokens: 400 }
    }
    expect(Pricing.usageCost("gpt-4o-mini", usage)).toEqual(
      Pricing.completionCostWithCache("gpt-4o-mini", 1000, 400, 100)
    )
    expect(Pricing.usageCost("gpt-4o-mini", { ...usage, prompt_tokens_details: null })).toEqual(
      Pricing.completionCost("gpt-4o-mini", 1000, 100)
    )
    expect(Pricing.usageCost("no-such-model-xyz", usage)).toEqual(Option.none())
    // The same from given prices: $1 per million input, $0.1 cached, $2 output.
    const prices = { inputPerMillion: 1, cachedInputPerMillion: 0.1, outputPerMillion: 2 }
    expect(Pricing.costOfUsage(prices, usage)).toBeCloseTo((600 * 1 + 400 * 0.1 + 100 * 2) / 1_000_000, 12)
  })
})

describe("the resolution index", () => {
  const providerIds = ["openai", "anthropic", "google", "groq", "together", "openrouter", "aws", "azure", "mistral"]
  const exactNames = (match: MatchLogic): Array<string> =>
    "equals" in match ? [match.equals] : "or" in match ? match.or.flatMap(exactNames) : []
  // every exact name in the data, plus variants that only loose rules, fallbacks or date spelling can match
  const candidates = (id: string) =>
    findProvider({ providerId: id })!.models.flatMap((model) =>
      exactNames(model.match).flatMap((name) => [name, `${name}-20250101`, `${name}-latest`, `${name}x`])
    )

  it("resolves within a provider exactly as the package does", () => {
    let checked = 0
    for (const id of providerIds) {
      const provider = findProvider({ providerId: id })!
      for (const name of candidates(id)) {
        const theirs = calcPrice({}, name, { providerId: id })
        expect([name, PriceIndex.resolveIn(provider, name)?.model.id]).toEqual([name, theirs?.model.id])
        checked++
      }
    }
    expect(checked).toBeGreaterThan(2000)
  })

  it("resolves bare names as the package does wherever the package finds one", () => {
    let checked = 0
    for (const id of providerIds) {
      for (const name of candidates(id)) {
        const theirs = calcPrice({}, name)
        if (theirs === null) continue
        const ours = PriceIndex.resolveBare(name)
        expect([name, ours?.provider.id, ours?.model.id]).toEqual([name, theirs.provider.id, theirs.model.id])
        checked++
      }
    }
    expect(checked).toBeGreaterThan(500)
  })
})
