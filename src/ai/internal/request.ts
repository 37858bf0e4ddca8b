/**
 * The chat-completion request for one `LanguageModel` call: the settings (layer config, then the `EffectAi.Config`
 * in context, later ones winning), the prompt's messages, the tools and the answer's format, checked by the same
 * `Validate.chat` every provider runs — so a bad setting fails here, before anything is sent, naming the field.
 */
import * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Telemetry from "@effect/ai/Telemetry"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Chat from "../../Chat.js"
import * as Validate from "../../internal/validate.js"
import { type Site, toAiError } from "./errors.js"
import * as Prompt from "./prompt.js"
import * as Tools from "./tools.js"

/** Request fields a config may set: everything but what the call itself decides. */
export type Settings = Partial<
  Omit<
    Chat.ChatCompletionRequest,
    "messages" | "tools" | "tool_choice" | "response_format" | "stream" | "stream_options"
  >
> & {
  /** Send tool and output schemas with `strict: true` (default `true`). */
  readonly strict?: boolean | undefined
}

const malformed = (method: string, description: string) =>
  new AiError.MalformedInput({ module: "EffectAi", method, description })

/**
 * Builds and checks the request; fails with `MalformedInput` naming what cannot be sent.
 */
export const make = (
  options: LanguageModel.ProviderOptions,
  settings: Settings & { readonly model: string },
  site: Site
): Effect.Effect<Chat.ChatCompletionRequest, AiError.AiError> => {
  const { strict, ...fields } = settings
  const messages = Prompt.toMessages(options.prompt)
  if (Either.isLeft(messages)) return Effect.fail(malformed(site.method, messages.left))
  const tools = Tools.toolFields(options, strict ?? true)
  if (Either.isLeft(tools)) return Effect.fail(malformed(site.method, tools.left))
  const request: Chat.ChatCompletionRequest = { ...fields, messages: messages.right, ...tools.right }
  return Validate.chat(request).pipe(
    Effect.mapError((error) => toAiError(error, site)),
    Effect.as(request)
  )
}

/**
 * Puts the request's GenAI attributes on @effect/ai's span for the call.
 */
export const annotateRequest = (options: LanguageModel.ProviderOptions, request: Chat.ChatCompletionRequest) =>
  Effect.sync(() =>
    Telemetry.addGenAIAnnotations(options.span, {
      system: "effect-liter-llm",
      operation: { name: "chat" },
      request: {
        model: request.model,
        temperature: request.temperature ?? undefined,
        topP: request.top_p ?? undefined,
        maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
        seed: request.seed ?? undefined,
        stopSequences: typeof request.stop === "string" ? [request.stop] : (request.stop ?? undefined)
      }
    })
  )

/**
 * Puts the answer's GenAI attributes on @effect/ai's span for the call.
 */
export const annotateResponse = (
  options: LanguageModel.ProviderOptions,
  response: { readonly id?: string; readonly model?: string; readonly finishReason?: string },
  usage: { readonly inputTokens?: number | undefined; readonly outputTokens?: number | undefined }
) =>
  Effect.sync(() =>
    Telemetry.addGenAIAnnotations(options.span, {
      response: {
        id: response.id,
        model: response.model,
        finishReasons: response.finishReason === undefined ? undefined : [response.finishReason]
      },
      usage: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens }
    })
  )
