/**
 * Wire schemas for OpenAI-compatible chat completions: the request, the response, the stream chunk and usage.
 *
 * Field names are the API's own (snake_case), so the JSON a user would send to any OpenAI-compatible endpoint is a
 * valid `ChatCompletionRequest` here. Response schemas are tolerant: unknown fields are ignored, fields providers
 * send as `null` accept `null`, and unknown variants (a tool call of a new `type`, a new finish reason) are kept.
 * Bookkeeping fields some compatible servers leave out or send as `null` (`id`, `created`, a choice's or tool-call
 * fragment's `index`) decode to `""`, `0` and `0` rather than failing an otherwise good answer.
 * Answers in shapes other providers document are read into the OpenAI shape: `content` as an array of parts (text
 * becomes `content`, thinking becomes `reasoning_content`, other parts are kept in `content_parts`), reasoning under
 * `reasoning` instead of `reasoning_content`, and tool calls without `type` (functions).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { assemble } from "./internal/assemble.js"
import * as ContentParts from "./internal/contentParts.js"

const Nullish = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

// ---------------------------------------------------------------------------------------------------------------
// Content parts
// ---------------------------------------------------------------------------------------------------------------

/**
 * A text part of a message.
 *
 * @since 0.1.0
 * @category content
 */
export const TextPart = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })
/** @since 0.1.0 @category content */
export type TextPart = typeof TextPart.Type

/**
 * An image by URL or `data:` URL.
 *
 * @since 0.1.0
 * @category content
 */
export const ImagePart = Schema.Struct({
  type: Schema.Literal("image_url"),
  image_url: Schema.Struct({
    url: Schema.String,
    detail: Schema.optional(Schema.Literal("auto", "low", "high"))
  })
})
/** @since 0.1.0 @category content */
export type ImagePart = typeof ImagePart.Type

/**
 * Base64 audio input.
 *
 * @since 0.1.0
 * @category content
 */
export const AudioPart = Schema.Struct({
  type: Schema.Literal("input_audio"),
  input_audio: Schema.Struct({ data: Schema.String, format: Schema.Literal("wav", "mp3") })
})
/** @since 0.1.0 @category content */
export type AudioPart = typeof AudioPart.Type

/**
 * A file, inline (base64 `file_data`) or by uploaded `file_id`.
 *
 * @since 0.1.0
 * @category content
 */
export const FilePart = Schema.Struct({
  type: Schema.Literal("file"),
  file: Schema.Struct({
    file_data: Schema.optional(Schema.String),
    file_id: Schema.optional(Schema.String),
    filename: Schema.optional(Schema.String)
  })
})
/** @since 0.1.0 @category content */
export type FilePart = typeof FilePart.Type

/**
 * A refusal part of an assistant message.
 *
 * @since 0.1.0
 * @category content
 */
export const RefusalPart = Schema.Struct({ type: Schema.Literal("refusal"), refusal: Schema.String })
/** @since 0.1.0 @category content */
export type RefusalPart = typeof RefusalPart.Type

/**
 * Any part a user message may contain.
 *
 * @since 0.1.0
 * @category content
 */
export const UserContentPart = Schema.Union(TextPart, ImagePart, AudioPart, FilePart)
/** @since 0.1.0 @category content */
export type UserContentPart = typeof UserContentPart.Type

// ---------------------------------------------------------------------------------------------------------------
// Tool calls
// ---------------------------------------------------------------------------------------------------------------

/**
 * A call to a function tool, as the assistant made it; `arguments` is a JSON string.
 *
 * @since 0.1.0
 * @category tools
 */
export const FunctionToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})
/** @since 0.1.0 @category tools */
export type FunctionToolCall = typeof FunctionToolCall.Type

/**
 * A call to a custom (free-form input) tool.
 *
 * @since 0.1.0
 * @category tools
 */
export const CustomToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("custom"),
  custom: Schema.Struct({ name: Schema.String, input: Schema.String })
})
/** @since 0.1.0 @category tools */
export type CustomToolCall = typeof CustomToolCall.Type

/**
 * A tool call of a type this library does not know yet; every field is kept as received.
 *
 * @since 0.1.0
 * @category tools
 */
export const OtherToolCall = Schema.Struct(
  { id: Schema.String, type: Schema.String },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)
/** @since 0.1.0 @category tools */
export type OtherToolCall = typeof OtherToolCall.Type

/**
 * Any tool call an assistant message carries.
 *
 * @since 0.1.0
 * @category tools
 */
export const ToolCall = Schema.Union(FunctionToolCall, CustomToolCall, OtherToolCall)
/** @since 0.1.0 @category tools */
export type ToolCall = typeof ToolCall.Type

/**
 * A tool call as responses carry it: a call with a `function` and no `type` (Mistral) is a function call, and a
 * missing or null `id` is `""`. Requests stay strict.
 */
const ResponseToolCall = Schema.Union(
  Schema.Struct({
    id: Schema.optionalWith(Schema.String, { default: () => "", nullable: true }),
    type: Schema.optionalWith(Schema.Literal("function"), { default: () => "function" as const, nullable: true }),
    function: FunctionToolCall.fields.function
  }),
  CustomToolCall,
  OtherToolCall
)

// ---------------------------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------------------------

/**
 * Instructions from the application.
 *
 * @since 0.1.0
 * @category messages
 */
export const SystemMessage = Schema.Struct({
  role: Schema.Literal("system"),
  content: Schema.Union(Schema.String, Schema.Array(TextPart)),
  name: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category messages */
export type SystemMessage = typeof SystemMessage.Type

/**
 * Instructions from the developer (the newer name of `system` for reasoning models).
 *
 * @since 0.1.0
 * @category messages
 */
export const DeveloperMessage = Schema.Struct({
  role: Schema.Literal("developer"),
  content: Schema.Union(Schema.String, Schema.Array(TextPart)),
  name: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category messages */
export type DeveloperMessage = typeof DeveloperMessage.Type

/**
 * A user turn: text, or parts (text, images, audio, files).
 *
 * @since 0.1.0
 * @category messages
 */
export const UserMessage = Schema.Struct({
  role: Schema.Literal("user"),
  content: Schema.Union(Schema.String, Schema.Array(UserContentPart)),
  name: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category messages */
export type UserMessage = typeof UserMessage.Type

/**
 * An earlier assistant turn: text, a refusal, and/or tool calls.
 *
 * @since 0.1.0
 * @category messages
 */
export const AssistantMessage = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: Nullish(Schema.Union(Schema.String, Schema.Array(Schema.Union(TextPart, RefusalPart)))),
  refusal: Nullish(Schema.String),
  tool_calls: Schema.optional(Schema.Array(ToolCall)),
  name: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category messages */
export type AssistantMessage = typeof AssistantMessage.Type

/**
 * The result of a tool call, answering the call with id `tool_call_id`.
 *
 * @since 0.1.0
 * @category messages
 */
export const ToolMessage = Schema.Struct({
  role: Schema.Literal("tool"),
  content: Schema.Union(Schema.String, Schema.Array(TextPart)),
  tool_call_id: Schema.String
})
/** @since 0.1.0 @category messages */
export type ToolMessage = typeof ToolMessage.Type

/**
 * Any message of a conversation.
 *
 * @since 0.1.0
 * @category messages
 */
export const Message = Schema.Union(SystemMessage, DeveloperMessage, UserMessage, AssistantMessage, ToolMessage)
/** @since 0.1.0 @category messages */
export type Message = typeof Message.Type

// ---------------------------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------------------------

/**
 * A function the model may call; `parameters` is a JSON Schema object.
 *
 * @since 0.1.0
 * @category tools
 */
export const FunctionTool = Schema.Struct({
  type: Schema.Literal("function"),
  function: Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    parameters: Schema.optional(JsonObject),
    strict: Nullish(Schema.Boolean)
  })
})
/** @since 0.1.0 @category tools */
export type FunctionTool = typeof FunctionTool.Type

/**
 * A custom tool taking free-form text input; `format` (unconstrained text, or a grammar) is passed through as given.
 * Only OpenAI serves these; the Anthropic and Gemini clients answer them with `BadRequest`.
 *
 * @since 0.1.0
 * @category tools
 */
export const CustomTool = Schema.Struct({
  type: Schema.Literal("custom"),
  custom: Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    format: Schema.optional(JsonObject)
  })
})
/** @since 0.1.0 @category tools */
export type CustomTool = typeof CustomTool.Type

/**
 * A tool the model may call: a function, or a custom (free-form input) tool.
 *
 * @since 0.1.0
 * @category tools
 */
export const Tool = Schema.Union(FunctionTool, CustomTool)
/** @since 0.1.0 @category tools */
export type Tool = typeof Tool.Type

/**
 * Names one tool, in a forced choice or in an `allowed_tools` list.
 *
 * @since 0.1.0
 * @category tools
 */
export const NamedToolChoice = Schema.Union(
  Schema.Struct({ type: Schema.Literal("function"), function: Schema.Struct({ name: Schema.String }) }),
  Schema.Struct({ type: Schema.Literal("custom"), custom: Schema.Struct({ name: Schema.String }) })
)
/** @since 0.1.0 @category tools */
export type NamedToolChoice = typeof NamedToolChoice.Type

/**
 * Limits the model to a subset of the request's tools; `mode` `required` makes it call one of them.
 *
 * @since 0.1.0
 * @category tools
 */
export const AllowedToolsChoice = Schema.Struct({
  type: Schema.Literal("allowed_tools"),
  allowed_tools: Schema.Struct({
    mode: Schema.Literal("auto", "required"),
    tools: Schema.Array(NamedToolChoice)
  })
})
/** @since 0.1.0 @category tools */
export type AllowedToolsChoice = typeof AllowedToolsChoice.Type

/**
 * Whether and which tool the model must call: a mode, one named tool, or a subset of the tools.
 *
 * @since 0.1.0
 * @category tools
 */
export const ToolChoice = Schema.Union(Schema.Literal("none", "auto", "required"), NamedToolChoice, AllowedToolsChoice)
/** @since 0.1.0 @category tools */
export type ToolChoice = typeof ToolChoice.Type

/**
 * The name of a tool or named tool choice, whatever its type.
 *
 * @since 0.1.0
 * @category tools
 */
export const toolName = (tool: Tool | NamedToolChoice): string =>
  tool.type === "function" ? tool.function.name : tool.custom.name

/**
 * The shape the answer must take: free text, any JSON object, or JSON matching a schema.
 *
 * @since 0.1.0
 * @category request
 */
export const ResponseFormat = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text") }),
  Schema.Struct({ type: Schema.Literal("json_object") }),
  Schema.Struct({
    type: Schema.Literal("json_schema"),
    json_schema: Schema.Struct({
      name: Schema.String,
      description: Schema.optional(Schema.String),
      schema: Schema.optional(JsonObject),
      strict: Nullish(Schema.Boolean)
    })
  })
)
/** @since 0.1.0 @category request */
export type ResponseFormat = typeof ResponseFormat.Type

/**
 * How hard a reasoning model thinks before answering.
 *
 * @since 0.1.0
 * @category request
 */
export const ReasoningEffort = Schema.Literal("none", "minimal", "low", "medium", "high", "xhigh", "max")
/** @since 0.1.0 @category request */
export type ReasoningEffort = typeof ReasoningEffort.Type

/**
 * A chat completion request, field for field as OpenAI's `POST /chat/completions` takes it. Provider-specific
 * fields go in `extra_body` and are merged into the JSON body sent on the wire.
 *
 * @since 0.1.0
 * @category request
 */
export const ChatCompletionRequest = Schema.Struct({
  model: Schema.String,
  messages: Schema.Array(Message),
  temperature: Nullish(Schema.Number),
  top_p: Nullish(Schema.Number),
  n: Nullish(Schema.Int),
  stream: Nullish(Schema.Boolean),
  stop: Nullish(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  max_tokens: Nullish(Schema.Int),
  max_completion_tokens: Nullish(Schema.Int),
  presence_penalty: Nullish(Schema.Number),
  frequency_penalty: Nullish(Schema.Number),
  logit_bias: Nullish(Schema.Record({ key: Schema.String, value: Schema.Number })),
  logprobs: Nullish(Schema.Boolean),
  top_logprobs: Nullish(Schema.Int),
  user: Schema.optional(Schema.String),
  tools: Schema.optional(Schema.Array(Tool)),
  tool_choice: Schema.optional(ToolChoice),
  parallel_tool_calls: Schema.optional(Schema.Boolean),
  response_format: Schema.optional(ResponseFormat),
  seed: Nullish(Schema.Int),
  reasoning_effort: Nullish(ReasoningEffort),
  stream_options: Nullish(
    Schema.Struct({
      include_usage: Schema.optional(Schema.Boolean),
      include_obfuscation: Schema.optional(Schema.Boolean)
    })
  ),
  /** Output kinds wanted, e.g. `["text", "audio"]`. */
  modalities: Nullish(Schema.Array(Schema.String)),
  /** How long the answer should be, for models that support it. */
  verbosity: Nullish(Schema.Literal("low", "medium", "high")),
  /** Predicted output (speculative decoding), passed through as given. */
  prediction: Nullish(JsonObject),
  /** Audio output settings (`voice`, `format`), passed through as given. */
  audio: Nullish(JsonObject),
  /** Web search settings of search-enabled models, passed through as given. */
  web_search_options: Schema.optional(JsonObject),
  safety_identifier: Nullish(Schema.String),
  prompt_cache_key: Nullish(Schema.String),
  prompt_cache_retention: Nullish(Schema.String),
  service_tier: Nullish(Schema.String),
  metadata: Nullish(Schema.Record({ key: Schema.String, value: Schema.String })),
  store: Nullish(Schema.Boolean),
  /** Provider-specific fields, merged into the wire body as they are. */
  extra_body: Schema.optional(JsonObject)
})
/** @since 0.1.0 @category request */
export type ChatCompletionRequest = typeof ChatCompletionRequest.Type

// ---------------------------------------------------------------------------------------------------------------
// Usage
// ---------------------------------------------------------------------------------------------------------------

/**
 * The decoded shape of {@link Usage}: every count present.
 */
const UsageFields = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  total_tokens: Schema.Number,
  prompt_tokens_details: Nullish(
    Schema.Struct({
      cached_tokens: Nullish(Schema.Number),
      audio_tokens: Nullish(Schema.Number),
      /** Tokens written to the prompt cache (Anthropic's cache creation). */
      cache_creation_tokens: Nullish(Schema.Number),
      /** Tokens written to the prompt cache, as OpenAI names them. */
      cache_write_tokens: Nullish(Schema.Number),
      text_tokens: Nullish(Schema.Number),
      image_tokens: Nullish(Schema.Number)
    })
  ),
  completion_tokens_details: Nullish(
    Schema.Struct({
      reasoning_tokens: Nullish(Schema.Number),
      audio_tokens: Nullish(Schema.Number),
      accepted_prediction_tokens: Nullish(Schema.Number),
      rejected_prediction_tokens: Nullish(Schema.Number),
      text_tokens: Nullish(Schema.Number)
    })
  )
})
const UsageOnTheWire = Schema.Struct({
  ...UsageFields.fields,
  prompt_tokens: Nullish(Schema.Number),
  completion_tokens: Nullish(Schema.Number),
  total_tokens: Nullish(Schema.Number)
})

/**
 * Token counts of one completion. `prompt_tokens_details.cached_tokens` is the part of the prompt read from the
 * provider's prompt cache; `completion_tokens_details.reasoning_tokens` the hidden reasoning part of the output.
 * Some servers leave counts out or send `null` (a usage object with only `prompt_tokens`, no `total_tokens`); a
 * missing count decodes as 0 and a missing total as prompt + completion, rather than failing the whole response.
 *
 * @since 0.1.0
 * @category usage
 */
export const Usage = Schema.transform(UsageOnTheWire, Schema.typeSchema(UsageFields), {
  strict: true,
  decode: (wire) => {
    const prompt = wire.prompt_tokens ?? 0
    const completion = wire.completion_tokens ?? 0
    return {
      ...wire,
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: wire.total_tokens ?? prompt + completion
    }
  },
  encode: (usage) => usage
})
/** @since 0.1.0 @category usage */
export type Usage = typeof Usage.Type

// ---------------------------------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------------------------------

/**
 * Finish reasons known today. Decoding accepts any string, since providers add new ones.
 *
 * @since 0.1.0
 * @category response
 */
export type KnownFinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call"

/**
 * Why generation stopped: one of {@link KnownFinishReason}, or a provider's own.
 *
 * @since 0.1.0
 * @category response
 */
export const FinishReason: Schema.Schema<KnownFinishReason | (string & {}), string> = Schema.String

/**
 * The log probability of one token, with its most likely alternatives.
 *
 * @since 0.1.0
 * @category response
 */
export const TokenLogprob = Schema.Struct({
  token: Schema.String,
  logprob: Schema.Number,
  bytes: Nullish(Schema.Array(Schema.Number)),
  top_logprobs: Schema.optionalWith(
    Schema.Array(
      Schema.Struct({ token: Schema.String, logprob: Schema.Number, bytes: Nullish(Schema.Array(Schema.Number)) })
    ),
    { nullable: true }
  )
})
/** @since 0.1.0 @category response */
export type TokenLogprob = typeof TokenLogprob.Type

/**
 * Log probabilities of a choice's content and refusal tokens.
 *
 * @since 0.1.0
 * @category response
 */
export const Logprobs = Schema.Struct({
  content: Nullish(Schema.Array(TokenLogprob)),
  refusal: Nullish(Schema.Array(TokenLogprob))
})
/** @since 0.1.0 @category response */
export type Logprobs = typeof Logprobs.Type

/**
 * A citation attached to the answer (for example a URL from web search); unknown annotation types are kept.
 *
 * @since 0.1.0
 * @category response
 */
export const Annotation = Schema.Struct(
  {
    type: Schema.String,
    url_citation: Schema.optionalWith(
      Schema.Struct({
        url: Schema.String,
        title: Schema.optionalWith(Schema.String, { nullable: true }),
        start_index: Schema.optionalWith(Schema.Number, { nullable: true }),
        end_index: Schema.optionalWith(Schema.Number, { nullable: true })
      }),
      { nullable: true }
    )
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)
/** @since 0.1.0 @category response */
export type Annotation = typeof Annotation.Type

const ResponseMessageFields = Schema.Struct({
  role: Schema.optionalWith(Schema.String, { default: () => "assistant", nullable: true }),
  content: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  refusal: Nullish(Schema.String),
  tool_calls: Nullish(Schema.Array(ToolCall)),
  annotations: Nullish(Schema.Array(Annotation)),
  /** Reasoning text, for providers that return it (DeepSeek, some OpenAI-compatible servers). */
  reasoning_content: Nullish(Schema.String),
  /** Content parts other than text and thinking, as received, when the provider sent `content` as parts. */
  content_parts: Schema.optional(Schema.Array(Schema.Unknown)),
  audio: Schema.optional(Schema.Unknown),
  /** The deprecated single function call of older models and servers. */
  function_call: Nullish(Schema.Struct({ name: Schema.String, arguments: Schema.String }))
})

/** Content as the wire may carry it: text, or an array of parts (Mistral's reasoning models). */
const ContentOnTheWire = Schema.NullOr(Schema.Union(Schema.String, Schema.Array(Schema.Unknown)))

/**
 * Reads the wire's `content` and `reasoning` (the name Groq, OpenRouter and vLLM use) into `content`,
 * `reasoning_content` and `content_parts`; a message with string content and no `reasoning` comes out unchanged.
 */
const readContent = <M extends { readonly reasoning_content?: string | null | undefined }>(
  message: M,
  content: string | ReadonlyArray<unknown> | null | undefined,
  reasoning: string | null | undefined
) => {
  const stated = message.reasoning_content == null && reasoning != null ? reasoning : message.reasoning_content
  if (typeof content === "string" || content == null) {
    return { ...message, content, ...(stated === message.reasoning_content ? {} : { reasoning_content: stated }) }
  }
  const parts = ContentParts.split(content)
  const thinking = ContentParts.join(stated, parts.thinking)
  return {
    ...message,
    content: parts.text,
    ...(thinking === null ? {} : { reasoning_content: thinking }),
    ...(parts.others.length === 0 ? {} : { content_parts: parts.others })
  }
}

/**
 * The assistant's answer in a completed response.
 *
 * @since 0.1.0
 * @category response
 */
export const ResponseMessage = Schema.transform(
  Schema.Struct({
    ...ResponseMessageFields.fields,
    content: Schema.optionalWith(ContentOnTheWire, { default: () => null }),
    tool_calls: Nullish(Schema.Array(ResponseToolCall)),
    reasoning: Nullish(Schema.String)
  }),
  Schema.typeSchema(ResponseMessageFields),
  {
    strict: true,
    decode: ({ content, reasoning, ...message }) => {
      const read = readContent(message, content, reasoning)
      return { ...read, content: read.content ?? null }
    },
    encode: (message) => message
  }
)
/** @since 0.1.0 @category response */
export type ResponseMessage = typeof ResponseMessage.Type

/**
 * One candidate answer.
 *
 * @since 0.1.0
 * @category response
 */
export const Choice = Schema.Struct({
  index: Schema.optionalWith(Schema.Number, { default: () => 0, nullable: true }),
  message: Schema.optionalWith(ResponseMessage, { default: () => ({ role: "assistant", content: null }) }),
  finish_reason: Schema.optionalWith(Schema.NullOr(FinishReason), { default: () => null }),
  logprobs: Nullish(Logprobs)
})
/** @since 0.1.0 @category response */
export type Choice = typeof Choice.Type

/**
 * A completed (non-streamed) chat completion.
 *
 * @since 0.1.0
 * @category response
 */
export const ChatCompletionResponse = Schema.Struct({
  id: Schema.optionalWith(Schema.String, { default: () => "", nullable: true }),
  object: Schema.optionalWith(Schema.String, { default: () => "chat.completion", nullable: true }),
  created: Schema.optionalWith(Schema.Number, { default: () => 0, nullable: true }),
  model: Schema.String,
  choices: Schema.Array(Choice),
  usage: Nullish(Usage),
  system_fingerprint: Nullish(Schema.String),
  service_tier: Nullish(Schema.String)
})
/** @since 0.1.0 @category response */
export type ChatCompletionResponse = typeof ChatCompletionResponse.Type

// ---------------------------------------------------------------------------------------------------------------
// Stream chunks
// ---------------------------------------------------------------------------------------------------------------

/**
 * A fragment of a tool call in a stream; fragments with the same `index` concatenate into one call.
 *
 * @since 0.1.0
 * @category stream
 */
export const DeltaToolCall = Schema.Struct({
  index: Schema.optionalWith(Schema.Number, { default: () => 0, nullable: true }),
  id: Nullish(Schema.String),
  type: Nullish(Schema.String),
  function: Nullish(
    Schema.Struct({
      name: Nullish(Schema.String),
      arguments: Nullish(Schema.String)
    })
  )
})
/** @since 0.1.0 @category stream */
export type DeltaToolCall = typeof DeltaToolCall.Type

const DeltaFields = Schema.Struct({
  role: Nullish(Schema.String),
  content: Nullish(Schema.String),
  refusal: Nullish(Schema.String),
  tool_calls: Nullish(Schema.Array(DeltaToolCall)),
  reasoning_content: Nullish(Schema.String),
  /** Content parts other than text and thinking, as received, when the provider streams `content` as parts. */
  content_parts: Schema.optional(Schema.Array(Schema.Unknown))
})

/**
 * What a chunk adds to the answer.
 *
 * @since 0.1.0
 * @category stream
 */
export const Delta = Schema.transform(
  Schema.Struct({
    ...DeltaFields.fields,
    content: Schema.optional(ContentOnTheWire),
    reasoning: Nullish(Schema.String)
  }),
  Schema.typeSchema(DeltaFields),
  {
    strict: true,
    decode: ({ content, reasoning, ...delta }) => {
      if (content === undefined && reasoning == null) return delta
      const read = readContent(delta, content, reasoning)
      return read.content === undefined ? (({ content: _, ...rest }) => rest)(read) : read
    },
    encode: (delta) => delta
  }
)
/** @since 0.1.0 @category stream */
export type Delta = typeof Delta.Type

/**
 * One choice's part of a chunk.
 *
 * @since 0.1.0
 * @category stream
 */
export const ChunkChoice = Schema.Struct({
  index: Schema.optionalWith(Schema.Number, { default: () => 0, nullable: true }),
  delta: Schema.optionalWith(Delta, { default: () => ({}), nullable: true }),
  finish_reason: Schema.optionalWith(Schema.NullOr(FinishReason), { default: () => null }),
  logprobs: Nullish(Logprobs)
})
/** @since 0.1.0 @category stream */
export type ChunkChoice = typeof ChunkChoice.Type

/**
 * One server-sent event of a streamed chat completion. With `stream_options.include_usage` the last chunk has no
 * choices and carries `usage`.
 *
 * @since 0.1.0
 * @category stream
 */
export const ChatCompletionChunk = Schema.Struct({
  id: Schema.optionalWith(Schema.String, { default: () => "", nullable: true }),
  object: Schema.optionalWith(Schema.String, { default: () => "chat.completion.chunk", nullable: true }),
  created: Schema.optionalWith(Schema.Number, { default: () => 0, nullable: true }),
  model: Schema.String,
  choices: Schema.optionalWith(Schema.Array(ChunkChoice), { default: () => [], nullable: true }),
  usage: Nullish(Usage),
  system_fingerprint: Nullish(Schema.String),
  service_tier: Nullish(Schema.String)
})
/** @since 0.1.0 @category stream */
export type ChatCompletionChunk = typeof ChatCompletionChunk.Type

/**
 * Folds the chunks of a stream into the response they amount to: text joined per choice, tool-call fragments joined
 * by index, the final finish reason and the usage of the last chunk.
 *
 * @since 0.1.0
 * @category stream
 */
export const assembleChunks = (chunks: Iterable<ChatCompletionChunk>): ChatCompletionResponse => assemble(chunks)
