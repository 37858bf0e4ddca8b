/**
 * Speech to text (`POST /audio/transcriptions`, OpenAI's shape, also served by Groq and Azure), sent as
 * `multipart/form-data`.
 *
 * Decisions:
 * - The file is bytes, a `Blob`, or a `Stream` of bytes. A stream is sent as it is read, so a large upload runs in
 *   bounded memory; a router that fails over runs the stream again, so pass a stream that can be re-run (one that
 *   reads a file each time it is run), or bytes.
 * - `filename` names the upload (providers pick the decoder by its extension; default `"audio.mp3"`), `contentType`
 *   is its media type (default from the extension).
 * - Every `response_format` answers `{ text, … }`: JSON formats decode to their fields, `text`, `srt` and `vtt` answer
 *   the raw text as `text`.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/**
 * The audio file: bytes, a `Blob`, or a `Stream` of byte chunks.
 *
 * @since 0.2.0
 * @category request
 */
export const AudioFile = Schema.Union(
  Schema.Uint8ArrayFromSelf,
  Schema.declare((u: unknown): u is Blob => typeof Blob !== "undefined" && u instanceof Blob, {
    identifier: "Blob"
  }),
  Schema.declare((u: unknown): u is Stream.Stream<Uint8Array, unknown> => Stream.StreamTypeId in Object(u), {
    identifier: "Stream<Uint8Array>"
  })
)
/** @since 0.2.0 @category request */
export type AudioFile = typeof AudioFile.Type

/**
 * A transcription request.
 *
 * @since 0.2.0
 * @category request
 */
export const TranscriptionRequest = Schema.Struct({
  model: Schema.String,
  file: AudioFile,
  filename: Schema.optional(Schema.String),
  contentType: Schema.optional(Schema.String),
  language: Schema.optional(Schema.String),
  prompt: Schema.optional(Schema.String),
  /** `"json"` (default), `"text"`, `"srt"`, `"verbose_json"`, `"vtt"`. */
  response_format: Schema.optional(Schema.String),
  temperature: Schema.optional(Schema.Number),
  timestamp_granularities: Schema.optional(Schema.Array(Schema.String)),
  include: Schema.optional(Schema.Array(Schema.String)),
  /** Other form fields, sent as they are (strings, or JSON for anything else). */
  extra_body: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
/** @since 0.2.0 @category request */
export type TranscriptionRequest = typeof TranscriptionRequest.Type

/**
 * A transcription: the text, plus whatever else the format carries (`language`, `duration`, `segments`, `words`,
 * `usage`, kept as the provider sent them).
 *
 * @since 0.2.0
 * @category response
 */
export const TranscriptionResponse = Schema.Struct({
  text: Schema.String,
  language: Schema.optional(Schema.NullOr(Schema.String)),
  duration: Schema.optional(Schema.NullOr(Schema.Number)),
  usage: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })))
})
/** @since 0.2.0 @category response */
export type TranscriptionResponse = typeof TranscriptionResponse.Type
