/**
 * A loopback server that answers every request with one recorded fixture: its status, its headers and its body bytes,
 * written in the pieces a split mode gives. Each write waits for Node to hand the previous one to the socket (and
 * Nagle is off), so pieces leave as separate writes instead of being merged in Node's buffer. The server is started
 * and closed by `test/support/loopback.ts` (`listen`), in the test's scope.
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as Loopback from "../support/loopback.js"
import type { Fixture } from "./fixture.js"
import * as Split from "./split.js"

export interface Received {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly body: string
}

export interface ReplayServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** The requests received so far, in order. */
  readonly requests: Effect.Effect<ReadonlyArray<Received>>
}

const writePiece = (res: Http.ServerResponse, piece: Uint8Array) =>
  Effect.async<void, Error>((resume) => {
    res.write(piece, (error) => resume(error ? Effect.fail(error) : Effect.void))
  })

const readBody = (req: Http.IncomingMessage) =>
  Effect.async<string, Error>((resume) => {
    const parts: Array<Buffer> = []
    req.on("data", (part: Buffer) => parts.push(part))
    req.on("end", () => resume(Effect.succeed(Buffer.concat(parts).toString("utf8"))))
    req.on("error", (error) => resume(Effect.fail(error)))
  })

/** Answers one request: records it, then sends the fixture in the mode's pieces. */
const answer =
  (fixture: Fixture, mode: Split.Mode, log: Ref.Ref<ReadonlyArray<Received>>) =>
  (req: Http.IncomingMessage, res: Http.ServerResponse) =>
    Effect.gen(function* () {
      const body = yield* readBody(req)
      yield* Ref.update(log, (all) => [
        ...all,
        { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body }
      ])
      req.socket.setNoDelay(true)
      res.writeHead(fixture.status, fixture.headers)
      res.flushHeaders()
      for (const piece of yield* Split.pieces(fixture.body, mode)) yield* writePiece(res, piece)
      res.end()
    }).pipe(Effect.catchAll(() => Effect.sync(() => res.destroy())))

/** Starts a server answering every request with `fixture`, written in `mode`; closed with the scope. */
export const serve = (fixture: Fixture, mode: Split.Mode): Effect.Effect<ReplayServer, Error, Scope.Scope> =>
  Effect.gen(function* () {
    const log = yield* Ref.make<ReadonlyArray<Received>>([])
    const runtime = yield* Effect.runtime<never>()
    const run = Runtime.runFork(runtime)
    const handle = answer(fixture, mode, log)
    const { url } = yield* Loopback.listen((req, res) => {
      run(handle(req, res))
    })
    return { url, requests: Ref.get(log) }
  })
