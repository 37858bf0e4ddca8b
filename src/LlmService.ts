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
import type * as Image from "./Image.js"
import * as LiterLlmError from "./LiterLlmError.js"
import type * as Models from "./Models.js"
import type * as Moderation from "./Moderation.js"
import type * as Rerank from "./Rerank.js"
import type * as Speech from "./Speech.js"
import type * as Transcription from "./Transcription.js"

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
  /** Generates images from a prompt. */
  readonly image: (request: Image.ImageRequest) => Effect.Effect<Image.ImageResponse, LiterLlmError.LiterLlmError>
  /**
   * Speaks a text: succeeds once the provider answered, with the audio's content type and a stream of its bytes
   * (interrupting the stream cancels the request).
   */
  readonly speech: (request: Speech.SpeechRequest) => Effect.Effect<Speech.SpeechResponse, LiterLlmError.LiterLlmError>
  /** Transcribes an audio file. */
  readonly transcribe: (
    request: Transcription.TranscriptionRequest
  ) => Effect.Effect<Transcription.TranscriptionResponse, LiterLlmError.LiterLlmError>
  /** Classifies inputs for policy violations. */
  readonly moderate: (
    request: Moderation.ModerationRequest
  ) => Effect.Effect<Moderation.ModerationResponse, LiterLlmError.LiterLlmError>
  /** Orders documents by relevance to a query. */
  readonly rerank: (request: Rerank.RerankRequest) => Effect.Effect<Rerank.RerankResponse, LiterLlmError.LiterLlmError>
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
 * Generates images through the `LlmService` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const image = (
  request: Image.ImageRequest
): Effect.Effect<Image.ImageResponse, LiterLlmError.LiterLlmError, LlmService> =>
  Effect.flatMap(LlmService, (service) => service.image(request))

/**
 * Speaks a text through the `LlmService` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const speech = (
  request: Speech.SpeechRequest
): Effect.Effect<Speech.SpeechResponse, LiterLlmError.LiterLlmError, LlmService> =>
  Effect.flatMap(LlmService, (service) => service.speech(request))

/**
 * Transcribes audio through the `LlmService` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const transcribe = (
  request: Transcription.TranscriptionRequest
): Effect.Effect<Transcription.TranscriptionResponse, LiterLlmError.LiterLlmError, LlmService> =>
  Effect.flatMap(LlmService, (service) => service.transcribe(request))

/**
 * Moderates inputs through the `LlmService` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const moderate = (
  request: Moderation.ModerationRequest
): Effect.Effect<Moderation.ModerationResponse, LiterLlmError.LiterLlmError, LlmService> =>
  Effect.flatMap(LlmService, (service) => service.moderate(request))

/**
 * Reranks documents through the `LlmService` in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const rerank = (
  request: Rerank.RerankRequest
): Effect.Effect<Rerank.RerankResponse, LiterLlmError.LiterLlmError, LlmService> =>
  Effect.flatMap(LlmService, (service) => service.rerank(request))

/**
 * The operations of a service, by name: what `EndpointNotSupported.endpoint` and routing facts call them.
 *
 * @since 0.2.0
 * @category models
 */
export type Operation = keyof Service

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
    listModels: operations.listModels ?? Effect.fail(unsupported("listModels")),
    image: operations.image ?? (() => Effect.fail(unsupported("image"))),
    speech: operations.speech ?? (() => Effect.fail(unsupported("speech"))),
    transcribe: operations.transcribe ?? (() => Effect.fail(unsupported("transcribe"))),
    moderate: operations.moderate ?? (() => Effect.fail(unsupported("moderate"))),
    rerank: operations.rerank ?? (() => Effect.fail(unsupported("rerank")))
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
