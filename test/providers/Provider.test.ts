import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Chat from "../../src/Chat.js"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import * as LlmService from "../../src/LlmService.js"
import * as Provider from "../../src/providers/Provider.js"

const request: Chat.ChatCompletionRequest = { model: "ignored", messages: [{ role: "user", content: "hi" }] }

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const build = (spec: string, options?: Provider.Options) =>
  Provider.make(spec, options).pipe(Effect.provide(FetchHttpClient.layer))

describe("Provider.resolve", () => {
  it.effect("resolves provider/model names, aliases and bare model prefixes", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, string, string | undefined]> = [
        ["groq/llama-3.1-8b-instant", "groq", "llama-3.1-8b-instant"],
        ["openrouter/anthropic/claude-3.5-sonnet", "openrouter", "anthropic/claude-3.5-sonnet"],
        ["together_ai/meta-llama/Llama-3.3-70B", "together", "meta-llama/Llama-3.3-70B"],
        ["groq", "groq", undefined],
        ["gpt-4o-mini", "openai", "gpt-4o-mini"],
        ["o3-mini", "openai", "o3-mini"],
        ["claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"],
        ["gemini-2.5-flash", "gemini", "gemini-2.5-flash"],
        ["grok-3", "xai", "grok-3"],
        ["deepseek-chat", "deepseek", "deepseek-chat"],
        ["lmstudio/qwen2.5", "lm_studio", "qwen2.5"],
        ["llama.cpp/any", "llamacpp", "any"]
      ]
      for (const [spec, provider, model] of cases) {
        const resolved = yield* Provider.resolve(spec)
        expect([spec, resolved.provider.name, resolved.model]).toEqual([spec, provider, model])
      }
      const unknown = yield* Effect.flip(Provider.resolve("mystery-model-9"))
      expect(unknown._tag).toBe("BadRequest")
      expect(unknown.message).toContain("mystery-model-9")
    })
  )

  it("has at least 25 providers with unique names and valid base URLs", () => {
    const names = Provider.builtins.flatMap((p) => [p.name, ...(p.aliases ?? [])])
    expect(Provider.builtins.length).toBeGreaterThanOrEqual(25)
    expect(new Set(names).size).toBe(names.length)
    for (const required of ["openai", "azure", "groq", "together", "fireworks", "deepseek", "mistral", "openrouter"]) {
      expect(names).toContain(required)
    }
    for (const required of [
      "xai",
      "perplexity",
      "cerebras",
      "deepinfra",
      "cohere",
      "nvidia",
      "sambanova",
      "moonshot"
    ]) {
      expect(names).toContain(required)
    }
    for (const required of ["ollama", "vllm", "lm_studio", "llamacpp", "anthropic", "gemini"]) {
      expect(names).toContain(required)
    }
    for (const p of Provider.builtins.filter((p) => p.kind !== "azure")) {
      expect(() => new URL(p.baseUrl)).not.toThrow()
    }
  })

  it.effect("custom providers come first and can replace a built-in one", () =>
    Effect.gen(function* () {
      const mine: Provider.Info = { name: "groq", baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: "MY_GROQ_KEY" }
      const resolved = yield* Provider.resolve("groq/x", [mine])
      expect(resolved.provider.apiKeyEnv).toBe("MY_GROQ_KEY")
    })
  )
})

describe("Provider.layer over loopback", () => {
  it.scoped("sends to the provider's URL with its key from the environment, prefix stripped", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({ script: { reply: "from groq" } })
      const service = yield* build("groq/llama-3.1-8b-instant").pipe(
        withEnv({ GROQ_API_KEY: "gsk-secret", GROQ_BASE_URL: upstream.baseUrl })
      )
      const response = yield* service.chat(request)
      expect(response.choices[0]!.message.content).toBe("from groq")
      const [received] = yield* upstream.requests
      expect(received!.url).toBe("/v1/chat/completions")
      expect((received!.body as { model: string }).model).toBe("llama-3.1-8b-instant")
      expect(received!.headers["authorization"]).toBe("Bearer gsk-secret")
    })
  )

  it.scoped("a provider-only name strips the prefix from each request's model", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make()
      const service = yield* build("groq", { apiKey: Redacted.make("k"), baseUrl: upstream.baseUrl })
      yield* service.chat({ ...request, model: "groq/llama-3.3-70b-versatile" })
      expect(((yield* upstream.requests)[0]!.body as { model: string }).model).toBe("llama-3.3-70b-versatile")
    })
  )

  it.effect("a missing key is Authentication at construction, naming the variable", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(build("mistral/mistral-small-latest").pipe(withEnv({})))
      expect(error._tag).toBe("Authentication")
      expect(error.message).toContain("MISTRAL_API_KEY")
      const claude = yield* Effect.flip(build("claude-sonnet-4-5").pipe(withEnv({})))
      expect(claude.message).toContain("ANTHROPIC_API_KEY")
      const blank = yield* Effect.flip(build("groq/llama-3.1-8b-instant").pipe(withEnv({ GROQ_API_KEY: " " })))
      expect(blank._tag).toBe("Authentication")
      expect(blank.message).toContain("GROQ_API_KEY")
    })
  )

  it.scoped("local servers need no key", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make()
      const service = yield* build("ollama/llama3.2").pipe(withEnv({ OLLAMA_BASE_URL: upstream.baseUrl }))
      yield* service.listModels
      const [received] = yield* upstream.requests
      expect(received!.url).toBe("/v1/models")
      expect(received!.headers["authorization"]).toBeUndefined()
    })
  )

  it.scoped("azure uses the deployment path, api-version and the api-key header", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make()
      const service = yield* build("azure/my-gpt4o").pipe(
        withEnv({ AZURE_API_KEY: "az-secret", AZURE_API_BASE: upstream.url, AZURE_API_VERSION: "2025-01-01-preview" })
      )
      yield* service.chat(request)
      const [received] = yield* upstream.requests
      expect(received!.url).toBe("/openai/deployments/my-gpt4o/chat/completions?api-version=2025-01-01-preview")
      expect(received!.headers["api-key"]).toBe("az-secret")
      expect(received!.headers["authorization"]).toBeUndefined()
      const noBase = yield* Effect.flip(build("azure/x").pipe(withEnv({ AZURE_API_KEY: "k" })))
      expect(noBase.message).toContain("AZURE_API_BASE")
    })
  )

  it.scoped("anthropic names resolve to the native client", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make({ script: { reply: "native" } })
      const service = yield* build("anthropic/claude-3-5-haiku-latest", {
        apiKey: Redacted.make("ak"),
        baseUrl: upstream.url
      })
      const response = yield* service.chat(request)
      expect(response.choices[0]!.message.content).toBe("native")
      const [received] = yield* upstream.requests
      expect(received!.url).toBe("/v1/messages")
      expect((received!.body as { model: string }).model).toBe("claude-3-5-haiku-latest")
      expect(received!.headers["x-api-key"]).toBe("ak")
    })
  )

  it.scoped("custom providers through an option or a layer", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make()
      const acme: Provider.Info = { name: "acme", baseUrl: upstream.baseUrl, apiKeyEnv: "ACME_KEY" }
      const viaOption = yield* build("acme/m1", { providers: [acme] }).pipe(withEnv({ ACME_KEY: "a1" }))
      yield* viaOption.chat(request)
      const layer = Provider.layer("acme/m2").pipe(
        Layer.provide(FetchHttpClient.layer),
        Layer.provide(Provider.withProviders([acme]))
      )
      yield* LlmService.chat(request).pipe(Effect.provide(layer), withEnv({ ACME_KEY: "a2" }))
      const received = yield* upstream.requests
      expect(received.map((r) => [(r.body as { model: string }).model, r.headers["authorization"]])).toEqual([
        ["m1", "Bearer a1"],
        ["m2", "Bearer a2"]
      ])
      const unknown = yield* Effect.flip(build("acme/m3").pipe(withEnv({ ACME_KEY: "a3" })))
      expect(unknown._tag).toBe("BadRequest")
    })
  )
})
