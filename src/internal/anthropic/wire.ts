/**
 * The Anthropic Messages API's wire shapes: what we send (plain types) and what we receive (tolerant schemas that
 * ignore unknown fields and keep unknown block, delta and event types instead of failing on them).
 */
import * as Schema from "effect/Schema"

const Nullish = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))
const Rest = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * A `type` other than the known ones. The catch-all members of the unions below use it, so a malformed known variant
 * (a text block without `text`) still fails to decode instead of passing as "unknown".
 */
const OtherType = (...known: ReadonlyArray<string>) => Schema.String.pipe(Schema.filter((t) => !known.includes(t)))

// ---------------------------------------------------------------------------------------------------------------
// Request (we build these, so plain types suffice)
// ---------------------------------------------------------------------------------------------------------------

/**
 * Where an image or document comes from: inline base64 or a URL.
 *
 * @since 0.1.0
 * @category wire
 */
export type ImageSource =
  | { readonly type: "base64"; readonly media_type: string; readonly data: string }
  | { readonly type: "url"; readonly url: string }

/**
 * A content block of a request turn.
 *
 * @since 0.1.0
 * @category wire
 */
export type RequestBlock =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image"; readonly source: ImageSource }
  | { readonly type: "document"; readonly source: ImageSource; readonly title?: string }
  | { readonly type: "tool_use"; readonly id: string; readonly name: string; readonly input: unknown }
  | {
      readonly type: "tool_result"
      readonly tool_use_id: string
      readonly content: string | ReadonlyArray<{ readonly type: "text"; readonly text: string }>
    }

/**
 * One turn of the conversation sent to Anthropic.
 *
 * @since 0.1.0
 * @category wire
 */
export interface RequestMessage {
  readonly role: "user" | "assistant"
  readonly content: ReadonlyArray<RequestBlock>
}

/**
 * A tool declaration as Anthropic takes it.
 *
 * @since 0.1.0
 * @category wire
 */
export interface RequestTool {
  readonly name: string
  readonly description?: string
  readonly input_schema: unknown
}

/**
 * Which tool Anthropic must (or must not) call.
 *
 * @since 0.1.0
 * @category wire
 */
export type RequestToolChoice =
  | { readonly type: "auto" | "any"; readonly disable_parallel_tool_use?: boolean }
  | { readonly type: "tool"; readonly name: string; readonly disable_parallel_tool_use?: boolean }
  | { readonly type: "none" }

/**
 * The body of `POST /v1/messages`; extra fields come from `extra_body`.
 *
 * @since 0.1.0
 * @category wire
 */
export interface MessagesRequest {
  readonly model: string
  readonly max_tokens: number
  readonly messages: ReadonlyArray<RequestMessage>
  readonly system?: string
  readonly stop_sequences?: ReadonlyArray<string>
  readonly temperature?: number
  readonly top_p?: number
  readonly stream?: boolean
  readonly tools?: ReadonlyArray<RequestTool>
  readonly tool_choice?: RequestToolChoice
  readonly metadata?: { readonly user_id: string }
  readonly thinking?: { readonly type: "enabled"; readonly budget_tokens: number }
  readonly [extra: string]: unknown
}

// ---------------------------------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------------
// Stream events
// ---------------------------------------------------------------------------------------------------------------

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
