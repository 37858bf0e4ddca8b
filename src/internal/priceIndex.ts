/**
 * Fast resolution of a model name to its genai-prices record.
 *
 * The package resolves a name by scanning providers and models in order and evaluating match rules (string tests,
 * regular expressions compiled afresh each time) on every call — tens to hundreds of microseconds, too slow for a
 * router that prices every candidate of every request. We follow the same rules, prepared once: per provider, a map
 * of the names models spell out exactly, then that provider's other rules in order with their regular expressions
 * compiled, then its fallback providers, then the name with compact dates spelled out (`-20241022` →
 * `-2024-10-22`) — the package's own order, so the answer is the package's answer (a test checks this over every
 * name in the data). Providers we do not index (added by a newer data release) go through the package's `calcPrice`.
 *
 * The index is built lazily on the first lookup and never changes afterwards. It is module-level on purpose: it is
 * a pure function of the bundled, immutable price data (the remote update is never enabled), so sharing it cannot
 * leak state between layers or tests.
 *
 * @internal
 */
import { calcPrice, findProvider, type ModelInfo, type Provider } from "@pydantic/genai-prices"
import { compile, exactNames, type Test } from "./priceRules.js"

/**
 * A resolved model: the provider whose price list holds it and its record there.
 *
 * @since 0.1.0
 * @category pricing
 */
export interface Resolved {
  readonly provider: Provider
  readonly model: ModelInfo
}

// Our provider ids (LiteLLM / liter-llm style) where genai-prices names the provider differently and its own
// `provider_match` rule does not already catch the alias.
const providerAliases: Readonly<Record<string, string>> = {
  fireworks_ai: "fireworks",
  azure_ai: "azure",
  azure_openai: "azure",
  xai: "x-ai",
  grok: "x-ai",
  gemini: "google",
  google_genai: "google",
  vertex_ai: "google",
  bedrock: "aws",
  together_ai: "together",
  togetherai: "together",
  moonshot: "moonshotai",
  // the registry sends `zhipu/…` to Z.ai's international endpoint, so it pays Z.ai's prices
  zhipu: "zai",
  github_copilot: "github-copilot"
}

// Providers of the bundled data (0.1.8) whose exact-name models are indexed, model makers first, then hosts, then
// aggregators: a bare name no provider's naming rule claims goes to the first of these that lists it. A provider
// missing here still resolves, through the package's slower path.
const indexedProviders = [
  "openai",
  "anthropic",
  "google",
  "mistral",
  "deepseek",
  "x-ai",
  "cohere",
  "moonshotai",
  "zai",
  "zhipuai",
  "minimax",
  "perplexity",
  "voyageai",
  "arcee",
  "groq",
  "cerebras",
  "together",
  "fireworks",
  "novita",
  "baseten",
  "avian",
  "cloudflare",
  "doubleword",
  "modal",
  "ovhcloud",
  "quicksilverpro",
  "typesafe",
  "aws",
  "azure",
  "github-copilot",
  "cursor",
  "openrouter"
]

/**
 * One provider's price list, ready for lookups. `exact` maps a name to the first model matching it whenever that
 * model names it exactly; otherwise the first matching model is necessarily one of the `loose` rules (a model with an
 * exact name is only left out of `exact` when an earlier loose rule also matches), which are scanned in order.
 */
interface ProviderIndex {
  readonly provider: Provider
  readonly exact: ReadonlyMap<string, Resolved>
  readonly loose: ReadonlyArray<{ readonly resolved: Resolved; readonly test: Test }>
}

interface Index {
  readonly providers: ReadonlyMap<string, ProviderIndex>
  readonly bare: ReadonlyMap<string, Resolved>
}

const indexProvider = (provider: Provider): ProviderIndex => {
  const exact = new Map<string, Resolved>()
  const loose: Array<{ readonly resolved: Resolved; readonly test: Test }> = []
  for (const model of provider.models) {
    const names = exactNames(model.match)
    if (names === undefined) {
      loose.push({ resolved: { provider, model }, test: compile(model.match) })
      continue
    }
    for (const name of names) {
      if (!exact.has(name) && !loose.some((rule) => rule.test(name))) exact.set(name, { provider, model })
    }
  }
  return { provider, exact, loose }
}

const buildIndex = (): Index => {
  const providers = new Map<string, ProviderIndex>()
  for (const id of indexedProviders) {
    const provider = findProvider({ providerId: id })
    if (provider !== undefined && provider.id === id) providers.set(id, indexProvider(provider))
  }
  const bare = new Map<string, Resolved>()
  const unclaimed: Array<[string, Resolved]> = []
  for (const { exact } of providers.values()) {
    for (const [name, hit] of exact) {
      if (bare.has(name)) continue
      // A bare name belongs to the first provider whose model rule claims it, as in the package.
      const owner = findProvider({ modelId: name })
      if (owner === undefined) unclaimed.push([name, hit])
      else {
        const resolved = providers.get(owner.id)?.exact.get(name)
        if (resolved !== undefined) bare.set(name, resolved)
      }
    }
  }
  // Names no provider's rule claims (`text-embedding-3-small`, `meta-llama/Llama-3.3-70B-Instruct-Turbo`): the
  // package gives up on them; the first provider in our order that lists the name exactly is a better answer.
  for (const [name, hit] of unclaimed) if (!bare.has(name)) bare.set(name, hit)
  for (const [alias, id] of Object.entries(providerAliases)) {
    const indexed = providers.get(id)
    if (indexed !== undefined) providers.set(alias, indexed)
  }
  return { providers, bare }
}

let index: Index | undefined

const getIndex = (): Index => (index ??= buildIndex())

const slowResolve = (name: string, providerId: string | undefined): Resolved | undefined => {
  try {
    const result = calcPrice({}, name, providerId === undefined ? undefined : { providerId })
    return result === null ? undefined : { provider: result.provider, model: result.model }
  } catch {
    // The package validates price data while computing; a record it cannot price is a model without a price.
    return undefined
  }
}

const firstMatch = (indexed: ProviderIndex, name: string): Resolved | undefined =>
  indexed.exact.get(name) ?? indexed.loose.find((rule) => rule.test(name))?.resolved

// Like the package: the provider's own models, then those of its fallback providers (one level deep).
const matchWithFallbacks = (indexed: ProviderIndex, name: string): Resolved | undefined => {
  const own = firstMatch(indexed, name)
  if (own !== undefined) return own
  for (const id of indexed.provider.fallback_model_providers ?? []) {
    const fallback = getIndex().providers.get(id)
    const found = fallback === undefined ? slowResolve(name, id) : firstMatch(fallback, name)
    if (found !== undefined) return found
  }
  return undefined
}

const compactDate = /(-)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|$)/g

// `claude-3-5-haiku-20241022` is listed as `claude-3-5-haiku-2024-10-22` by some rules; like the package, a name
// that matches nothing is retried with its compact dates spelled out, when they are real calendar dates.
const spellDates = (name: string): string =>
  name.replace(compactDate, (all, dash: string, year: string, month: string, day: string) => {
    return Number(day) <= daysInMonth(Number(year), Number(month)) ? `${dash}${year}-${month}-${day}` : all
  })

const daysInMonth = (year: number, month: number): number => {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

const resolveIndexed = (indexed: ProviderIndex, name: string): Resolved | undefined => {
  const found = matchWithFallbacks(indexed, name)
  if (found !== undefined) return found
  const spelled = spellDates(name)
  return spelled === name ? undefined : matchWithFallbacks(indexed, spelled)
}

/**
 * The genai-prices provider for one of our provider ids, or undefined when the data has no such provider.
 *
 * @since 0.1.0
 * @category pricing
 */
export const providerFor = (id: string): Provider | undefined => {
  const key = id.toLowerCase().trim()
  // "litellm" makes the package guess the provider from the model; here a provider id means that provider.
  if (key === "" || key === "litellm") return undefined
  return getIndex().providers.get(key)?.provider ?? findProvider({ providerId: providerAliases[key] ?? key })
}

/**
 * Resolves `model` within one provider's price list (including the provider's fallback providers).
 *
 * @since 0.1.0
 * @category pricing
 */
export const resolveIn = (provider: Provider, model: string): Resolved | undefined => {
  const name = model.toLowerCase().trim()
  const indexed = getIndex().providers.get(provider.id)
  return indexed === undefined ? slowResolve(name, provider.id) : resolveIndexed(indexed, name)
}

/**
 * Resolves a bare model name the way the package does: the first provider whose model rule claims the name.
 *
 * @since 0.1.0
 * @category pricing
 */
export const resolveBare = (model: string): Resolved | undefined => {
  const name = model.toLowerCase().trim()
  const hit = getIndex().bare.get(name)
  if (hit !== undefined) return hit
  const owner = findProvider({ modelId: name })
  return owner === undefined ? undefined : resolveIn(owner, name)
}

/**
 * Resolves `provider/model` (our provider id, or genai-prices' own) or a bare model name. When the prefix is not
 * a known provider, or that provider does not list the model, the whole name is tried as a bare model id, since
 * many model ids carry an organisation prefix (`meta-llama/Llama-3.3-70B-Instruct`).
 *
 * @since 0.1.0
 * @category pricing
 */
export const resolve = (model: string): Resolved | undefined => {
  const slash = model.indexOf("/")
  if (slash > 0) {
    const provider = providerFor(model.slice(0, slash))
    const inProvider = provider && resolveIn(provider, model.slice(slash + 1))
    if (inProvider !== undefined) return inProvider
  }
  return resolveBare(model)
}
