/**
 * A tiny scriptable HTTP server on 127.0.0.1 (port 0) for the native provider tests: each request takes the next
 * scripted reply (JSON with a status and headers, or a server-sent-event stream) and is recorded with its method,
 * path, headers and JSON body, so tests can assert what went over the wire.
 */
import { NodeHttpServer } from "@effect/platform-node"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { createServer } from "node:http"

export interface Recorded {
  readonly method: string
  /** Path and query string. */
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
}

export interface SseEvent {
  readonly event?: string
  /** Serialised with JSON.stringify unless it is already a string. */
  readonly data: unknown
}

export type Reply =
  | {
      readonly _tag: "json"
      readonly status?: number
      readonly body: unknown
      readonly headers?: Readonly<Record<string, string>>
    }
  | { readonly _tag: "sse"; readonly events: ReadonlyArray<SseEvent>; readonly dropAfter?: number }
  | {
      readonly _tag: "raw"
      readonly pieces: ReadonlyArray<string>
      readonly contentType: string
      readonly hold: boolean
    }
  | { readonly _tag: "hang" }

export const json = (body: unknown, status = 200, headers: Readonly<Record<string, string>> = {}): Reply => ({
  _tag: "json",
  body,
  status,
  headers
})

/** `dropAfter`: fail the body after that many events; the server then ends the response early. */
export const sse = (events: ReadonlyArray<SseEvent>, dropAfter?: number): Reply =>
  dropAfter === undefined ? { _tag: "sse", events } : { _tag: "sse", events, dropAfter }

/**
 * A 200 whose body is exactly `pieces`, written in order (for streams that stray from SSE framing); with `hold` the
 * body then stays open until the client goes away.
 */
export const raw = (
  pieces: ReadonlyArray<string>,
  options: { readonly hold?: boolean; readonly contentType?: string } = {}
): Reply => ({
  _tag: "raw",
  pieces,
  hold: options.hold ?? false,
  contentType: options.contentType ?? "text/event-stream"
})

/** Never answers; the handler ends when the client goes away. */
export const hang: Reply = { _tag: "hang" }

export interface NativeServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** Replies for the next requests, in order. */
  readonly script: (...replies: ReadonlyArray<Reply>) => Effect.Effect<void>
  readonly requests: Effect.Effect<ReadonlyArray<Recorded>>
  /** Waits (without polling) until `n` requests have arrived. */
  readonly awaitRequests: (n: number) => Effect.Effect<ReadonlyArray<Recorded>>
}

const encoder = new TextEncoder()

const frame = (event: SseEvent): Uint8Array =>
  encoder.encode(
    `${event.event === undefined ? "" : `event: ${event.event}\n`}data: ${
      typeof event.data === "string" ? event.data : JSON.stringify(event.data)
    }\n\n`
  )

const respond = (reply: Exclude<Reply, { readonly _tag: "hang" }>): HttpServerResponse.HttpServerResponse => {
  if (reply._tag === "json") {
    return HttpServerResponse.text(JSON.stringify(reply.body), {
      status: reply.status ?? 200,
      contentType: "application/json",
      headers: reply.headers ?? {}
    })
  }
  if (reply._tag === "raw") {
    const pieces = Stream.fromIterable(reply.pieces.map((piece) => encoder.encode(piece)))
    return HttpServerResponse.stream(reply.hold ? Stream.concat(pieces, Stream.never) : pieces, {
      contentType: reply.contentType
    })
  }
  const frames = reply.events.map(frame)
  const body =
    reply.dropAfter === undefined
      ? Stream.fromIterable(frames)
      : Stream.concat(Stream.fromIterable(frames.slice(0, reply.dropAfter)), Stream.fail("connection dropped"))
  return HttpServerResponse.stream(body, { contentType: "text/event-stream" })
}

/** Starts a server for the scope's lifetime. */
export const make: Effect.Effect<NativeServer, never, Scope.Scope> = Effect.gen(function* () {
  const queue = yield* Ref.make<ReadonlyArray<Reply>>([])
  const recorded = yield* SubscriptionRef.make<ReadonlyArray<Recorded>>([])
  const server = yield* Effect.orDie(NodeHttpServer.make(() => createServer(), { port: 0, host: "127.0.0.1" }))
  const app = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const text = yield* Effect.orElseSucceed(request.text, () => "")
    let body: unknown = undefined
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      body = text
    }
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(request.headers)) headers[name] = value
    yield* SubscriptionRef.update(recorded, (all) => [
      ...all,
      { method: request.method, url: request.url, headers, body }
    ])
    const next = yield* Ref.modify(queue, (replies) => [replies[0], replies.slice(1)] as const)
    if (next === undefined) {
      return HttpServerResponse.text(JSON.stringify({ error: { message: "no scripted reply left" } }), { status: 500 })
    }
    return next._tag === "hang" ? yield* Effect.never : respond(next)
  })
  yield* server.serve(app)
  const address = server.address
  const port = address._tag === "TcpAddress" ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    script: (...replies) => Ref.update(queue, (existing) => [...existing, ...replies]),
    requests: SubscriptionRef.get(recorded),
    awaitRequests: (n) =>
      recorded.changes.pipe(
        Stream.filter((all) => all.length >= n),
        Stream.runHead,
        Effect.map((all) => Option.getOrElse(all, () => []))
      )
  }
})
