/**
 * `LlmService` — the one service every provider, middleware and router provides. A deployment is a
 * `Layer<LlmService>`; a middleware is a `Layer<LlmService, E, LlmService>`; a router turns many deployments into one.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type * as Chat from "./Chat.js"
import type * as Embedding from "./Embedding.js"
import * as LiterLlmError from "./LiterLlmError.js"
import type * as Models from "./Models.js"

/**
 * The operations of an LLM service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** A chat completion, answered whole. */
  readonly chat: (
    request: Chat.ChatCompletionRequest
  ) => Effect.Effect<Chat.ChatCompletionResponse, LiterLlmError.LiterLlmError>
  /** A chat completion, streamed chunk by chunk; interrupting the stream cancels the request. */
  readonly chatStream: (
    request: Chat.ChatCompletionRequest
  ) => Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>
  /** Embeddings of one or more inputs. */
  readonly embed: (
    request: Embedding.EmbeddingRequest
  ) => Effect.Effect<Embedding.EmbeddingResponse, LiterLlmError.LiterLlmError>
  /** The models the service offers. */
  readonly listModels: Effect.Effect<Models.ModelList, LiterLlmError.LiterLlmError>
}

/**
 * The tag of the LLM service.
 *
 * @since 0.1.0
 * @category tags
 */
export class LlmService extends Context.Tag("effect-liter-llm/LlmService")<LlmService, Service>() {}

/**
 * Sends a chat completion through the `LlmService` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const chat = (
  request: Chat.ChatCompletionRequest
): Effect.Effect<Chat.ChatCompletionResponse, LiterLlmError.LiterLlmError, LlmService> =>
  Effect.flatMap(LlmService, (service) => service.chat(request))

/**
 * Streams a chat completion through the `LlmService` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const chatStream = (
  request: Chat.ChatCompletionRequest
): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError, LlmService> =>
  Stream.unwrap(Effect.map(LlmService, (service) => service.chatStream(request)))

/**
 * Embeds inputs through the `LlmService` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const embed = (
  request: Embedding.EmbeddingRequest
): Effect.Effect<Embedding.EmbeddingResponse, LiterLlmError.LiterLlmError, LlmService> =>
  Effect.flatMap(LlmService, (service) => service.embed(request))

/**
 * Lists the models of the `LlmService` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listModels: Effect.Effect<Models.ModelList, LiterLlmError.LiterLlmError, LlmService> = Effect.flatMap(
  LlmService,
  (service) => service.listModels
)

/**
 * Builds a service from the operations it supports; the ones left out fail with `EndpointNotSupported`, naming
 * `provider` (default `"custom"`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (operations: Partial<Service> & { readonly provider?: string | undefined }): Service => {
  const provider = operations.provider ?? "custom"
  const unsupported = (endpoint: string) => new LiterLlmError.EndpointNotSupported({ endpoint, provider })
  return {
    chat: operations.chat ?? (() => Effect.fail(unsupported("chat"))),
    chatStream: operations.chatStream ?? (() => Stream.fail(unsupported("chatStream"))),
    embed: operations.embed ?? (() => Effect.fail(unsupported("embed"))),
    listModels: operations.listModels ?? Effect.fail(unsupported("listModels"))
  }
}

/**
 * A layer providing a service built by {@link make}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  operations: Partial<Service> & { readonly provider?: string | undefined }
): Layer.Layer<LlmService> => Layer.succeed(LlmService, make(operations))
