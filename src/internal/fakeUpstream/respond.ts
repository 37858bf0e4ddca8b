/**
 * How FakeUpstream writes one answer on the network: the scripted wait, then a whole JSON body or SSE events one by
 * one, with the scripted faults (a hang, a dropped socket, a stalled stream) at the point the script names. What the
 * bodies and events say comes from `answer.ts`; this module only times and writes them.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Http from "node:http"
import type { RecordedRequest, Script } from "../../FakeUpstream.js"
import * as Answer from "./answer.js"

const writeText = (res: Http.ServerResponse, text: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    res.write(text, () => resume(Effect.void))
  })

const endText = (res: Http.ServerResponse, text: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    res.end(text, () => resume(Effect.void))
  })

const sleepFor = (duration: Duration.DurationInput | undefined) =>
  duration === undefined ? Effect.void : Effect.sleep(duration)

/**
 * Answers `request` under `script` on `res`. Sets `dropped.value` when the script destroys the socket, so the caller
 * does not count that as a client going away.
 *
 * @since 0.2.0
 * @category answering
 */
export const respond = (
  res: Http.ServerResponse,
  request: RecordedRequest,
  script: Script,
  dropped: { value: boolean }
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const drop = Effect.zipRight(
      Effect.sync(() => {
        dropped.value = true
        res.socket?.destroy()
      }),
      Effect.never
    )
    yield* sleepFor(script.latency)
    if (script.hang === true) return yield* Effect.never
    const path = request.url.split("?")[0]!
    const route = Answer.routeOf(request.method, path)
    const status = script.status ?? (route === "unknown" ? 404 : 200)
    const ok = status >= 200 && status < 300
    const streaming = Answer.field(request.body, "stream") === true && Answer.streams(route)
    const reply = () => Effect.map(Clock.currentTimeMillis, (now) => Answer.replyOf(request, script, now))

    if (!streaming || !ok) {
      if (script.dropAfter !== undefined) return yield* drop
      const body =
        script.body !== undefined
          ? script.body
          : ok
            ? Answer.successBody(route, request, script, yield* reply())
            : Answer.errorBody(route, request, path, status)
      res.writeHead(status, { "content-type": "application/json", ...script.headers })
      return yield* endText(res, script.malformed === true ? Answer.malformedBody : JSON.stringify(body))
    }

    // A stream: SSE events, written one by one so that delays and drops land between chunks.
    const events = script.events ?? Answer.streamEvents(route, request, script, yield* reply())
    res.writeHead(status, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      ...script.headers
    })
    res.flushHeaders()
    for (let i = 0; i < events.length; i++) {
      if (script.dropAfter === i) return yield* drop
      if (script.stallAfter === i) return yield* Effect.never
      yield* sleepFor(i === 0 ? script.firstChunkDelay : script.chunkDelay)
      yield* writeText(res, events[i]!)
    }
    if (script.dropAfter !== undefined && script.dropAfter >= events.length) return yield* drop
    if (script.stallAfter !== undefined && script.stallAfter >= events.length) return yield* Effect.never
    yield* endText(res, "")
  })
