/**
 * The Anthropic Messages API's answer shapes (a message, its content blocks, its usage, a page of the model list),
 * as tolerant schemas: unknown fields are ignored and an unknown block type is kept instead of failing the answer.
 * The helpers that make them tolerant are exported for the stream events' schemas (wireStream.ts).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** A field that may be missing or `null`. */
export const Nullish = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))
/** The other fields of a kept unknown variant. */
export const Rest = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * A `type` other than the known ones. The catch-all members of the unions below (and of the stream events' in
 * wireStream.ts) use it, so a malformed known variant (a text block without `text`) still fails to decode instead of
 * passing as "unknown".
 */
export const OtherType = (...known: ReadonlyArray<string>) =>
  Schema.String.pipe(Schema.filter((t) => !known.includes(t)))

/**
 * Anthropic's token counts, every field optional as in `message_delta`.
 *
 * @since 0.1.0
 * @category wire
 */
export const Usage = Schema.Struct({
  input_tokens: Nullish(Schema.Number),
  output_tokens: Nullish(Schema.Number),
  cache_creation_input_tokens: Nullish(Schema.Number),
  cache_read_input_tokens: Nullish(Schema.Number)
})
/** @since 0.1.0 @category wire */
export type Usage = typeof Usage.Type

/**
 * A text block of an answer.
 *
 * @since 0.1.0
 * @category wire
 */
export const TextBlock = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })
/**
 * A tool call of an answer, its input an object.
 *
 * @since 0.1.0
 * @category wire
 */
export const ToolUseBlock = Schema.Struct({
  type: Schema.Literal("tool_use"),
  id: Schema.String,
  name: Schema.String,
  input: Schema.optional(Schema.Unknown)
})
/**
 * An extended-thinking block of an answer.
 *
 * @since 0.1.0
 * @category wire
 */
export const ThinkingBlock = Schema.Struct({ type: Schema.Literal("thinking"), thinking: Schema.String })
/**
 * Server tools, redacted thinking, citations … kept so that a new block type never fails a response.
 *
 * @since 0.1.0
 * @category wire
 */
export const OtherBlock = Schema.Struct({ type: OtherType("text", "tool_use", "thinking") }, Rest)

/**
 * A content block of an answer, unknown types kept.
 *
 * @since 0.1.0
 * @category wire
 */
export const ContentBlock = Schema.Union(TextBlock, ToolUseBlock, ThinkingBlock, OtherBlock)
/** @since 0.1.0 @category wire */
export type ContentBlock = typeof ContentBlock.Type

/**
 * A complete Messages API answer.
 *
 * @since 0.1.0
 * @category wire
 */
export const Message = Schema.Struct({
  id: Schema.String,
  model: Schema.String,
  role: Schema.optional(Schema.String),
  content: Schema.optionalWith(Schema.Array(ContentBlock), { default: () => [], nullable: true }),
  stop_reason: Nullish(Schema.String),
  stop_sequence: Nullish(Schema.String),
  usage: Nullish(Usage)
})
/** @since 0.1.0 @category wire */
export type Message = typeof Message.Type

/**
 * Whether a block is a text block.
 *
 * @since 0.1.0
 * @category wire
 */
export const isTextBlock = Schema.is(TextBlock)
/**
 * Whether a block is a tool call.
 *
 * @since 0.1.0
 * @category wire
 */
export const isToolUseBlock = Schema.is(ToolUseBlock)
/**
 * Whether a block is a thinking block.
 *
 * @since 0.1.0
 * @category wire
 */
export const isThinkingBlock = Schema.is(ThinkingBlock)

// ---------------------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------------------

/**
 * One page of `GET /v1/models`.
 *
 * @since 0.1.0
 * @category wire
 */
export const ModelPage = Schema.Struct({
  data: Schema.Array(
    Schema.Struct({
      id: Schema.String,
      display_name: Nullish(Schema.String),
      created_at: Nullish(Schema.String)
    })
  ),
  has_more: Nullish(Schema.Boolean),
  last_id: Nullish(Schema.String)
})
/** @since 0.1.0 @category wire */
export type ModelPage = typeof ModelPage.Type
