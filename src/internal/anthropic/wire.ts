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

export type ImageSource =
  | { readonly type: "base64"; readonly media_type: string; readonly data: string }
  | { readonly type: "url"; readonly url: string }

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

export interface RequestMessage {
  readonly role: "user" | "assistant"
  readonly content: ReadonlyArray<RequestBlock>
}

export interface RequestTool {
  readonly name: string
  readonly description?: string
  readonly input_schema: unknown
}

export type RequestToolChoice =
  | { readonly type: "auto" | "any"; readonly disable_parallel_tool_use?: boolean }
  | { readonly type: "tool"; readonly name: string; readonly disable_parallel_tool_use?: boolean }
  | { readonly type: "none" }

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

export const Usage = Schema.Struct({
  input_tokens: Nullish(Schema.Number),
  output_tokens: Nullish(Schema.Number),
  cache_creation_input_tokens: Nullish(Schema.Number),
  cache_read_input_tokens: Nullish(Schema.Number)
})
export type Usage = typeof Usage.Type

export const TextBlock = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })
export const ToolUseBlock = Schema.Struct({
  type: Schema.Literal("tool_use"),
  id: Schema.String,
  name: Schema.String,
  input: Schema.optional(Schema.Unknown)
})
export const ThinkingBlock = Schema.Struct({ type: Schema.Literal("thinking"), thinking: Schema.String })
/** Server tools, redacted thinking, citations … kept so that a new block type never fails a response. */
export const OtherBlock = Schema.Struct({ type: OtherType("text", "tool_use", "thinking") }, Rest)

export const ContentBlock = Schema.Union(TextBlock, ToolUseBlock, ThinkingBlock, OtherBlock)
export type ContentBlock = typeof ContentBlock.Type

export const Message = Schema.Struct({
  id: Schema.String,
  model: Schema.String,
  role: Schema.optional(Schema.String),
  content: Schema.optionalWith(Schema.Array(ContentBlock), { default: () => [] }),
  stop_reason: Nullish(Schema.String),
  stop_sequence: Nullish(Schema.String),
  usage: Nullish(Usage)
})
export type Message = typeof Message.Type

// ---------------------------------------------------------------------------------------------------------------
// Stream events
// ---------------------------------------------------------------------------------------------------------------

export const MessageStart = Schema.Struct({
  type: Schema.Literal("message_start"),
  message: Schema.Struct({
    id: Schema.String,
    model: Schema.String,
    usage: Nullish(Usage)
  })
})

export const ContentBlockStart = Schema.Struct({
  type: Schema.Literal("content_block_start"),
  index: Schema.Number,
  content_block: ContentBlock
})

export const Delta = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text_delta"), text: Schema.String }),
  Schema.Struct({ type: Schema.Literal("input_json_delta"), partial_json: Schema.String }),
  Schema.Struct({ type: Schema.Literal("thinking_delta"), thinking: Schema.String }),
  Schema.Struct({ type: OtherType("text_delta", "input_json_delta", "thinking_delta") }, Rest)
)
export type Delta = typeof Delta.Type

export const ContentBlockDelta = Schema.Struct({
  type: Schema.Literal("content_block_delta"),
  index: Schema.Number,
  delta: Delta
})

export const ContentBlockStop = Schema.Struct({ type: Schema.Literal("content_block_stop"), index: Schema.Number })

export const MessageDelta = Schema.Struct({
  type: Schema.Literal("message_delta"),
  delta: Schema.optionalWith(
    Schema.Struct({ stop_reason: Nullish(Schema.String), stop_sequence: Nullish(Schema.String) }),
    { default: () => ({}) }
  ),
  usage: Nullish(Usage)
})

export const MessageStop = Schema.Struct({ type: Schema.Literal("message_stop") })
export const Ping = Schema.Struct({ type: Schema.Literal("ping") })

export const ErrorEvent = Schema.Struct({
  type: Schema.Literal("error"),
  error: Schema.optionalWith(Schema.Struct({ type: Nullish(Schema.String), message: Nullish(Schema.String) }), {
    default: () => ({})
  })
})

/** An event type added after this library was written; ignored, as the API's versioning policy asks. */
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
export type StreamEvent = typeof StreamEvent.Type

// ---------------------------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------------------------

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
export type ModelPage = typeof ModelPage.Type

export const isTextBlock = Schema.is(TextBlock)
export const isToolUseBlock = Schema.is(ToolUseBlock)
export const isThinkingBlock = Schema.is(ThinkingBlock)
