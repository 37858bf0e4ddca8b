/**
 * The Anthropic Messages API's wire shapes, as one namespace: what we send (plain types, wireRequest.ts) and what we
 * receive (tolerant schemas that ignore unknown fields and keep unknown block, delta and event types instead of
 * failing on them: answers in wireResponse.ts, stream events in wireStream.ts).
 *
 * This module only re-exports, so that the translators and the provider keep writing `Wire.Message`,
 * `Wire.StreamEvent`, `Wire.RequestBlock` whichever file defines them. The names are listed one by one so that the
 * helpers wireResponse.ts shares with wireStream.ts (`Nullish`, `Rest`, `OtherType`) stay out of the namespace.
 *
 * @since 0.1.0
 */

/**
 * What we send (wireRequest.ts).
 *
 * @since 0.1.0
 */
export type {
  ImageSource,
  MessagesRequest,
  RequestBlock,
  RequestMessage,
  RequestTool,
  RequestToolChoice
} from "./wireRequest.js"

/**
 * What we receive in one piece: a message, its blocks and usage, a page of models (wireResponse.ts).
 *
 * @since 0.1.0
 */
export {
  ContentBlock,
  isTextBlock,
  isThinkingBlock,
  isToolUseBlock,
  Message,
  ModelPage,
  OtherBlock,
  TextBlock,
  ThinkingBlock,
  ToolUseBlock,
  Usage
} from "./wireResponse.js"

/**
 * What we receive in a stream (wireStream.ts).
 *
 * @since 0.1.0
 */
export {
  ContentBlockDelta,
  ContentBlockStart,
  ContentBlockStop,
  Delta,
  ErrorEvent,
  MessageDelta,
  MessageStart,
  MessageStop,
  Ping,
  StreamEvent,
  UnknownEvent
} from "./wireStream.js"
