/**
 * Fast resolution of a model name to its genai-prices record.
 *
 * The package resolves a name by scanning providers and models in order and evaluating match rules (string tests
 * and regular expressions) on every call — tens of microseconds, too slow for a router that prices every candidate
 * of every request. Most models are matched by exact names, so we index those names once. An index hit is exactly
 * what the package would return: a name is indexed only for the first model that would match it. Everything the
 * index does not know (prefix/regex rules, dated aliases, fallback providers, providers added by a newer data
 * release) still goes through the package's own `calcPrice`, so correctness never depends on the index.
 *
 * The index is built lazily on the first lookup and never changes afterwards. It is module-level on purpose: it is
 * a pure function of the bundled, immutable price data (the remote update is never enabled), so sharing it cannot
 * leak state between layers or tests.
 *
 * @internal
 */
import { calcPrice, findProvider, type MatchLogic, type ModelInfo, type Provider } from "@pydantic/genai-prices"

/** A resolved model: the provider whose price list holds it and its record there. */
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
  moonshot: "moonshotai",
  zhipu: "zhipuai",
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

const matches = (logic: MatchLogic, name: string): boolean => {
  if ("or" in logic) return logic.or.some((inner) => matches(inner, name))
  if ("and" in logic) return logic.and.every((inner) => matches(inner, name))
  if ("equals" in logic) return name === logic.equals.toLowerCase()
  if ("starts_with" in logic) return name.startsWith(logic.starts_with.toLowerCase())
  if ("ends_with" in logic) return name.endsWith(logic.ends_with.toLowerCase())
  if ("contains" in logic) return name.includes(logic.contains.toLowerCase())
  if ("regex" in logic) return new RegExp(logic.regex).test(name)
  return false
}

// The names a rule matches exactly, or undefined when it also matches names it does not spell out.
const exactNames = (logic: MatchLogic): ReadonlyArray<string> | undefined => {
  if ("equals" in logic) return [logic.equals.toLowerCase()]
  if ("or" in logic) {
    const names: Array<string> = []
    for (const inner of logic.or) {
      const more = exactNames(inner)
      if (more === undefined) return undefined
      names.push(...more)
    }
    return names
  }
  return undefined
}

interface Index {
  readonly providers: ReadonlyMap<string, Provider>
  readonly byProvider: ReadonlyMap<string, ReadonlyMap<string, Resolved>>
  readonly bare: ReadonlyMap<string, Resolved>
}

const buildIndex = (): Index => {
  const providers = new Map<string, Provider>()
  const byProvider = new Map<string, ReadonlyMap<string, Resolved>>()
  for (const id of indexedProviders) {
    const provider = findProvider({ providerId: id })
    if (provider === undefined || provider.id !== id) continue
    providers.set(id, provider)
    const names = new Map<string, Resolved>()
    const loose: Array<MatchLogic> = []
    for (const model of provider.models) {
      const exact = exactNames(model.match)
      if (exact === undefined) {
        loose.push(model.match)
        continue
      }
      for (const name of exact) {
        // The package takes the first model that matches; an earlier loose rule may claim this name.
        if (!names.has(name) && !loose.some((rule) => matches(rule, name))) names.set(name, { provider, model })
      }
    }
    byProvider.set(id, names)
  }
  const bare = new Map<string, Resolved>()
  for (const names of byProvider.values()) {
    for (const name of names.keys()) {
      if (bare.has(name)) continue
      // A bare name belongs to the first provider whose model rule claims it, as in the package.
      const owner = findProvider({ modelId: name })
      const hit = owner && byProvider.get(owner.id)?.get(name)
      if (hit !== undefined) bare.set(name, hit)
    }
  }
  // Names no provider's rule claims (`text-embedding-3-small`, `meta-llama/Llama-3.3-70B-Instruct-Turbo`): the
  // package gives up on them; the first provider in our order that lists the name exactly is a better answer.
  for (const names of byProvider.values()) {
    for (const [name, hit] of names) {
      if (!bare.has(name) && findProvider({ modelId: name }) === undefined) bare.set(name, hit)
    }
  }
  for (const [alias, id] of Object.entries(providerAliases)) {
    const provider = providers.get(id)
    if (provider !== undefined) providers.set(alias, provider)
  }
  return { providers, byProvider, bare }
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

/** The genai-prices provider for one of our provider ids, or undefined when the data has no such provider. */
export const providerFor = (id: string): Provider | undefined => {
  const key = id.toLowerCase().trim()
  // "litellm" makes the package guess the provider from the model; here a provider id means that provider.
  if (key === "" || key === "litellm") return undefined
  return getIndex().providers.get(key) ?? findProvider({ providerId: providerAliases[key] ?? key })
}

/** Resolves `model` within one provider's price list (including the provider's fallback providers). */
export const resolveIn = (provider: Provider, model: string): Resolved | undefined => {
  const name = model.toLowerCase().trim()
  return getIndex().byProvider.get(provider.id)?.get(name) ?? slowResolve(name, provider.id)
}

/** Resolves a bare model name the way the package does: the first provider whose model rule claims the name. */
export const resolveBare = (model: string): Resolved | undefined => {
  const name = model.toLowerCase().trim()
  return getIndex().bare.get(name) ?? slowResolve(name, undefined)
}

/**
 * Resolves `provider/model` (our provider id, or genai-prices' own) or a bare model name. When the prefix is not
 * a known provider, or that provider does not list the model, the whole name is tried as a bare model id, since
 * many model ids carry an organisation prefix (`meta-llama/Llama-3.3-70B-Instruct`).
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
