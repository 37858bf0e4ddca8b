/**
 * Wire schemas for the model list (`GET /models`).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * One model a provider serves.
 *
 * @since 0.1.0
 * @category models
 */
export const Model = Schema.Struct({
  id: Schema.String,
  object: Schema.optionalWith(Schema.String, { default: () => "model", nullable: true }),
  created: Schema.optional(Schema.NullOr(Schema.Number)),
  owned_by: Schema.optional(Schema.NullOr(Schema.String))
})
/** @since 0.1.0 @category models */
export type Model = typeof Model.Type

/**
 * The models a provider serves.
 *
 * @since 0.1.0
 * @category models
 */
export const ModelList = Schema.Struct({
  object: Schema.optionalWith(Schema.String, { default: () => "list", nullable: true }),
  data: Schema.Array(Model)
})
/** @since 0.1.0 @category models */
export type ModelList = typeof ModelList.Type
