/**
 * Text to speech (`POST /audio/speech`, OpenAI's shape). The answer is audio bytes, streamed as the provider sends
 * them: a long answer never sits whole in memory.
 *
 * Decisions:
 * - The response is its content type plus a `Stream` of bytes. The content type is known once the provider answered
 *   (its headers); the bytes follow. A router fails over before the first byte only, as chat streams before the first
 *   chunk: audio already handed to the caller is never mixed with another deployment's.
 * - `voice` is a string (providers keep adding voices; OpenAI also accepts `{ id }` for custom voices: pass it in
 *   `extra_body`).
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type * as LiterLlmError from "./LiterLlmError.js"

/**
 * A speech request.
 *
 * @since 0.2.0
 * @category request
 */
export const SpeechRequest = Schema.Struct({
  model: Schema.String,
  /** The text to speak (OpenAI: at most 4096 characters). */
  input: Schema.String,
  voice: Schema.String,
  instructions: Schema.optional(Schema.String),
  /** `"mp3"` (default), `"opus"`, `"aac"`, `"flac"`, `"wav"`, `"pcm"`. */
  response_format: Schema.optional(Schema.String),
  /** 0.25–4 (default 1). */
  speed: Schema.optional(Schema.Number),
  stream_format: Schema.optional(Schema.String),
  extra_body: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
/** @since 0.2.0 @category request */
export type SpeechRequest = typeof SpeechRequest.Type

/**
 * Spoken audio: its media type (`audio/mpeg`, …) and its bytes. Interrupting the stream cancels the request.
 *
 * @since 0.2.0
 * @category response
 */
export interface SpeechResponse {
  readonly contentType: string
  readonly audio: Stream.Stream<Uint8Array, LiterLlmError.LiterLlmError>
}
