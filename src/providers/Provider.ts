/**
 * A registry of LLM providers: resolves a `"provider/model"` name (as LiteLLM and liter-llm spell them) or a bare
 * model name with a well-known prefix (`gpt-…`, `claude-…`, `gemini-…`) to a provider — its base URL, how the API
 * key is sent and which environment variable holds it — and builds the `LlmService` for it.
 *
 * ```ts
 * const groq = Provider.layer("groq/llama-3.1-8b-instant").pipe(Layer.provide(FetchHttpClient.layer))
 * const claude = Provider.layer("claude-sonnet-4-5")            // resolves to the native Anthropic client
 * const local = Provider.layer("ollama/llama3.2")               // no key needed
 * ```
 *
 * Decisions:
 * - The provider prefix is stripped before sending: Groq receives `"llama-3.1-8b-instant"`. When the name has a
 *   model, the deployment serves only that model and replaces the `model` of every request; a name that is only a
 *   provider (`"groq"`) passes request models through, minus a `"groq/"` prefix.
 * - Keys are read through Effect's `Config` (so `ConfigProvider.fromMap` works in tests), from the provider's
 *   variable (`GROQ_API_KEY` …) unless `apiKey` is given. A missing key fails layer construction with
 *   `Authentication` naming the variable — not a 401 at the first request. Local servers (Ollama, vLLM, LM Studio,
 *   llama.cpp) need no key and use one when it is set.
 * - Every provider's base URL can be overridden by the `baseUrl` option or its `<PREFIX>_BASE_URL` variable (Azure:
 *   `AZURE_API_BASE`, the resource URL, plus `AZURE_API_VERSION`).
 * - Custom providers are data, not global state: pass them as `providers`, or provide them for a whole program
 *   with {@link withProviders}. A custom provider of the same name as a built-in one replaces it.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type * as Chat from "../Chat.js"
import type * as Embedding from "../Embedding.js"
import * as LiterLlmError from "../LiterLlmError.js"
import * as LlmService from "../LlmService.js"
import * as Anthropic from "./Anthropic.js"
import * as Gemini from "./Gemini.js"
import * as OpenAiCompatible from "./OpenAiCompatible.js"

/**
 * Which client speaks to the provider.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "openai" | "azure" | "anthropic" | "gemini"

/**
 * A provider in the registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Info {
  /** The name used before the `/` in model names, e.g. `"groq"`. */
  readonly name: string
  /** Other names accepted for it (`"together_ai"` for `"together"`). */
  readonly aliases?: ReadonlyArray<string> | undefined
  /** The client to use (default `"openai"`: OpenAI-compatible). */
  readonly kind?: Kind | undefined
  /** The base URL; for OpenAI-compatible providers it includes the version path. */
  readonly baseUrl: string
  /** The environment variable holding the API key; none for servers that need no key. */
  readonly apiKeyEnv?: string | undefined
  /** The key is used when set but not required (local servers). */
  readonly apiKeyOptional?: boolean | undefined
  /** The environment variable that overrides the base URL (default `<apiKeyEnv prefix>_BASE_URL`). */
  readonly baseUrlEnv?: string | undefined
  /** How the key is sent (default `"bearer"`). */
  readonly auth?: OpenAiCompatible.Auth | undefined
  /** Headers every request to the provider carries. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Bare model names starting with one of these resolve to this provider. */
  readonly modelPrefixes?: ReadonlyArray<string> | undefined
}

const openai = (name: string, baseUrl: string, apiKeyEnv: string | undefined, extra: Partial<Info> = {}): Info => ({
  name,
  baseUrl,
  apiKeyEnv,
  ...extra
})

/**
 * The built-in providers.
 *
 * @since 0.1.0
 * @category registry
 */
export const builtins: ReadonlyArray<Info> = [
  openai("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", {
    modelPrefixes: ["gpt-", "chatgpt-", "o1", "o3", "o4-", "text-embedding-", "omni-moderation-", "codex-"]
  }),
  {
    name: "azure",
    aliases: ["azure_openai"],
    kind: "azure",
    baseUrl: "",
    apiKeyEnv: "AZURE_API_KEY",
    baseUrlEnv: "AZURE_API_BASE",
    auth: { header: "api-key" }
  },
  {
    name: "anthropic",
    kind: "anthropic",
    baseUrl: Anthropic.defaultBaseUrl,
    apiKeyEnv: "ANTHROPIC_API_KEY",
    auth: { header: "x-api-key" },
    modelPrefixes: ["claude-"]
  },
  {
    name: "gemini",
    aliases: ["google", "google_ai_studio"],
    kind: "gemini",
    baseUrl: Gemini.defaultBaseUrl,
    apiKeyEnv: "GEMINI_API_KEY",
    auth: { header: "x-goog-api-key" },
    modelPrefixes: ["gemini-"]
  },
  openai("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
  openai("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY", { aliases: ["together_ai", "togetherai"] }),
  openai("fireworks", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", { aliases: ["fireworks_ai"] }),
  openai("deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", { modelPrefixes: ["deepseek-"] }),
  openai("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", {
    modelPrefixes: ["mistral-", "open-mistral-", "codestral-", "ministral-", "magistral-", "pixtral-", "devstral-"]
  }),
  openai("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
  openai("xai", "https://api.x.ai/v1", "XAI_API_KEY", { modelPrefixes: ["grok-"] }),
  openai("perplexity", "https://api.perplexity.ai", "PERPLEXITY_API_KEY", { modelPrefixes: ["sonar"] }),
  openai("cerebras", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY"),
  openai("deepinfra", "https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY"),
  openai("cohere", "https://api.cohere.ai/compatibility/v1", "COHERE_API_KEY", {
    modelPrefixes: ["command-", "embed-english-", "embed-multilingual-", "embed-v4"]
  }),
  openai("nvidia", "https://integrate.api.nvidia.com/v1", "NVIDIA_API_KEY", { aliases: ["nvidia_nim"] }),
  openai("sambanova", "https://api.sambanova.ai/v1", "SAMBANOVA_API_KEY"),
  openai("moonshot", "https://api.moonshot.ai/v1", "MOONSHOT_API_KEY", { modelPrefixes: ["kimi-", "moonshot-"] }),
  openai("huggingface", "https://router.huggingface.co/v1", "HF_TOKEN", { baseUrlEnv: "HUGGINGFACE_BASE_URL" }),
  openai("novita", "https://api.novita.ai/v3/openai", "NOVITA_API_KEY"),
  openai("hyperbolic", "https://api.hyperbolic.xyz/v1", "HYPERBOLIC_API_KEY"),
  openai("nebius", "https://api.studio.nebius.com/v1", "NEBIUS_API_KEY"),
  openai("github", "https://models.github.ai/inference", "GITHUB_TOKEN", { baseUrlEnv: "GITHUB_MODELS_BASE_URL" }),
  openai("dashscope", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY", {
    aliases: ["qwen"],
    modelPrefixes: ["qwen-", "qwq-"]
  }),
  openai("zai", "https://api.z.ai/api/paas/v4", "ZAI_API_KEY", { aliases: ["zhipu"], modelPrefixes: ["glm-"] }),
  openai("lambda", "https://api.lambda.ai/v1", "LAMBDA_API_KEY"),
  openai("featherless", "https://api.featherless.ai/v1", "FEATHERLESS_API_KEY"),
  openai("ai21", "https://api.ai21.com/studio/v1", "AI21_API_KEY", { modelPrefixes: ["jamba-"] }),
  openai("ollama", "http://localhost:11434/v1", "OLLAMA_API_KEY", {
    apiKeyOptional: true,
    aliases: ["ollama_chat"]
  }),
  openai("vllm", "http://localhost:8000/v1", "VLLM_API_KEY", { apiKeyOptional: true, aliases: ["hosted_vllm"] }),
  openai("lm_studio", "http://localhost:1234/v1", "LM_STUDIO_API_KEY", {
    apiKeyOptional: true,
    aliases: ["lmstudio", "lm-studio"]
  }),
  openai("llamacpp", "http://localhost:8080/v1", "LLAMACPP_API_KEY", {
    apiKeyOptional: true,
    aliases: ["llama.cpp", "llama_cpp", "llama-cpp"]
  })
]

/**
 * Custom providers visible to {@link layer} and {@link make} (besides the `providers` option); empty by default.
 *
 * @since 0.1.0
 * @category registry
 */
export class CustomProviders extends Context.Reference<CustomProviders>()("effect-liter-llm/Provider/CustomProviders", {
  defaultValue: (): ReadonlyArray<Info> => []
}) {}

/**
 * Makes custom providers known to every `Provider.layer` built under this layer.
 *
 * @since 0.1.0
 * @category registry
 */
export const withProviders = (providers: ReadonlyArray<Info>): Layer.Layer<CustomProviders> =>
  Layer.succeed(CustomProviders, providers)

/**
 * The result of resolving a name.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolved {
  readonly provider: Info
  /** The model sent on the wire, without the provider prefix; `undefined` when the name was only a provider. */
  readonly model: string | undefined
}

const matches = (info: Info, name: string) => info.name === name || (info.aliases ?? []).includes(name)

/**
 * Resolves `"provider/model"`, `"provider"` or a bare model name with a known prefix. Custom providers come first.
 *
 * @since 0.1.0
 * @category registry
 */
export const resolve = (
  spec: string,
  providers: ReadonlyArray<Info> = []
): Effect.Effect<Resolved, LiterLlmError.BadRequest> =>
  Effect.suspend(() => {
    const all = [...providers, ...builtins]
    const lower = spec.toLowerCase()
    const slash = spec.indexOf("/")
    const head = slash === -1 ? lower : lower.slice(0, slash)
    const named = all.find((info) => matches(info, head))
    if (named !== undefined) {
      const model = slash === -1 ? undefined : spec.slice(slash + 1)
      return Effect.succeed({ provider: named, model: model === "" ? undefined : model })
    }
    const byPrefix = all.find((info) => (info.modelPrefixes ?? []).some((prefix) => lower.startsWith(prefix)))
    if (byPrefix !== undefined) return Effect.succeed({ provider: byPrefix, model: spec })
    return Effect.fail(
      new LiterLlmError.BadRequest({
        message: `no provider is known for "${spec}"; write it as "<provider>/<model>" with one of: ${all
          .map((info) => info.name)
          .join(", ")} — or register a custom provider`
      })
    )
  })

/**
 * Options of {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The API key; read from the provider's environment variable when absent. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Overrides the provider's base URL (Azure: the resource URL, `https://<resource>.openai.azure.com`). */
  readonly baseUrl?: string | undefined
  /** Extra headers for every request. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Per-request timeout. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Custom providers, consulted before the built-in ones. */
  readonly providers?: ReadonlyArray<Info> | undefined
  /** Azure's `api-version` (default from `AZURE_API_VERSION`, else `2024-10-21`). */
  readonly apiVersion?: string | undefined
  /** The largest successful JSON body read, in bytes (default 64 MiB). */
  readonly maxBodySize?: number | undefined
  /** Cap on one server-sent event, in characters (default 1 MiB). */
  readonly maxEventSize?: number | undefined
}

/**
 * Azure's default `api-version`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAzureApiVersion = "2024-10-21"

const envPrefix = (info: Info) =>
  info.apiKeyEnv === undefined ? info.name.toUpperCase() : info.apiKeyEnv.replace(/_(API_KEY|TOKEN)$/, "")

const readOptional = (name: string) =>
  Effect.orElseSucceed(Config.option(Config.string(name)), () => Option.none<string>())

/** The key from the provider's variable; a variable set to a blank value counts as unset (else: a 401 later). */
const readKey = (info: Info) =>
  info.apiKeyEnv === undefined
    ? Effect.succeed(Option.none<Redacted.Redacted<string>>())
    : Effect.orElseSucceed(Config.option(Config.redacted(info.apiKeyEnv)), () =>
        Option.none<Redacted.Redacted<string>>()
      ).pipe(Effect.map(Option.filter((key) => Redacted.value(key).trim() !== "")))

/** Puts the resolved model into every request, or strips the provider's prefix from the request's model. */
const withModel = (service: LlmService.Service, provider: Info, model: string | undefined): LlmService.Service => {
  const prefixes = [provider.name, ...(provider.aliases ?? [])].map((name) => `${name}/`)
  const rewrite = (requested: string) => {
    if (model !== undefined) return model
    const prefix = prefixes.find((p) => requested.toLowerCase().startsWith(p))
    return prefix === undefined ? requested : requested.slice(prefix.length)
  }
  return {
    chat: (request: Chat.ChatCompletionRequest) => service.chat({ ...request, model: rewrite(request.model) }),
    chatStream: (request: Chat.ChatCompletionRequest) =>
      Stream.suspend(() => service.chatStream({ ...request, model: rewrite(request.model) })),
    embed: (request: Embedding.EmbeddingRequest) => service.embed({ ...request, model: rewrite(request.model) }),
    listModels: service.listModels,
    image: (request) => service.image({ ...request, model: rewrite(request.model) }),
    speech: (request) => service.speech({ ...request, model: rewrite(request.model) }),
    transcribe: (request) => service.transcribe({ ...request, model: rewrite(request.model) }),
    moderate: (request) => service.moderate({ ...request, model: rewrite(request.model) }),
    rerank: (request) => service.rerank({ ...request, model: rewrite(request.model) })
  }
}

/**
 * Builds the service for a provider name; needs an `HttpClient`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  spec: string,
  options: Options = {}
): Effect.Effect<
  LlmService.Service,
  LiterLlmError.Authentication | LiterLlmError.InvalidHeader | LiterLlmError.BadRequest,
  HttpClient.HttpClient
> =>
  Effect.gen(function* () {
    const custom = yield* CustomProviders
    const { model, provider } = yield* resolve(spec, [...(options.providers ?? []), ...custom])
    const apiKey = options.apiKey !== undefined ? Option.some(options.apiKey) : yield* readKey(provider)
    const native = provider.kind === "anthropic" || provider.kind === "gemini"
    const required = provider.apiKeyOptional !== true && (provider.apiKeyEnv !== undefined || native)
    if (Option.isNone(apiKey) && required) {
      return yield* Effect.fail(
        new LiterLlmError.Authentication({
          provider: provider.name,
          message: `no API key for provider "${provider.name}": ${
            provider.apiKeyEnv === undefined ? "" : `set the environment variable ${provider.apiKeyEnv} or `
          }pass apiKey`
        })
      )
    }
    const baseUrlEnv = provider.baseUrlEnv ?? `${envPrefix(provider)}_BASE_URL`
    const baseUrl = options.baseUrl ?? Option.getOrUndefined(yield* readOptional(baseUrlEnv)) ?? provider.baseUrl
    const key = Option.getOrUndefined(apiKey)
    const headers = { ...provider.headers, ...options.headers }
    const limits = { maxBodySize: options.maxBodySize, maxEventSize: options.maxEventSize }

    switch (provider.kind ?? "openai") {
      // `required` above guarantees a key for the native clients.
      case "anthropic":
        return withModel(
          yield* Anthropic.make({ apiKey: key!, baseUrl, headers, timeout: options.timeout, ...limits }),
          provider,
          model
        )
      case "gemini":
        return withModel(
          yield* Gemini.make({ apiKey: key!, baseUrl, headers, timeout: options.timeout, ...limits }),
          provider,
          model
        )
      case "azure": {
        if (baseUrl === "") {
          return yield* Effect.fail(
            new LiterLlmError.BadRequest({
              provider: provider.name,
              message: `Azure needs the resource URL: set ${baseUrlEnv} (https://<resource>.openai.azure.com) or pass baseUrl`
            })
          )
        }
        if (model === undefined) {
          return yield* Effect.fail(
            new LiterLlmError.BadRequest({
              provider: provider.name,
              message: `Azure needs a deployment name: write "azure/<deployment>"`
            })
          )
        }
        const apiVersion =
          options.apiVersion ??
          Option.getOrUndefined(yield* readOptional("AZURE_API_VERSION")) ??
          defaultAzureApiVersion
        return yield* OpenAiCompatible.make({
          baseUrl: `${baseUrl.replace(/\/+$/, "")}/openai/deployments/${encodeURIComponent(model)}`,
          apiKey: key,
          auth: provider.auth ?? { header: "api-key" },
          headers,
          provider: provider.name,
          model,
          urlParams: { "api-version": apiVersion },
          timeout: options.timeout,
          ...limits
        })
      }
      case "openai":
        return yield* OpenAiCompatible.make({
          baseUrl,
          apiKey: key,
          auth: key === undefined ? "none" : provider.auth,
          headers,
          provider: provider.name,
          model,
          timeout: options.timeout,
          ...limits
        })
    }
  })

/**
 * A layer providing `LlmService` for a provider name, e.g. `Provider.layer("groq/llama-3.1-8b-instant")`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  spec: string,
  options: Options = {}
): Layer.Layer<
  LlmService.LlmService,
  LiterLlmError.Authentication | LiterLlmError.InvalidHeader | LiterLlmError.BadRequest,
  HttpClient.HttpClient
> => Layer.effect(LlmService.LlmService, make(spec, options))
