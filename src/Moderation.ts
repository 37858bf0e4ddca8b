/**
 * Wire schemas for moderation (`POST /moderations`, OpenAI's shape; Mistral's classifier answers in the same form).
 *
 * Decisions: categories are open records (providers add categories over time), and an input may be one text, many
 * texts, or OpenAI's multimodal parts, passed through unchanged.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * What to classify: a text, several texts, or multimodal parts (`{ type: "text" | "image_url", … }`).
 *
 * @since 0.2.0
 * @category request
 */
export const ModerationInput = Schema.Union(
  Schema.String,
  Schema.Array(Schema.String),
  Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
)
/** @since 0.2.0 @category request */
export type ModerationInput = typeof ModerationInput.Type

/**
 * A moderation request.
 *
 * @since 0.2.0
 * @category request
 */
export const ModerationRequest = Schema.Struct({
  model: Schema.String,
  input: ModerationInput,
  extra_body: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
/** @since 0.2.0 @category request */
export type ModerationRequest = typeof ModerationRequest.Type

/**
 * The verdict on one input. `flagged` is read from the answer, or — where the provider sends none (Mistral) — true
 * when any category is.
 *
 * @since 0.2.0
 * @category response
 */
const Categories = Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.Boolean) })
const Scores = Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.Number) })

export const ModerationResult = Schema.transform(
  Schema.Struct({
    flagged: Schema.optional(Schema.NullOr(Schema.Boolean)),
    categories: Categories,
    category_scores: Scores
  }),
  Schema.Struct({ flagged: Schema.Boolean, categories: Categories, category_scores: Scores }),
  {
    strict: true,
    // Mistral's classifier sends no `flagged`: an input is flagged when any category is
    decode: (wire) => ({
      ...wire,
      flagged: wire.flagged ?? Object.values(wire.categories).some((hit) => hit === true)
    }),
    encode: (result) => result
  }
)
/** @since 0.2.0 @category response */
export type ModerationResult = typeof ModerationResult.Type

/**
 * A moderation response: one result per input, in input order.
 *
 * @since 0.2.0
 * @category response
 */
export const ModerationResponse = Schema.Struct({
  id: Schema.String,
  model: Schema.String,
  results: Schema.Array(ModerationResult)
})
/** @since 0.2.0 @category response */
export type ModerationResponse = typeof ModerationResponse.Type
