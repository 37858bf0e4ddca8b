/**
 * How a request's generation settings (`temperature`, `max_tokens`, `stop`, …) reach an @effect/ai model.
 *
 * @effect/ai 0.37 has no provider-neutral settings: each provider reads its own config tag
 * (`OpenAiLanguageModel.Config`, `AnthropicLanguageModel.Config`) from the context of the call, over the config its
 * layer was built with. For those two providers the settings are written into that tag here, merged over whatever
 * the caller's context already holds. The tags are looked up by their published keys, so this module does not load
 * either provider package: a deployment over Anthropic must not require @effect/ai-openai to be installed.
 *
 * A field the provider cannot express fails the request with a `BadRequest` naming it (unless the deployment was
 * built with `dropUnsupported`), rather than answering as if it had been honoured; so do fields no @effect/ai model
 * can express whatever the provider (`n` above 1, `logit_bias`, `logprobs`, audio output …).
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Chat from "../../Chat.js"
import * as LiterLlmError from "../../LiterLlmError.js"

/**
 * Runs an effect with a request's settings in place.
 *
 * @since 0.2.0
 * @category models
 */
export type Apply = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

type Config = Record<string, unknown>
type Writer = (config: Config, value: unknown) => void

const to =
  (name: string): Writer =>
  (config, value) => {
    config[name] = value
  }

/** The request fields that shape the call itself rather than the model's sampling; handled elsewhere. */
const structural = new Set(["model", "messages", "tools", "tool_choice", "stream", "stream_options", "response_format"])

/** Fields no @effect/ai language model can express, whatever the provider. */
const alwaysUnsupported = new Set(["n", "logit_bias", "logprobs", "audio", "modalities", "prediction", "extra_body"])

const identity: Apply = (effect) => effect

/** The fields the OpenAI Responses API takes, by their chat-completion names. */
const openAi: Record<string, Writer> = {
  temperature: to("temperature"),
  top_p: to("top_p"),
  max_tokens: to("max_output_tokens"),
  max_completion_tokens: to("max_output_tokens"),
  top_logprobs: to("top_logprobs"),
  user: to("user"),
  parallel_tool_calls: to("parallel_tool_calls"),
  reasoning_effort: (config, value) => {
    config.reasoning = { effort: value }
  },
  verbosity: (config, value) => {
    config.text = { verbosity: value }
  },
  service_tier: to("service_tier"),
  metadata: to("metadata"),
  store: to("store"),
  safety_identifier: to("safety_identifier"),
  prompt_cache_key: to("prompt_cache_key"),
  prompt_cache_retention: to("prompt_cache_retention")
}

/** The fields Anthropic's messages API takes, by their chat-completion names. */
const anthropic: Record<string, Writer> = {
  temperature: to("temperature"),
  top_p: to("top_p"),
  max_tokens: to("max_tokens"),
  max_completion_tokens: to("max_tokens"),
  stop: (config, value) => {
    config.stop_sequences = typeof value === "string" ? [value] : value
  },
  user: (config, value) => {
    config.metadata = { user_id: value }
  },
  parallel_tool_calls: (config, value) => {
    config.disableParallelToolCalls = value === false
  }
}

/** Each provider's config tag, by the key its package publishes it under, and the fields it takes. */
const providers: Record<
  string,
  { readonly tag: Context.Tag<Config, Config>; readonly writers: Record<string, Writer> }
> = {
  openai: { tag: Context.GenericTag<Config>("@effect/ai-openai/OpenAiLanguageModel/Config"), writers: openAi },
  anthropic: {
    tag: Context.GenericTag<Config>("@effect/ai-anthropic/AnthropicLanguageModel/Config"),
    writers: anthropic
  }
}

/** Whether a field is set to something a model would have to act on (`n: 1`, `logprobs: false` ask for nothing). */
const isSet = (name: string, value: unknown): boolean => {
  if (value === undefined || value === null) return false
  if (name === "n") return value !== 1
  if (name === "logprobs") return value !== false
  if (name === "modalities") return !(Array.isArray(value) && value.every((m) => m === "text"))
  if (name === "extra_body") return typeof value === "object" && Object.keys(value).length > 0
  return true
}

/**
 * How settings are applied: built in for a known provider, by the caller's function, or not at all.
 *
 * @since 0.2.0
 * @category models
 */
export type Mode =
  | { readonly _tag: "Known"; readonly provider: string }
  | { readonly _tag: "Custom"; readonly apply: (request: Chat.ChatCompletionRequest) => Apply }
  | { readonly _tag: "None" }

/**
 * The mode for a provider name when the caller gave no function.
 *
 * @since 0.2.0
 * @category constructors
 */
export const modeFor = (provider: string): Mode =>
  providers[provider] === undefined ? { _tag: "None" } : { _tag: "Known", provider }

/**
 * The settings of a request as an {@link Apply}, or a `BadRequest` naming the first field that cannot be honoured.
 *
 * @since 0.2.0
 * @category conversion
 */
export const settingsOf = (
  provider: string,
  mode: Mode,
  dropUnsupported: boolean,
  request: Chat.ChatCompletionRequest
): Either.Either<Apply, LiterLlmError.BadRequest> => {
  const known = mode._tag === "Known" ? providers[mode.provider] : undefined
  const config: Config = {}
  for (const [name, value] of Object.entries(request)) {
    if (structural.has(name) || !isSet(name, value)) continue
    if (mode._tag === "Custom" && !alwaysUnsupported.has(name)) continue
    const write = known?.writers[name]
    if (write !== undefined) {
      write(config, value)
    } else if (!dropUnsupported) {
      return Either.left(
        new LiterLlmError.BadRequest({
          provider,
          message: `${name} cannot be passed to the @effect/ai model of deployment provider "${provider}"; remove it, or build the deployment with dropUnsupported: true to ignore such fields`
        })
      )
    }
  }
  const format = request.response_format?.type === "json_schema" ? request.response_format.json_schema : undefined
  if (mode._tag === "Known" && mode.provider === "openai" && (request.tools !== undefined || format !== undefined)) {
    // @effect/ai-openai sends every tool and output schema with strict: true unless told otherwise (one switch for
    // all); the request says per schema, so strict mode is on only when every schema asked for it.
    config.strict =
      (request.tools ?? []).every((tool) => tool.type === "function" && tool.function.strict === true) &&
      (format === undefined || format.strict === true)
  }
  if (mode._tag === "Custom") return Either.right(mode.apply(request))
  if (known === undefined || Object.keys(config).length === 0) return Either.right(identity)
  const tag = known.tag
  return Either.right((effect) =>
    Effect.flatMap(Effect.serviceOption(tag), (outer) =>
      Effect.provideService(effect, tag, { ...Option.getOrElse(outer, () => ({})), ...config })
    )
  )
}
