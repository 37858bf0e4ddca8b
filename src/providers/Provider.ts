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
import * as LiterLlmError from "../LiterLlmError.js"
import * as LlmService from "../LlmService.js"
import * as Registry from "../internal/providerRegistry.js"
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

/**
 * The built-in providers.
 *
 * @since 0.1.0
 * @category registry
 */
export const builtins: ReadonlyArray<Info> = Registry.builtins

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

/**
 * Resolves `"provider/model"`, `"provider"` or a bare model name with a known prefix. Custom providers come first.
 *
 * @since 0.1.0
 * @category registry
 */
export const resolve: (
  spec: string,
  providers?: ReadonlyArray<Info>
) => Effect.Effect<Resolved, LiterLlmError.BadRequest> = Registry.resolve

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
        return Registry.withModel(
          yield* Anthropic.make({ apiKey: key!, baseUrl, headers, timeout: options.timeout, ...limits }),
          provider,
          model
        )
      case "gemini":
        return Registry.withModel(
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
