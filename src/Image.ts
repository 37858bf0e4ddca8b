/**
 * Wire schemas for image generation (`POST /images/generations`, OpenAI's shape, served the same way by Azure, xAI,
 * Together and most OpenAI-compatible hosts).
 *
 * Decisions:
 * - Enumerations the providers keep extending (`size`, `quality`, `style`, `output_format`…) are plain strings: a
 *   value this library has not heard of yet reaches the provider, which is the one to refuse it.
 * - `model` is required, as for chat: a router routes by it.
 * - Provider-specific fields go in `extra_body` and are sent as top-level fields; unknown response fields are kept.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

const Extra = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * An image generation request.
 *
 * @since 0.2.0
 * @category request
 */
export const ImageRequest = Schema.Struct({
  model: Schema.String,
  prompt: Schema.String,
  /** How many images (OpenAI: 1–10). */
  n: Schema.optional(Schema.Int),
  /** e.g. `"1024x1024"`, `"1536x1024"`, `"auto"`. */
  size: Schema.optional(Schema.String),
  /** e.g. `"standard"`, `"hd"`, `"low"`, `"medium"`, `"high"`, `"auto"`. */
  quality: Schema.optional(Schema.String),
  style: Schema.optional(Schema.String),
  /** `"url"` or `"b64_json"` (dall-e models; gpt-image models always answer base64). */
  response_format: Schema.optional(Schema.String),
  output_format: Schema.optional(Schema.String),
  output_compression: Schema.optional(Schema.Int),
  background: Schema.optional(Schema.String),
  moderation: Schema.optional(Schema.String),
  user: Schema.optional(Schema.String),
  extra_body: Schema.optional(Extra)
})
/** @since 0.2.0 @category request */
export type ImageRequest = typeof ImageRequest.Type

/**
 * One generated image: a URL or base64 data, and the prompt the model actually used when it rewrote it.
 *
 * @since 0.2.0
 * @category response
 */
export const ImageData = Schema.Struct({
  url: Schema.optional(Schema.NullOr(Schema.String)),
  b64_json: Schema.optional(Schema.NullOr(Schema.String)),
  revised_prompt: Schema.optional(Schema.NullOr(Schema.String))
})
/** @since 0.2.0 @category response */
export type ImageData = typeof ImageData.Type

/**
 * Token usage of token-priced image models (gpt-image-1); absent for per-image priced ones.
 *
 * @since 0.2.0
 * @category response
 */
export const ImageUsage = Schema.Struct({
  input_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
  output_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
  total_tokens: Schema.optional(Schema.NullOr(Schema.Number))
})
/** @since 0.2.0 @category response */
export type ImageUsage = typeof ImageUsage.Type

/**
 * An image generation response.
 *
 * @since 0.2.0
 * @category response
 */
export const ImageResponse = Schema.Struct({
  created: Schema.Number,
  data: Schema.Array(ImageData),
  usage: Schema.optional(Schema.NullOr(ImageUsage))
})
/** @since 0.2.0 @category response */
export type ImageResponse = typeof ImageResponse.Type
