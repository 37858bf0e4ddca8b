/**
 * Who may call the gateway, and with which service. The HTTP server knows nothing about keys, limits or budgets: it
 * hands the `Authorization` header to `Access.authenticate` and serves each request with the service that
 * `Access.serviceFor(caller, model)` returns. The config module implements this tag over a master key and virtual
 * keys; {@link open} is the no-auth implementation.
 *
 * Decisions:
 * - Refusals are library errors, so the server maps them to HTTP like any other: a missing or wrong key is
 *   `LiterLlmError.Authentication` (401); a known caller asking for a model it may not use is the same class with
 *   `status: 403` (see {@link forbidden}). Reusing the class keeps the `LiterLlmError` union closed; the server maps
 *   `Authentication` by its `status`, so OpenAI SDKs raise `AuthenticationError` and `PermissionDeniedError`.
 * - `GET /metrics` is for callers marked `admin` (the master key): its series name every deployment, model and
 *   error, which a team's key has no business reading. The server can make it public instead (`publicMetrics`).
 * - `serviceFor` returns a whole `LlmService.Service` rather than a flag, so a key's rate limits and budget are
 *   middleware around the shared router, applied by whoever knows the key.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LiterLlmError from "../LiterLlmError.js"
import * as LlmService from "../LlmService.js"

/**
 * An authenticated caller: a name for logs and metrics (never the key), the model groups it may use
 * (`undefined`: all), and whether it may read the gateway's own state (`admin`: `GET /metrics`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Caller {
  readonly name: string
  readonly groups?: ReadonlyArray<string> | undefined
  /** May read `/metrics` (the master key; everyone on a gateway without keys). */
  readonly admin?: boolean | undefined
}

/**
 * How the gateway authenticates callers and picks the service for each request.
 *
 * @since 0.2.0
 * @category models
 */
export interface Service {
  /** The caller behind an `Authorization` header (its raw value, `undefined` when absent). */
  readonly authenticate: (authorization: string | undefined) => Effect.Effect<Caller, LiterLlmError.LiterLlmError>
  /** The service that serves this caller's request for `model`, with the caller's limits applied. */
  readonly serviceFor: (caller: Caller, model: string) => Effect.Effect<LlmService.Service, LiterLlmError.LiterLlmError>
}

/**
 * The tag of the gateway's access control.
 *
 * @since 0.2.0
 * @category tags
 */
export class Access extends Context.Tag("effect-liter-llm/gateway/Access")<Access, Service>() {}

/**
 * The caller every request has when the gateway runs without keys: nobody holds a key, so nothing is kept from
 * anybody (such a gateway binds 127.0.0.1 only).
 *
 * @since 0.2.0
 * @category constants
 */
export const anonymous: Caller = { name: "anonymous", admin: true }

/**
 * A 401: the key is missing, unknown or expired. The message must not contain the key.
 *
 * @since 0.2.0
 * @category errors
 */
export const unauthorized = (message: string): LiterLlmError.Authentication =>
  new LiterLlmError.Authentication({ message, status: 401 })

/**
 * A 403: the caller is known but may not do this (a model outside its groups).
 *
 * @since 0.2.0
 * @category errors
 */
export const forbidden = (message: string): LiterLlmError.Authentication =>
  new LiterLlmError.Authentication({ message, status: 403 })

/**
 * Reads a bearer token from an `Authorization` header value; `undefined` when absent or not a bearer token.
 *
 * @since 0.2.0
 * @category parsing
 */
export const bearerToken = (authorization: string | undefined): string | undefined => {
  if (authorization === undefined) return undefined
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization)
  return match === null ? undefined : match[1]
}

/**
 * No authentication: every request is {@link anonymous} and served by `service`, whatever its key.
 *
 * @since 0.2.0
 * @category constructors
 */
export const open = (service: LlmService.Service): Service => ({
  authenticate: () => Effect.succeed(anonymous),
  serviceFor: () => Effect.succeed(service)
})

/**
 * {@link open} as a layer over the `LlmService` in context (a router, usually).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerOpen: Layer.Layer<Access, never, LlmService.LlmService> = Layer.effect(
  Access,
  Effect.map(LlmService.LlmService, open)
)
