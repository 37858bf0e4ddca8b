/**
 * HTTP for the operations whose bodies are not JSON: audio answered as bytes (speech) and files uploaded as
 * `multipart/form-data` (transcription). Both stream: the answer's bytes reach the caller as the provider sends them,
 * and an upload is read from its source as it is sent, so neither holds a large body in memory. Failures map as in
 * `http.ts` (same `send`, same timeouts, same scrubbing of the key).
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Random from "effect/Random"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as LiterLlmError from "../LiterLlmError.js"
import * as Http from "./http.js"

const withTimeout = <A>(
  endpoint: Http.Endpoint,
  what: string,
  effect: Effect.Effect<A, LiterLlmError.LiterLlmError>
): Effect.Effect<A, LiterLlmError.LiterLlmError> =>
  endpoint.timeout === undefined
    ? effect
    : Effect.timeoutFail(effect, { duration: endpoint.timeout, onTimeout: () => Http.timeoutError(endpoint, what) })

/**
 * Sends a JSON request whose answer is bytes: succeeds when the headers arrived, with the content type and the body
 * as a stream. A transport failure after the first bytes is `Streaming` (part of the answer was delivered), before
 * it `Network`; the endpoint's timeout bounds the wait for the headers and then each gap between chunks.
 */
export const bytes = (
  client: HttpClient.HttpClient,
  endpoint: Http.Endpoint,
  spec: Http.RequestSpec,
  accept: string
): Effect.Effect<
  { readonly contentType: string; readonly stream: Stream.Stream<Uint8Array, LiterLlmError.LiterLlmError> },
  LiterLlmError.LiterLlmError
> => {
  const built = Http.makeRequest(endpoint, spec, accept)
  if (Either.isLeft(built)) return Effect.fail(endpoint.scrub(built.left))
  const what = `${spec.method} ${spec.path}`
  return withTimeout(
    endpoint,
    `${what} (waiting for the response headers)`,
    Http.send(client, endpoint, built.right)
  ).pipe(
    Effect.map((response) => {
      let delivered = false
      const body = response.stream.pipe(
        Stream.mapError((error): LiterLlmError.LiterLlmError => {
          const mapped = Http.transportError(endpoint, error)
          return delivered && mapped._tag === "Network"
            ? new LiterLlmError.Streaming({
                provider: endpoint.provider,
                cause: mapped.cause,
                message: `the audio from provider "${endpoint.provider}" broke off after it started; the partial audio is incomplete`
              })
            : mapped
        }),
        Stream.tap(() =>
          Effect.sync(() => {
            delivered = true
          })
        )
      )
      const timed =
        endpoint.timeout === undefined
          ? body
          : Stream.timeoutFail(
              body,
              () =>
                delivered
                  ? new LiterLlmError.Streaming({
                      provider: endpoint.provider,
                      message: `the audio from provider "${endpoint.provider}" stalled after it started; the partial audio is incomplete`
                    })
                  : Http.timeoutError(endpoint, what),
              endpoint.timeout
            )
      return {
        contentType: response.headers["content-type"] ?? "application/octet-stream",
        stream: Stream.mapError(timed, endpoint.scrub)
      }
    }),
    Effect.mapError(endpoint.scrub)
  )
}

/**
 * One field of a form: text, or a file from bytes, a `Blob` or a stream of bytes.
 */
export type Part =
  | { readonly _tag: "Field"; readonly name: string; readonly value: string }
  | {
      readonly _tag: "File"
      readonly name: string
      readonly filename: string
      readonly contentType: string
      readonly content: Uint8Array | Blob | Stream.Stream<Uint8Array, unknown>
    }

const encoder = new TextEncoder()

/** Quotes a name for a Content-Disposition header; line breaks and quotes cannot appear in it. */
const quoted = (value: string) =>
  `"${value.replace(/[\r\n"\\]/g, (c) => (c === '"' ? "%22" : c === "\\" ? "\\\\" : " "))}"`

/** The bytes of one file part's content, as a stream, with its size when known. */
const contentOf = (
  content: Uint8Array | Blob | Stream.Stream<Uint8Array, unknown>
): { readonly stream: Stream.Stream<Uint8Array, unknown>; readonly size: number | undefined } => {
  if (content instanceof Uint8Array) return { stream: Stream.succeed(content), size: content.byteLength }
  if (typeof Blob !== "undefined" && content instanceof Blob) {
    return {
      stream: Stream.fromReadableStream({
        evaluate: () => content.stream() as ReadableStream<Uint8Array>,
        onError: (error) => error
      }),
      size: content.size
    }
  }
  return { stream: content as Stream.Stream<Uint8Array, unknown>, size: undefined }
}

/**
 * A `multipart/form-data` body as a stream of bytes, its content type, and its length when every part's size is
 * known. The boundary comes from `Random`, long enough that it is not found in the content by chance.
 */
export const multipart = (
  parts: ReadonlyArray<Part>
): Effect.Effect<{
  readonly contentType: string
  readonly stream: Stream.Stream<Uint8Array, unknown>
  readonly length: number | undefined
}> =>
  Effect.map(Effect.all(Array.from({ length: 4 }, () => Random.nextIntBetween(0, 2 ** 30))), (numbers) => {
    const boundary = `----ell${numbers.map((n) => n.toString(36)).join("")}`
    const pieces: Array<Stream.Stream<Uint8Array, unknown>> = []
    let length: number | undefined = 0
    const text = (value: string) => {
      const encoded = encoder.encode(value)
      if (length !== undefined) length += encoded.byteLength
      pieces.push(Stream.succeed(encoded))
    }
    for (const part of parts) {
      if (part._tag === "Field") {
        text(`--${boundary}\r\nContent-Disposition: form-data; name=${quoted(part.name)}\r\n\r\n${part.value}\r\n`)
      } else {
        text(
          `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(part.name)}; filename=${quoted(
            part.filename
          )}\r\nContent-Type: ${part.contentType.replace(/[\r\n]/g, "")}\r\n\r\n`
        )
        const content = contentOf(part.content)
        pieces.push(content.stream)
        length = length === undefined || content.size === undefined ? undefined : length + content.size
        text("\r\n")
      }
    }
    text(`--${boundary}--\r\n`)
    return {
      contentType: `multipart/form-data; boundary=${boundary}`,
      stream: Stream.concatAll(Chunk.fromIterable(pieces)),
      length
    }
  })

/**
 * Uploads a form and decodes the answer: JSON with `schema`, or — when the answer is not JSON (`text`, `srt`, `vtt`
 * formats) — `asText(body)`.
 */
export const upload = <A, I, R>(
  client: HttpClient.HttpClient,
  endpoint: Http.Endpoint,
  path: string,
  form: {
    readonly contentType: string
    readonly stream: Stream.Stream<Uint8Array, unknown>
    readonly length?: number | undefined
  },
  schema: Schema.Schema<A, I, R>,
  asText: (text: string) => unknown
): Effect.Effect<A, LiterLlmError.LiterLlmError, R> => {
  const built = Http.makeRequest(endpoint, { method: "POST", path }, "application/json, text/plain")
  if (Either.isLeft(built)) return Effect.fail(endpoint.scrub(built.left))
  const request = HttpClientRequest.bodyStream(built.right, form.stream, {
    contentType: form.contentType,
    ...(form.length === undefined ? {} : { contentLength: form.length })
  })
  const what = `POST ${path}`
  const effect = withTimeout(endpoint, what, Http.send(client, endpoint, request)).pipe(
    Effect.flatMap((response) =>
      Effect.map(Http.readBody(endpoint, response, what), (text) => ({
        text,
        json: (response.headers["content-type"] ?? "").includes("json")
      }))
    ),
    Effect.flatMap(({ json, text }) =>
      json
        ? Http.decodeJson(schema, text, endpoint.provider, `the response of ${path}`)
        : Http.decodeJson(schema, JSON.stringify(asText(text)), endpoint.provider, `the response of ${path}`)
    )
  )
  return Effect.mapError(effect, endpoint.scrub)
}
