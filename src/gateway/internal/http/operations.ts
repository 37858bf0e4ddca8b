/**
 * The other operations, served the way OpenAI's API (and, for rerank, Cohere's) serves them:
 * `POST /v1/images/generations`, `/v1/moderations`, `/v1/rerank` (JSON in and out), `/v1/audio/speech` (JSON in,
 * the audio's bytes streamed out as they arrive) and `/v1/audio/transcriptions` (multipart in, as the `openai` SDK
 * sends it; JSON or text out).
 *
 * Decisions:
 * - A transcription upload is written to a temporary file in the request's scope (deleted when the request ends), at
 *   most `maxFileSize` bytes, and sent upstream from that file as a stream: memory stays bounded however large the
 *   upload, and a failover re-reads the file rather than the (already consumed) request body.
 * - Speech answers with the provider's content type once the router has the first bytes (a failure before them
 *   fails over or gets an error status); a failure after them ends the response early.
 * - `response_format` `text`, `srt` and `vtt` transcriptions answer the text as `text/plain`, as OpenAI does.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Multipart from "@effect/platform/Multipart"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Image from "../../../Image.js"
import type * as LiterLlmError from "../../../LiterLlmError.js"
import type * as LlmService from "../../../LlmService.js"
import type * as Moderation from "../../../Moderation.js"
import type * as Rerank from "../../../Rerank.js"
import type * as Speech from "../../../Speech.js"
import type * as Transcription from "../../../Transcription.js"
import * as ValidateOps from "../../../internal/validateOps.js"
import * as Call from "./call.js"
import { RequestProblem } from "./errors.js"
import * as Request from "./request.js"
import * as Route from "./route.js"
import * as Routing from "./routing.js"

/** A JSON operation: read, check, route, answer (with the route in the headers). */
export const jsonOperation =
  <Req extends { readonly model: string }, A>(
    problem: (request: unknown) => LiterLlmError.BadRequest | undefined,
    run: (service: LlmService.Service, request: Req) => Effect.Effect<A, LiterLlmError.LiterLlmError>
  ) =>
  (env: Call.Env) =>
    Call.handle(env)((call) =>
      Effect.gen(function* () {
        const caller = yield* Call.caller(env, call)
        const body = yield* Request.readJsonObject(call.request, env.maxBodySize)
        const bad = problem(body)
        if (bad !== undefined) return yield* Effect.fail(bad)
        const settings = yield* Routing.parse(call.request, env.routingLimits)
        const request = body as unknown as Req
        const service = yield* env.access.serviceFor(caller, request.model)
        const observed = yield* Route.observe
        const answer = yield* observed.effect(Route.steer(settings, run(service, request)))
        return Call.json(answer, { ...call.headers, ...Route.headers(yield* observed.get) })
      })
    )

/** `POST /v1/images/generations` */
export const images = jsonOperation<Image.ImageRequest, Image.ImageResponse>(ValidateOps.imageProblem, (s, r) =>
  s.image(r)
)

/** `POST /v1/moderations` */
export const moderations = jsonOperation<Moderation.ModerationRequest, Moderation.ModerationResponse>(
  ValidateOps.moderationProblem,
  (s, r) => s.moderate(r)
)

/** `POST /v1/rerank` (Cohere's request and response shape) */
export const rerank = jsonOperation<Rerank.RerankRequest, Rerank.RerankResponse>(ValidateOps.rerankProblem, (s, r) =>
  s.rerank(r)
)

/** `POST /v1/audio/speech` */
export const speech = (env: Call.Env) =>
  Call.handle(env)((call) =>
    Effect.gen(function* () {
      const caller = yield* Call.caller(env, call)
      const body = yield* Request.readJsonObject(call.request, env.maxBodySize)
      const bad = ValidateOps.speechProblem(body)
      if (bad !== undefined) return yield* Effect.fail(bad)
      const settings = yield* Routing.parse(call.request, env.routingLimits)
      const request = body as unknown as Speech.SpeechRequest
      const service = yield* env.access.serviceFor(caller, request.model)
      const observed = yield* Route.observe
      const answer = yield* observed.effect(Route.steer(settings, service.speech(request)))
      return HttpServerResponse.stream(answer.audio, {
        contentType: answer.contentType,
        headers: { ...call.headers, ...Route.headers(yield* observed.get) }
      })
    })
  )

const textFormats = new Set(["text", "srt", "vtt"])

const fields = ["model", "language", "prompt", "response_format", "temperature"] as const

/** The form as a transcription request, the file read from its temporary copy. */
const requestOf = (
  form: Multipart.Persisted,
  fs: FileSystem.FileSystem
): Effect.Effect<Transcription.TranscriptionRequest, RequestProblem> => {
  const files = form["file"]
  const file = Array.isArray(files) ? (files[0] as unknown) : undefined
  if (file === undefined || !Multipart.isPersistedFile(file)) {
    return Effect.fail(
      new RequestProblem({
        status: 400,
        param: "file",
        message: "the form has no `file` part; send the audio as `file`"
      })
    )
  }
  const text = (key: string): string | undefined => {
    const value = form[key]
    return typeof value === "string" ? value : undefined
  }
  const list = (key: string): ReadonlyArray<string> | undefined => {
    const value = form[`${key}[]`] ?? form[key]
    if (value === undefined) return undefined
    return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string")
  }
  const request: Record<string, unknown> = {
    file: fs.stream(file.path),
    filename: file.name,
    contentType: file.contentType
  }
  for (const key of fields) {
    const value = text(key)
    if (value !== undefined) request[key] = key === "temperature" ? Number(value) : value
  }
  const granularities = list("timestamp_granularities")
  if (granularities !== undefined) request.timestamp_granularities = granularities
  const include = list("include")
  if (include !== undefined) request.include = include
  if (typeof request.model !== "string") {
    return Effect.fail(new RequestProblem({ status: 400, param: "model", message: "the form has no `model` field" }))
  }
  return Effect.succeed(request as unknown as Transcription.TranscriptionRequest)
}

const formProblem = (error: Multipart.MultipartError, maxFileSize: number) =>
  error.reason === "FileTooLarge" || error.reason === "BodyTooLarge"
    ? new RequestProblem({
        status: 413,
        code: "request_too_large",
        message: `the upload is larger than the gateway's limit of ${maxFileSize} bytes; split or compress the audio`
      })
    : new RequestProblem({ status: 400, message: `the multipart form could not be read (${error.reason})` })

const files = Layer.merge(NodeFileSystem.layer, NodePath.layer)

/** `POST /v1/audio/transcriptions`, multipart in. */
export const transcriptions = (env: Call.Env) =>
  Call.handle(env)((call) =>
    Effect.gen(function* () {
      const caller = yield* Call.caller(env, call)
      const fs = yield* FileSystem.FileSystem
      const form = yield* call.request.multipart.pipe(
        Multipart.withLimits({
          maxFileSize: Option.some(env.maxFileSize),
          maxTotalSize: Option.some(env.maxFileSize + 1024 * 1024)
        }),
        Effect.mapError((error) => formProblem(error, env.maxFileSize))
      )
      const request = yield* requestOf(form, fs)
      const bad = ValidateOps.transcriptionProblem(request)
      if (bad !== undefined) return yield* Effect.fail(bad)
      const settings = yield* Routing.parse(call.request, env.routingLimits)
      const service = yield* env.access.serviceFor(caller, request.model)
      const observed = yield* Route.observe
      const answer = yield* observed.effect(Route.steer(settings, service.transcribe(request)))
      const headers = { ...call.headers, ...Route.headers(yield* observed.get) }
      return textFormats.has(request.response_format ?? "")
        ? HttpServerResponse.text(answer.text, { contentType: "text/plain; charset=utf-8", headers })
        : Call.json(answer, headers)
    }).pipe(Effect.provide(files))
  )
