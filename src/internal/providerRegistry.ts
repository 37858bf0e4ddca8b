/**
 * The built-in provider table, name resolution over it, and the model rewrite a resolved provider applies to its
 * requests: the naming side of `Provider.ts`, which keeps reading keys and base URLs and building the client.
 *
 * Decisions:
 * - The table is data: a provider is an `Info` record, most of them OpenAI-compatible and written with one helper.
 * - Custom providers come before built-in ones in `resolve`, so one of the same name replaces the built-in one.
 * - A `"provider/model"` name wins over a model prefix; a bare name goes to the first provider claiming its prefix.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Chat from "../Chat.js"
import type * as Embedding from "../Embedding.js"
import * as LiterLlmError from "../LiterLlmError.js"
import type * as LlmService from "../LlmService.js"
import * as Anthropic from "../providers/Anthropic.js"
import * as Gemini from "../providers/Gemini.js"
import type { Info, Resolved } from "../providers/Provider.js"

const openai = (name: string, baseUrl: string, apiKeyEnv: string | undefined, extra: Partial<Info> = {}): Info => ({
  name,
  baseUrl,
  apiKeyEnv,
  ...extra
})

/** The built-in providers (public as `Provider.builtins`). */
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

const matches = (info: Info, name: string) => info.name === name || (info.aliases ?? []).includes(name)

/** Resolves a name against custom providers, then the built-in ones (public as `Provider.resolve`). */
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

/** Puts the resolved model into every request, or strips the provider's prefix from the request's model. */
export const withModel = (
  service: LlmService.Service,
  provider: Info,
  model: string | undefined
): LlmService.Service => {
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
