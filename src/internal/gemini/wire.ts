/**
 * The Gemini API's wire shapes (camelCase, unlike OpenAI): what we send (plain types) and what we receive (tolerant
 * schemas that ignore unknown fields — Gemini adds them often — and accept missing ones where Gemini omits zeros).
 */
import * as Schema from "effect/Schema"

const Nullish = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

// ---------------------------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------------------------

/**
 * One part of a request turn: text, inline or file data, a function call or its response.
 *
 * @since 0.1.0
 * @category wire
 */
export type RequestPart =
  | { readonly text: string }
  | { readonly inlineData: { readonly mimeType: string; readonly data: string } }
  | { readonly fileData: { readonly mimeType: string; readonly fileUri: string } }
  | { readonly functionCall: { readonly name: string; readonly args: unknown }; readonly thoughtSignature?: string }
  | { readonly functionResponse: { readonly name: string; readonly response: unknown } }

/**
 * One turn of the conversation sent to Gemini.
 *
 * @since 0.1.0
 * @category wire
 */
export interface Content {
  readonly role: "user" | "model"
  readonly parts: ReadonlyArray<RequestPart>
}

/**
 * A function the model may call, as Gemini declares it.
 *
 * @since 0.1.0
 * @category wire
 */
export interface FunctionDeclaration {
  readonly name: string
  readonly description?: string
  readonly parameters?: unknown
}

/**
 * Sampling, length, JSON-mode and thinking options of a request.
 *
 * @since 0.1.0
 * @category wire
 */
export interface GenerationConfig {
  readonly temperature?: number
  readonly topP?: number
  readonly maxOutputTokens?: number
  readonly stopSequences?: ReadonlyArray<string>
  readonly candidateCount?: number
  readonly presencePenalty?: number
  readonly frequencyPenalty?: number
  readonly seed?: number
  readonly responseMimeType?: string
  readonly responseSchema?: unknown
  readonly thinkingConfig?: { readonly thinkingBudget: number }
}

/**
 * The body of `generateContent` / `streamGenerateContent`; extra fields come from `extra_body`.
 *
 * @since 0.1.0
 * @category wire
 */
export interface GenerateContentRequest {
  readonly contents: ReadonlyArray<Content>
  readonly systemInstruction?: { readonly parts: ReadonlyArray<{ readonly text: string }> }
  readonly tools?: ReadonlyArray<{ readonly functionDeclarations: ReadonlyArray<FunctionDeclaration> }>
  readonly toolConfig?: {
    readonly functionCallingConfig: {
      readonly mode: "AUTO" | "ANY" | "NONE"
      readonly allowedFunctionNames?: ReadonlyArray<string>
    }
  }
  readonly generationConfig?: GenerationConfig
  readonly [extra: string]: unknown
}

// ---------------------------------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------------------------------

/**
 * One piece of a function call's streamed arguments: a JSON path and the value there.
 *
 * @since 0.1.0
 * @category wire
 */
export const PartialArg = Schema.Struct({
  jsonPath: Schema.String,
  stringValue: Nullish(Schema.String),
  numberValue: Nullish(Schema.Number),
  boolValue: Nullish(Schema.Boolean),
  /** Present (any value, `NULL_VALUE` in practice) when the value is JSON null. */
  nullValue: Schema.optional(Schema.Unknown),
  structValue: Nullish(Schema.Unknown),
  listValue: Nullish(Schema.Unknown),
  /** On a string piece: the next piece for the same path continues the string. */
  willContinue: Nullish(Schema.Boolean)
})
/** @since 0.1.0 @category wire */
export type PartialArg = typeof PartialArg.Type

/**
 * A function call. With streamed arguments (see `partialArgs.ts`) only the opening part has a name; later parts carry
 * `partialArgs`, and `willContinue` says whether more parts follow.
 *
 * @since 0.1.0
 * @category wire
 */
export const FunctionCall = Schema.Struct({
  name: Nullish(Schema.String),
  args: Schema.optional(Schema.Unknown),
  id: Nullish(Schema.String),
  partialArgs: Nullish(Schema.Array(PartialArg)),
  willContinue: Nullish(Schema.Boolean)
})

/**
 * One part of an answer's content, unknown fields ignored.
 *
 * @since 0.1.0
 * @category wire
 */
export const Part = Schema.Struct({
  text: Nullish(Schema.String),
  /** Marks a thought summary, not part of the answer. */
  thought: Nullish(Schema.Boolean),
  functionCall: Nullish(FunctionCall),
  /** Opaque; must be sent back with the function call it came with (see `thoughtSignature.ts`). */
  thoughtSignature: Nullish(Schema.String)
})
/** @since 0.1.0 @category wire */
export type Part = typeof Part.Type

/**
 * One candidate answer.
 *
 * @since 0.1.0
 * @category wire
 */
export const Candidate = Schema.Struct({
  index: Nullish(Schema.Number),
  content: Nullish(
    Schema.Struct({ parts: Schema.optionalWith(Schema.Array(Part), { default: () => [], nullable: true }) })
  ),
  finishReason: Nullish(Schema.String)
})
/** @since 0.1.0 @category wire */
export type Candidate = typeof Candidate.Type

/**
 * Gemini's token counts.
 *
 * @since 0.1.0
 * @category wire
 */
export const UsageMetadata = Schema.Struct({
  promptTokenCount: Nullish(Schema.Number),
  candidatesTokenCount: Nullish(Schema.Number),
  totalTokenCount: Nullish(Schema.Number),
  cachedContentTokenCount: Nullish(Schema.Number),
  thoughtsTokenCount: Nullish(Schema.Number),
  toolUsePromptTokenCount: Nullish(Schema.Number)
})
/** @since 0.1.0 @category wire */
export type UsageMetadata = typeof UsageMetadata.Type

/**
 * A `generateContent` answer, or one event of a stream.
 *
 * @since 0.1.0
 * @category wire
 */
export const GenerateContentResponse = Schema.Struct({
  candidates: Schema.optionalWith(Schema.Array(Candidate), { default: () => [], nullable: true }),
  usageMetadata: Nullish(UsageMetadata),
  modelVersion: Nullish(Schema.String),
  responseId: Nullish(Schema.String),
  promptFeedback: Nullish(Schema.Struct({ blockReason: Nullish(Schema.String) })),
  /** Google's error object; answers carry none, but a body or stream event reporting a failure does. */
  error: Schema.optional(Schema.Unknown)
})
/** @since 0.1.0 @category wire */
export type GenerateContentResponse = typeof GenerateContentResponse.Type

// ---------------------------------------------------------------------------------------------------------------
// Embeddings and models
// ---------------------------------------------------------------------------------------------------------------

/**
 * One content to embed in a `batchEmbedContents` request.
 *
 * @since 0.1.0
 * @category wire
 */
export interface EmbedContentRequest {
  readonly model: string
  readonly content: { readonly parts: ReadonlyArray<{ readonly text: string }> }
  readonly outputDimensionality?: number
  readonly [extra: string]: unknown
}

/**
 * The vectors of a `batchEmbedContents` answer.
 *
 * @since 0.1.0
 * @category wire
 */
export const BatchEmbedContentsResponse = Schema.Struct({
  embeddings: Schema.Array(Schema.Struct({ values: Schema.Array(Schema.Number) }))
})
/** @since 0.1.0 @category wire */
export type BatchEmbedContentsResponse = typeof BatchEmbedContentsResponse.Type

/**
 * One page of the model list.
 *
 * @since 0.1.0
 * @category wire
 */
export const ModelPage = Schema.Struct({
  models: Schema.optionalWith(
    Schema.Array(Schema.Struct({ name: Schema.String, displayName: Nullish(Schema.String) })),
    { default: () => [] }
  ),
  nextPageToken: Nullish(Schema.String)
})
/** @since 0.1.0 @category wire */
export type ModelPage = typeof ModelPage.Type
