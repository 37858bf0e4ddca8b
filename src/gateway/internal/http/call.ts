/**
 * What every endpoint shares: the gateway's settings, the request id on every answer, the caller's authentication,
 * and one place where a failure becomes an OpenAI-style error response (so no handler can forget a case).
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type * as LiterLlmError from "../../../LiterLlmError.js"
import type * as Router from "../../../Router.js"
import type * as Access from "../../Access.js"
import * as Errors from "./errors.js"
import * as Request from "./request.js"
import type * as Routing from "./routing.js"

/** The gateway's settings and services, fixed when the server starts. */
export interface Env {
  readonly access: Access.Service
  readonly router: Option.Option<Router.Service>
  readonly maxBodySize: number
  /** The largest transcription upload, in bytes. */
  readonly maxFileSize: number
  readonly heartbeat: Duration.Duration
  readonly metrics: Effect.Effect<string> | undefined
  /** The most a request's routing headers may ask for. */
  readonly routingLimits: Routing.Limits
  /** `/metrics` without a key; else only for `admin` callers. */
  readonly publicMetrics: boolean
  /** True once shutdown began: readiness fails and answers close their connection. */
  readonly draining: Ref.Ref<boolean>
}

/** One request being handled. */
export interface Call {
  readonly request: HttpServerRequest.HttpServerRequest
  readonly id: string
  /** Headers every answer to this request carries. */
  readonly headers: Readonly<Record<string, string>>
}

/** Failures a handler may end with; each becomes an error response. */
export type Failure = LiterLlmError.LiterLlmError | Errors.RequestProblem

/** Wraps a handler: gives it the call, and answers its failure as an error response. */
export const handle =
  (env: Env) =>
  (
    run: (call: Call) => Effect.Effect<HttpServerResponse.HttpServerResponse, Failure, Scope.Scope>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest | Scope.Scope> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const id = yield* Request.requestId(request)
      const headers: Record<string, string> = { "x-request-id": id }
      if (yield* Ref.get(env.draining)) headers["connection"] = "close"
      return yield* Effect.catchAll(run({ request, id, headers }), (failure) =>
        Effect.succeed(Errors.toResponse(Errors.replyOf(failure), headers))
      )
    })

/** The caller of a request, from its `Authorization` header. */
export const caller = (env: Env, call: Call): Effect.Effect<Access.Caller, LiterLlmError.LiterLlmError> =>
  env.access.authenticate(call.request.headers["authorization"])

/** A JSON answer. */
export const json = (
  value: unknown,
  headers: Readonly<Record<string, string>>,
  status = 200
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(value), { status, contentType: "application/json", headers })
