/**
 * Reading a request: its body under a size cap, as a JSON object, and its request id.
 *
 * The body is read from Node's request as buffers, not with the platform's `text`: that one destroys the socket when
 * the cap is passed, so the client would never see the 413. Here a declared `content-length` over the cap is refused
 * before a byte is read, and a chunked body is refused as soon as it passes the cap (the 413 says `connection:
 * close`, so Node drops the rest instead of reading it).
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import { RequestProblem } from "./errors.js"

const tooLarge = (max: number) =>
  new RequestProblem({
    status: 413,
    code: "request_too_large",
    message: `the request body is larger than the gateway's limit of ${max} bytes; send a smaller request`
  })

/** The raw body, at most `max` bytes. */
export const readBody = (
  request: HttpServerRequest.HttpServerRequest,
  max: number
): Effect.Effect<Buffer, RequestProblem> => {
  const declared = request.headers["content-length"]
  if (declared !== undefined && Number(declared) > max) return Effect.fail(tooLarge(max))
  const source = NodeHttpServerRequest.toIncomingMessage(request)
  return Effect.async<Buffer, RequestProblem>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const stop = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        stop()
        source.pause()
        resume(Effect.fail(tooLarge(max)))
      } else {
        chunks.push(chunk)
      }
    }
    const onEnd = () => {
      stop()
      resume(Effect.succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    }
    const onError = (cause: Error) => {
      stop()
      resume(
        Effect.fail(
          new RequestProblem({ status: 400, message: `the request body could not be read: ${cause.message}` })
        )
      )
    }
    source.on("data", onData)
    source.on("end", onEnd)
    source.on("error", onError)
    return Effect.sync(stop)
  })
}

/** The body as a JSON object; anything else is a 400 that says what is wrong. */
export const readJsonObject = (
  request: HttpServerRequest.HttpServerRequest,
  max: number
): Effect.Effect<Record<string, unknown>, RequestProblem> =>
  Effect.flatMap(readBody(request, max), (buffer) => {
    const text = buffer.toString("utf8")
    if (text.trim() === "") {
      return Effect.fail(new RequestProblem({ status: 400, message: "the request body is empty; send a JSON object" }))
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (cause) {
      return Effect.fail(
        new RequestProblem({
          status: 400,
          code: "invalid_json",
          message: `the request body is not valid JSON (${(cause as Error).message}); send a JSON object`
        })
      )
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return Effect.fail(
        new RequestProblem({
          status: 400,
          message: `the request body must be a JSON object, got ${Array.isArray(value) ? "an array" : value === null ? "null" : typeof value}`
        })
      )
    }
    return Effect.succeed(value as Record<string, unknown>)
  })

// Ids are echoed into a response header and logs: keep them short and printable, else make a new one.
const usableId = /^[\x21-\x7e]{1,200}$/

/** The client's `x-request-id` when usable, else a fresh one. */
export const requestId = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<string> => {
  const given = request.headers["x-request-id"]
  if (given !== undefined && usableId.test(given)) return Effect.succeed(given)
  return Effect.map(
    Effect.all([Random.nextInt, Random.nextInt, Random.nextInt]),
    (parts) => `req_${parts.map((n) => (n >>> 0).toString(16).padStart(8, "0")).join("")}`
  )
}
