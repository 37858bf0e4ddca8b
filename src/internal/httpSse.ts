/**
 * A request answered with server-sent events, as a `Stream` of events.
 *
 * Mapping rules (beyond the shared ones of httpErrors.ts and httpRequest.ts): a transport failure after the first
 * event is `Streaming`, not `Network`, and so is a stall after it; one event is read up to `maxEventSize`. The idle
 * timeout between events is one watching fiber for the whole stream (stall.ts), not a timer per chunk.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Channel from "effect/Channel"
import type * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as LiterLlmError from "../LiterLlmError.js"
import type { Endpoint } from "./httpEndpoint.js"
import { causeDetail, timeoutError, transportError } from "./httpErrors.js"
import { makeRequest, type RequestSpec, send } from "./httpRequest.js"
import * as Sse from "./sse.js"
import * as Stall from "./stall.js"

/**
 * Options of {@link sse}.
 *
 * @since 0.1.0
 * @category models
 */
export interface SseOptions {
  /** Cap on one event (default 1 MiB). */
  readonly maxEventSize?: number | undefined
  /** Splits the body into events; default `Sse.decode`. For providers whose streams stray from the SSE rules. */
  readonly decode?: typeof Sse.decode | undefined
}

/**
 * Sends a request and streams the server-sent events of the answer. Non-2xx answers fail before any event. The
 * endpoint's timeout bounds the wait for the response headers and then each gap between events. A transport failure
 * before the first event is `Network` (transient), after it `Streaming`. Interrupting the consumer aborts the
 * request, closing the connection.
 *
 * @since 0.1.0
 * @category requests
 */
export const sse = (
  client: HttpClient.HttpClient,
  endpoint: Endpoint,
  spec: RequestSpec,
  options: SseOptions = {}
): Stream.Stream<Sse.Event, LiterLlmError.LiterLlmError> =>
  Stream.suspend(() => {
    let delivered = false
    let stall: Stall.Stall | undefined
    const built = makeRequest(endpoint, spec, "text/event-stream")
    if (Either.isLeft(built)) return Stream.fail(endpoint.scrub(built.left))
    const request = built.right
    const what = `${spec.method} ${spec.path}`
    const stalled = (): LiterLlmError.LiterLlmError =>
      delivered
        ? new LiterLlmError.Streaming({
            provider: endpoint.provider,
            message: `the stream from provider "${endpoint.provider}" stalled for ${Duration.format(
              endpoint.timeout!
            )} after it started; the partial answer is incomplete`
          })
        : timeoutError(endpoint, what)
    // Between the decoder and the caller: one step per chunk of events (an upstream read) that marks the answer as
    // started and tells the stall watch when a read waits and when it got its events. A read that ended because the
    // watch aborted the request fails as the stall, however the client reported the abort.
    const watched: Channel.Channel<
      Chunk.Chunk<Sse.Event>,
      Chunk.Chunk<Sse.Event>,
      LiterLlmError.LiterLlmError,
      LiterLlmError.LiterLlmError,
      unknown,
      unknown
    > = Channel.suspend(() => {
      // Once the watch has ended the request, no read of it is trusted to end (a fetch body aborted between two
      // reads was seen to never settle): the stall is the answer.
      if (stall?.stalled() === true) return Channel.fail(stalled())
      stall?.waiting()
      return Channel.readWithCause({
        onInput: (events: Chunk.Chunk<Sse.Event>) => {
          stall?.arrived()
          delivered = true
          return Channel.zipRight(Channel.write(events), watched)
        },
        onFailure: (cause) => {
          stall?.arrived()
          return Channel.failCause(cause)
        },
        onDone: () => {
          stall?.arrived()
          return stall?.stalled() === true ? Channel.fail(stalled()) : Channel.void
        }
      })
    })
    const events = Stream.unwrapScoped(
      Effect.gen(function* () {
        let response: HttpClientResponse.HttpClientResponse
        if (endpoint.timeout === undefined) response = yield* send(client, endpoint, request)
        else {
          // The request lives in a scope of its own (a child of the stream's), so that the stall watch can end it
          // without a timeout around every pull (stall.ts); the stream's end or interruption closes it too.
          const requestScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
          response = yield* Effect.timeoutFail(
            Scope.extend(send(HttpClient.withScope(client), endpoint, request), requestScope),
            {
              duration: endpoint.timeout,
              onTimeout: () => timeoutError(endpoint, `${what} (waiting for the response headers)`)
            }
          )
          stall = yield* Stall.watch(endpoint.timeout, requestScope)
        }
        return response.stream.pipe(
          Stream.mapError((error): LiterLlmError.LiterLlmError => {
            if (stall?.stalled() === true) return stalled()
            const mapped = transportError(endpoint, error)
            return delivered && mapped._tag === "Network"
              ? new LiterLlmError.Streaming({
                  provider: endpoint.provider,
                  cause: mapped.cause,
                  message: `the stream from provider "${endpoint.provider}" broke after it started${
                    error.description === undefined && causeDetail(error.cause) === undefined
                      ? ""
                      : ` (${error.description ?? causeDetail(error.cause)})`
                  }; the partial answer is incomplete`
                })
              : mapped
          }),
          (options.decode ?? Sse.decode)({
            maxEventSize: options.maxEventSize ?? endpoint.maxEventSize,
            provider: endpoint.provider
          })
        )
      })
    )
    return Stream.pipeThroughChannelOrFail(events, watched).pipe(Stream.mapError(endpoint.scrub))
  })
