/**
 * The gateway's HTTP server: an OpenAI-compatible API over the `Access` in context, on @effect/platform's
 * `HttpLayerRouter` and Node's HTTP server.
 *
 * ```ts
 * const server = Server.layer({ port: 4000 }).pipe(
 *   Layer.provide(Access.layerOpen),
 *   Layer.provide(Router.layerWithStats({ deployments, strategy: Strategy.roundRobin() }))
 * )
 * ```
 *
 * Endpoints: `POST /v1/chat/completions` (JSON and SSE), `POST /v1/embeddings`, `GET /v1/models`,
 * `POST /v1/images/generations`, `POST /v1/moderations`, `POST /v1/rerank`, `POST /v1/audio/speech` (streamed bytes),
 * `POST /v1/audio/transcriptions` (multipart in; see the server's internal `operations.ts`),
 * `GET /health/liveliness`, `GET /health/readiness`, `GET /metrics` (the same without `/v1` too, as some clients
 * drop it from the base URL).
 *
 * Decisions:
 * - Every failure is an OpenAI error body with a status mapped from the library's error (see the server's
 *   internal `errors.ts`), so every OpenAI SDK raises its own error class, with `retry-after` when the wait is known.
 * - The server reads `Router.Router` when the context has one (`Router.layerWithStats`): the model list and
 *   readiness come from its deployments. Without it the list is empty and readiness only reflects shutdown.
 * - Every answer carries `x-request-id` (the client's, when printable and at most 200 characters, else a new one).
 *   Routed answers say how they were served: `x-ell-deployment`, `x-ell-attempts`, `x-ell-group` and `x-ell-cost`
 *   (USD). A stream's headers go out before its cost is known, and before its route when the first chunk is slower
 *   than `heartbeat` (the first `: ping` sends them); so every stream ends with the same facts as SSE comment lines
 *   (`: x-ell-cost: 0.00042000`) in one block just before its last event, `data: [DONE]` or the error event. SSE
 *   clients skip comments (OpenAI's SDKs do); HTTP trailers would say the same, but the platform's response has no
 *   public API for them and fetch clients cannot read them.
 * - Request headers `x-ell-tags` (comma-separated), `x-ell-timeout` (milliseconds or a duration such as `2 seconds`)
 *   and `x-ell-max-attempts` steer the router for that request (`Router.withRouting`); a bad value is a 400, and so
 *   is a value above `routingLimits` (the router's own): a key holder may tighten the router's limits, not loosen them.
 * - Health endpoints need no key (probes cannot send one); `/metrics` needs an `admin` caller's key (the master key,
 *   which Prometheus can send as a bearer token) unless `publicMetrics` is set. See the server's internal `status.ts`.
 * - The host defaults to 127.0.0.1: exposing the gateway is a decision the caller makes by passing a host.
 * - Shutdown (closing the layer's scope, e.g. on SIGTERM): stop accepting, fail readiness, close idle keep-alive
 *   connections, let in-flight requests finish for up to `shutdownTimeout`, then drop what is left (which
 *   interrupts the upstream calls behind them).
 *
 * @since 0.2.0
 */
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Http from "node:http"
import * as LiterLlmError from "../LiterLlmError.js"
import * as Router from "../Router.js"
import * as Validate from "../internal/validate.js"
import * as Access from "./Access.js"
import * as Call from "./internal/http/call.js"
import * as Chat from "./internal/http/chat.js"
import * as Errors from "./internal/http/errors.js"
import * as Operations from "./internal/http/operations.js"
import * as Status from "./internal/http/status.js"

/**
 * Options of {@link layer}.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The port (default 4000); 0 picks a free one, see {@link Listening}. */
  readonly port?: number | undefined
  /** The interface to bind (default 127.0.0.1). */
  readonly host?: string | undefined
  /** The largest request body accepted, in bytes (default 10 MiB); larger ones get a 413. */
  readonly maxBodySize?: number | undefined
  /** The largest transcription upload accepted, in bytes (default 25 MiB, OpenAI's limit); larger ones get a 413. */
  readonly maxFileSize?: number | undefined
  /** How long a stream may wait for its first chunk before the answer starts with `: ping` comments (default 15 s). */
  readonly heartbeat?: Duration.DurationInput | undefined
  /** The text of `GET /metrics` (Prometheus exposition format); without it the endpoint is a 404. */
  readonly metrics?: Effect.Effect<string> | undefined
  /**
   * The most a request's `x-ell-max-attempts` and `x-ell-timeout` may ask for: the router's own `maxAttempts` and
   * `timeout` (`Gateway.layer` passes the config's). Above them a request is a 400; without them any value is taken.
   */
  readonly routingLimits?:
    { readonly maxAttempts?: number | undefined; readonly timeout?: Duration.DurationInput | undefined } | undefined
  /** Serve `GET /metrics` without a key (default false: only to `admin` callers, the master key). */
  readonly publicMetrics?: boolean | undefined
  /** How long shutdown waits for in-flight requests before dropping them (default 10 s). */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

/**
 * Where a started server listens.
 *
 * @since 0.2.0
 * @category models
 */
export interface Address {
  readonly host: string
  readonly port: number
  /** `http://host:port`, without a path. */
  readonly url: string
}

/**
 * The address of the running server, provided by {@link layer}: how a caller learns the port when it asked for 0.
 *
 * @since 0.2.0
 * @category tags
 */
export class Listening extends Context.Tag("effect-liter-llm/gateway/Server/Listening")<Listening, Address>() {}

const OptionsSchema = Schema.Struct({
  port: Schema.optional(Validate.NonNegativeInt.pipe(Schema.lessThanOrEqualTo(65535))),
  host: Schema.optional(Schema.NonEmptyTrimmedString),
  maxBodySize: Schema.optional(Validate.PositiveInt),
  maxFileSize: Schema.optional(Validate.PositiveInt),
  routingLimits: Schema.optional(Schema.Struct({ maxAttempts: Schema.optional(Validate.PositiveInt) }))
})

const duration = (
  name: string,
  input: Duration.DurationInput | undefined,
  fallback: Duration.Duration
): Effect.Effect<Duration.Duration, LiterLlmError.BadRequest> => {
  if (input === undefined) return Effect.succeed(fallback)
  const decoded = Duration.decodeUnknown(input)
  return Option.isSome(decoded) && Duration.isFinite(decoded.value) && Duration.toMillis(decoded.value) > 0
    ? Effect.succeed(decoded.value)
    : Effect.fail(
        new LiterLlmError.BadRequest({
          message: `Server.layer: option ${name}: expected a positive finite duration, got ${String(input)}; fix the option where the layer is built`
        })
      )
}

const notFound = Errors.toResponse(
  {
    status: 404,
    type: "not_found_error",
    code: "unknown_route",
    param: null,
    message:
      "no such endpoint; the gateway serves /v1/chat/completions, /v1/embeddings, /v1/models, /v1/images/generations, /v1/moderations, /v1/rerank, /v1/audio/speech and /v1/audio/transcriptions",
    retryAfter: undefined,
    retryable: false
  },
  {}
)

const internalError = (cause: Cause.Cause<unknown>) =>
  Effect.as(
    Effect.logError("gateway: unexpected failure while handling a request", cause),
    Errors.toResponse(Errors.ofError(new LiterLlmError.InternalError({})), {})
  )

const routes = (env: Call.Env) =>
  HttpLayerRouter.addAll(
    (["/v1", ""] as const)
      .flatMap((prefix) => [
        HttpLayerRouter.route("POST", `${prefix}/chat/completions`, Chat.chat(env)),
        HttpLayerRouter.route("POST", `${prefix}/embeddings`, Chat.embeddings(env)),
        HttpLayerRouter.route("GET", `${prefix}/models`, Status.models(env)),
        HttpLayerRouter.route("POST", `${prefix}/images/generations`, Operations.images(env)),
        HttpLayerRouter.route("POST", `${prefix}/moderations`, Operations.moderations(env)),
        HttpLayerRouter.route("POST", `${prefix}/rerank`, Operations.rerank(env)),
        HttpLayerRouter.route("POST", `${prefix}/audio/speech`, Operations.speech(env)),
        HttpLayerRouter.route("POST", `${prefix}/audio/transcriptions`, Operations.transcriptions(env))
      ])
      .concat([
        HttpLayerRouter.route("GET", "/health/liveliness", Status.liveliness(env)),
        HttpLayerRouter.route("GET", "/health/readiness", Status.readiness(env)),
        HttpLayerRouter.route("GET", "/metrics", Status.metrics(env))
      ])
  )

/**
 * The gateway server for the life of the layer, serving the `Access` in context (and reading `Router.Router` when
 * present). Fails with `BadRequest` for options out of range and `ServeError` when the port cannot be bound.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<Listening, LiterLlmError.BadRequest | HttpServerError.ServeError, Access.Access> =>
  Layer.scoped(
    Listening,
    Effect.gen(function* () {
      yield* Validate.options("Server.layer", OptionsSchema, options)
      const heartbeat = yield* duration("heartbeat", options.heartbeat, Duration.seconds(15))
      const shutdownTimeout = yield* duration("shutdownTimeout", options.shutdownTimeout, Duration.seconds(10))
      const limitTimeout = options.routingLimits?.timeout
      const routingLimits = {
        maxAttempts: options.routingLimits?.maxAttempts,
        timeout:
          limitTimeout === undefined ? undefined : yield* duration("routingLimits.timeout", limitTimeout, Duration.zero)
      }
      const draining = yield* Ref.make(false)
      const env: Call.Env = {
        access: yield* Access.Access,
        router: yield* Effect.serviceOption(Router.Router),
        maxBodySize: options.maxBodySize ?? 10 * 1024 * 1024,
        maxFileSize: options.maxFileSize ?? 25 * 1024 * 1024,
        heartbeat,
        metrics: options.metrics,
        routingLimits,
        publicMetrics: options.publicMetrics ?? false,
        draining
      }
      const app = yield* HttpLayerRouter.toHttpEffect(routes(env))
      const nodeServer = Http.createServer()
      const closed = yield* Deferred.make<void>()
      nodeServer.once("close", () => Deferred.unsafeDone(closed, Exit.void))
      const server = yield* NodeHttpServer.make(() => nodeServer, {
        port: options.port ?? 4000,
        host: options.host ?? "127.0.0.1"
      })
      yield* server.serve(
        app.pipe(
          Effect.catchTag("RouteNotFound", () => Effect.succeed(notFound)),
          // Failures and defects only: an interruption (the client went away) must stay one, so the platform ends
          // the request and closes its scope, which releases the upstream call.
          Effect.catchAll((error) => internalError(Cause.fail(error))),
          Effect.catchAllDefect((defect) => internalError(Cause.die(defect)))
        )
      )
      // Added last, so it runs first when the scope closes: before the handler is detached and the server closed.
      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          yield* Ref.set(draining, true)
          nodeServer.close()
          const closeIdle = Effect.sync(() => nodeServer.closeIdleConnections())
          const drained = yield* Deferred.await(closed).pipe(
            Effect.raceFirst(Effect.repeat(closeIdle, Schedule.spaced(Duration.millis(50))).pipe(Effect.as(undefined))),
            Effect.timeoutOption(shutdownTimeout),
            // Finalizers run uninterruptibly; the race and the timeout need to interrupt their losers.
            Effect.interruptible
          )
          if (Option.isNone(drained)) {
            nodeServer.closeAllConnections()
            yield* Effect.interruptible(Effect.timeoutOption(Deferred.await(closed), Duration.seconds(1)))
          }
        })
      )
      const address = server.address
      const host = address._tag === "TcpAddress" ? address.hostname : (options.host ?? "127.0.0.1")
      const port = address._tag === "TcpAddress" ? address.port : 0
      return Listening.of({ host, port, url: `http://${host.includes(":") ? `[${host}]` : host}:${port}` })
    })
  )
