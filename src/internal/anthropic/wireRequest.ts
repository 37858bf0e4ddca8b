/**
 * The Anthropic Messages API's request shapes. We build these ourselves, so plain types suffice: no schema runs on
 * the way out.
 *
 * @since 0.1.0
 */

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
