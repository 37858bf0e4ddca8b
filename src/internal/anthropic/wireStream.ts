/**
 * The Anthropic Messages API's stream events, as tolerant schemas: unknown fields are ignored, and an unknown delta
 * or event type is kept (and then ignored, as the API's versioning policy asks) instead of failing the stream.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ContentBlock, Nullish, OtherType, Rest, Usage } from "./wireResponse.js"

/**
 * The first stream event, carrying the message's id, model and input usage.
 *
 * @since 0.1.0
 * @category wire
 */
export const MessageStart = Schema.Struct({
  type: Schema.Literal("message_start"),
  message: Schema.Struct({
    id: Schema.String,
    model: Schema.String,
    usage: Nullish(Usage)
  })
})

/**
 * A stream event opening a content block.
 *
 * @since 0.1.0
 * @category wire
 */
export const ContentBlockStart = Schema.Struct({
  type: Schema.Literal("content_block_start"),
  index: Schema.Number,
  content_block: ContentBlock
})

/**
 * The change a `content_block_delta` carries (text, tool input JSON, thinking, or unknown).
 *
 * @since 0.1.0
 * @category wire
 */
export const Delta = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text_delta"), text: Schema.String }),
  Schema.Struct({ type: Schema.Literal("input_json_delta"), partial_json: Schema.String }),
  Schema.Struct({ type: Schema.Literal("thinking_delta"), thinking: Schema.String }),
  Schema.Struct({ type: OtherType("text_delta", "input_json_delta", "thinking_delta") }, Rest)
)
/** @since 0.1.0 @category wire */
export type Delta = typeof Delta.Type

/**
 * A stream event adding to a content block.
 *
 * @since 0.1.0
 * @category wire
 */
export const ContentBlockDelta = Schema.Struct({
  type: Schema.Literal("content_block_delta"),
  index: Schema.Number,
  delta: Delta
})

/**
 * A stream event closing a content block.
 *
 * @since 0.1.0
 * @category wire
 */
export const ContentBlockStop = Schema.Struct({ type: Schema.Literal("content_block_stop"), index: Schema.Number })

/**
 * A stream event with the stop reason and the output usage.
 *
 * @since 0.1.0
 * @category wire
 */
export const MessageDelta = Schema.Struct({
  type: Schema.Literal("message_delta"),
  delta: Schema.optionalWith(
    Schema.Struct({ stop_reason: Nullish(Schema.String), stop_sequence: Nullish(Schema.String) }),
    { default: () => ({}), nullable: true }
  ),
  usage: Nullish(Usage)
})

/**
 * The last stream event.
 *
 * @since 0.1.0
 * @category wire
 */
export const MessageStop = Schema.Struct({ type: Schema.Literal("message_stop") })
/**
 * A keep-alive stream event.
 *
 * @since 0.1.0
 * @category wire
 */
export const Ping = Schema.Struct({ type: Schema.Literal("ping") })

/**
 * An error reported inside the stream.
 *
 * @since 0.1.0
 * @category wire
 */
export const ErrorEvent = Schema.Struct({
  type: Schema.Literal("error"),
  error: Schema.optionalWith(Schema.Struct({ type: Nullish(Schema.String), message: Nullish(Schema.String) }), {
    default: () => ({}),
    nullable: true
  })
})

/**
 * An event type added after this library was written; ignored, as the API's versioning policy asks.
 *
 * @since 0.1.0
 * @category wire
 */
export const UnknownEvent = Schema.Struct(
  {
    type: OtherType(
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
      "ping",
      "error"
    )
  },
  Rest
)

/**
 * Any event of a Messages stream, unknown types kept.
 *
 * @since 0.1.0
 * @category wire
 */
export const StreamEvent = Schema.Union(
  MessageStart,
  ContentBlockStart,
  ContentBlockDelta,
  ContentBlockStop,
  MessageDelta,
  MessageStop,
  Ping,
  ErrorEvent,
  UnknownEvent
)
/** @since 0.1.0 @category wire */
export type StreamEvent = typeof StreamEvent.Type
