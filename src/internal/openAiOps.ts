/**
 * The OpenAI-compatible wire for images, speech, transcription and moderation: OpenAI's paths and bodies, which
 * Azure, Groq, xAI, Together, Mistral (moderation) and most hosts serve the same way.
 *
 * Decisions:
 * - Transcription uploads go as `multipart/form-data` the way OpenAI's SDKs send them (`file`, `model`, plain fields,
 *   arrays as repeated `name[]` fields); the file streams from its source. A file over `maxFileSize` (OpenAI: 25 MB)
 *   is a `BadRequest` before anything is sent when its size is known (bytes, Blob), and stops the upload with the same
 *   error as soon as a stream passes it.
 * - Non-JSON transcription formats (`text`, `srt`, `vtt`) answer `{ text }` with the raw text.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Image from "../Image.js"
import * as LiterLlmError from "../LiterLlmError.js"
import type * as LlmService from "../LlmService.js"
import * as Moderation from "../Moderation.js"
import type * as Speech from "../Speech.js"
import * as Transcription from "../Transcription.js"
import * as Http from "./http.js"
import * as HttpBinary from "./httpBinary.js"

/** OpenAI's limit on a transcription upload: 25 MB. */
export const defaultMaxFileSize = 25 * 1024 * 1024

const audioTypes: Record<string, string> = {
  mp3: "audio/mpeg",
  mpga: "audio/mpeg",
  mpeg: "audio/mpeg",
  m4a: "audio/mp4",
  mp4: "audio/mp4",
  wav: "audio/wav",
  webm: "audio/webm",
  ogg: "audio/ogg",
  flac: "audio/flac"
}

const speechTypes: Record<string, string> = {
  mp3: "audio/mpeg",
  opus: "audio/opus",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm"
}

const tooLarge = (provider: string, size: number | string, max: number) =>
  new LiterLlmError.BadRequest({
    provider,
    message: `invalid transcription request: file: larger than provider "${provider}" accepts (${max} bytes), got ${size} bytes; nothing more was sent — split or compress the audio`
  })

/**
 * Fails the stream as soon as more than `max` bytes went through it, and says so in `over`: the HTTP client reports a
 * failed request body as a transport failure, which the upload turns back into the `BadRequest` it is.
 */
const capped = (stream: Stream.Stream<Uint8Array, unknown>, max: number, over: { exceeded: boolean }) =>
  Stream.suspend(() => {
    let seen = 0
    return Stream.mapEffect(stream, (chunk) => {
      seen += chunk.byteLength
      if (seen <= max) return Effect.succeed(chunk)
      over.exceeded = true
      return Effect.fail(new Error("the file passed the size limit"))
    })
  })

const formFields = (request: Transcription.TranscriptionRequest, model: string): Array<HttpBinary.Part> => {
  const { contentType: _type, extra_body, file: _file, filename: _name, ...rest } = request
  const fields: Array<HttpBinary.Part> = []
  const add = (name: string, value: unknown) => {
    if (value === undefined || value === null) return
    if (Array.isArray(value)) {
      for (const item of value) add(`${name}[]`, item)
      return
    }
    fields.push({ _tag: "Field", name, value: typeof value === "string" ? value : JSON.stringify(value) })
  }
  for (const [name, value] of Object.entries({ ...rest, model, ...extra_body })) add(name, value)
  return fields
}

/**
 * The four operations over one endpoint.
 */
export const make = (options: {
  readonly client: HttpClient.HttpClient
  readonly endpoint: Http.Endpoint
  readonly wireModel: (model: string) => string
  readonly toWire: (request: object) => Record<string, unknown>
  readonly maxFileSize?: number | undefined
}): Pick<LlmService.Service, "image" | "speech" | "transcribe" | "moderate"> => {
  const { client, endpoint, toWire, wireModel } = options
  const provider = endpoint.provider
  const maxFileSize = options.maxFileSize ?? defaultMaxFileSize
  return {
    image: (request) =>
      Http.json(
        client,
        endpoint,
        { method: "POST", path: "/images/generations", body: toWire({ ...request, model: wireModel(request.model) }) },
        Image.ImageResponse
      ),
    moderate: (request) =>
      Http.json(
        client,
        endpoint,
        { method: "POST", path: "/moderations", body: toWire({ ...request, model: wireModel(request.model) }) },
        Moderation.ModerationResponse
      ),
    speech: (request): Effect.Effect<Speech.SpeechResponse, LiterLlmError.LiterLlmError> =>
      Effect.map(
        HttpBinary.bytes(
          client,
          endpoint,
          { method: "POST", path: "/audio/speech", body: toWire({ ...request, model: wireModel(request.model) }) },
          speechTypes[request.response_format ?? "mp3"] ?? "application/octet-stream"
        ),
        ({ contentType, stream }) => ({ contentType, audio: stream })
      ),
    transcribe: (request) => {
      const file = request.file
      const size = file instanceof Uint8Array ? file.byteLength : file instanceof Blob ? file.size : undefined
      if (size !== undefined && size > maxFileSize) return Effect.fail(tooLarge(provider, size, maxFileSize))
      const filename = request.filename ?? "audio.mp3"
      const extension = filename.includes(".") ? filename.slice(filename.lastIndexOf(".") + 1).toLowerCase() : ""
      const over = { exceeded: false }
      const content = size === undefined ? capped(file as Stream.Stream<Uint8Array, unknown>, maxFileSize, over) : file
      const sent = Effect.flatMap(
        HttpBinary.multipart([
          {
            _tag: "File",
            name: "file",
            filename,
            contentType: request.contentType ?? audioTypes[extension] ?? "application/octet-stream",
            content
          },
          ...formFields(request, wireModel(request.model))
        ]),
        (form) =>
          HttpBinary.upload(
            client,
            endpoint,
            "/audio/transcriptions",
            form,
            Transcription.TranscriptionResponse,
            (text) => ({
              text
            })
          )
      )
      return Effect.mapError(sent, (error) =>
        over.exceeded ? tooLarge(provider, `more than ${maxFileSize}`, maxFileSize) : error
      )
    }
  }
}
