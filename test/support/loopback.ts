/**
 * A scriptable loopback HTTP server for tests of request shapes: it records every request (method, path, headers and
 * the body — whole, or only counted for large uploads) and answers with what the test's handler returns. It listens on
 * 127.0.0.1, port 0, in the test's scope, and is closed, connections and all, when the scope ends. `listen` is that
 * start and close alone, for servers that answer in their own way (the replay server writes fixtures piece by piece).
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

export interface Received {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  /** The body, unless the server only counts bytes. */
  readonly body: Buffer
  /** Bytes received. */
  readonly size: number
}

export interface Answer {
  readonly status?: number
  readonly headers?: Readonly<Record<string, string>>
  /** A string or bytes, or an iterable of byte chunks written one by one (for long answers). */
  readonly body?: string | Uint8Array | Iterable<Uint8Array>
}

export interface Loopback {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly requests: Effect.Effect<ReadonlyArray<Received>>
}

/** Writes `chunk`, waiting for the socket to drain when Node's buffer is full (a slow reader slows the writer). */
const write = (res: Http.ServerResponse, chunk: Uint8Array) =>
  new Promise<void>((resolve, reject) => {
    if (res.write(chunk)) return resolve()
    const settle = (error?: Error) => {
      res.off("drain", settle)
      res.off("close", closed)
      if (error === undefined) resolve()
      else reject(error)
    }
    const closed = () => settle(new Error("the connection closed before the answer was written"))
    res.once("drain", settle)
    res.once("close", closed)
  })

/**
 * Starts a node:http server on 127.0.0.1, port 0, handing every request to `handler`; closed, connections and all,
 * when the scope ends. The one place the test servers are started and stopped.
 */
export const listen = (
  handler: (req: Http.IncomingMessage, res: Http.ServerResponse) => void
): Effect.Effect<{ readonly url: string }, Error, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.async<Http.Server, Error>((resume) => {
        const server = Http.createServer(handler)
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    ),
    (server) => ({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
  )

/**
 * Starts a server answering with `handle`; with `countOnly`, request bodies are counted and dropped (memory stays
 * flat however large the upload).
 */
export const serve = (
  handle: (request: Received) => Answer,
  options: { readonly countOnly?: boolean } = {}
): Effect.Effect<Loopback, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const log = yield* Ref.make<ReadonlyArray<Received>>([])
    const { url } = yield* listen((req, res) => {
      const parts: Array<Buffer> = []
      let size = 0
      req.on("data", (part: Buffer) => {
        size += part.byteLength
        if (options.countOnly !== true) parts.push(part)
      })
      req.on("error", () => res.destroy())
      req.on("end", () => {
        const received: Received = {
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(parts),
          size
        }
        Effect.runSync(Ref.update(log, (all) => [...all, received]))
        const answer = handle(received)
        res.writeHead(answer.status ?? 200, answer.headers ?? { "content-type": "application/json" })
        const body = answer.body ?? ""
        if (typeof body === "string" || body instanceof Uint8Array) {
          res.end(body)
          return
        }
        void (async () => {
          for (const chunk of body) await write(res, chunk)
          res.end()
        })().catch(() => res.destroy())
      })
    })
    return { url, requests: Ref.get(log) }
  })

/** Parses a recorded multipart body with the platform's own parser (the one `fetch` uses). */
export const formOf = (request: Received): Promise<FormData> =>
  new Response(new Uint8Array(request.body), {
    headers: { "content-type": String(request.headers["content-type"]) }
  }).formData()
