/**
 * Wire schemas for OpenAI-compatible embeddings (`POST /embeddings`).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * What to embed: one text, several texts, one token array, or several token arrays.
 *
 * @since 0.1.0
 * @category request
 */
export const EmbeddingInput = Schema.Union(
  Schema.String,
  Schema.Array(Schema.String),
  Schema.Array(Schema.Int),
  Schema.Array(Schema.Array(Schema.Int))
)
/** @since 0.1.0 @category request */
export type EmbeddingInput = typeof EmbeddingInput.Type

/**
 * An embeddings request. Provider-specific fields go in `extra_body`.
 *
 * @since 0.1.0
 * @category request
 */
export const EmbeddingRequest = Schema.Struct({
  model: Schema.String,
  input: EmbeddingInput,
  encoding_format: Schema.optional(Schema.Literal("float", "base64")),
  dimensions: Schema.optional(Schema.Int),
  user: Schema.optional(Schema.String),
  extra_body: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
/** @since 0.1.0 @category request */
export type EmbeddingRequest = typeof EmbeddingRequest.Type

/**
 * One embedding vector; a base64 string when `encoding_format` was `"base64"`.
 *
 * @since 0.1.0
 * @category response
 */
export const EmbeddingData = Schema.Struct({
  object: Schema.optionalWith(Schema.String, { default: () => "embedding", nullable: true }),
  index: Schema.Number,
  embedding: Schema.Union(Schema.Array(Schema.Number), Schema.String)
})
/** @since 0.1.0 @category response */
export type EmbeddingData = typeof EmbeddingData.Type

/**
 * Token counts of an embeddings call; a count the server left out (or sent as `null`) decodes as 0, a missing total
 * as the prompt count.
 *
 * @since 0.1.0
 * @category response
 */
export const EmbeddingUsage = Schema.transform(
  Schema.Struct({
    prompt_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
    total_tokens: Schema.optional(Schema.NullOr(Schema.Number))
  }),
  Schema.Struct({ prompt_tokens: Schema.Number, total_tokens: Schema.Number }),
  {
    strict: true,
    decode: (wire) => {
      const prompt = wire.prompt_tokens ?? 0
      return { prompt_tokens: prompt, total_tokens: wire.total_tokens ?? prompt }
    },
    encode: (usage) => usage
  }
)
/** @since 0.1.0 @category response */
export type EmbeddingUsage = typeof EmbeddingUsage.Type

/**
 * An embeddings response: one vector per input, in input order (by `index`).
 *
 * @since 0.1.0
 * @category response
 */
export const EmbeddingResponse = Schema.Struct({
  object: Schema.optionalWith(Schema.String, { default: () => "list", nullable: true }),
  data: Schema.Array(EmbeddingData),
  model: Schema.String,
  usage: Schema.optional(Schema.NullOr(EmbeddingUsage))
})
/** @since 0.1.0 @category response */
export type EmbeddingResponse = typeof EmbeddingResponse.Type
