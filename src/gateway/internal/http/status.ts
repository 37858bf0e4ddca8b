/**
 * The endpoints that describe the gateway rather than call a model: `GET /v1/models` (the router's model groups a
 * caller may use), `GET /health/liveliness`, `GET /health/readiness` and `GET /metrics`.
 *
 * Readiness is 503 unless every group has a deployment that can take a request now (circuit not open, health not
 * unhealthy), and also while the server drains for shutdown, so a load balancer stops sending before connections
 * close.
 *
 * Health needs no key: Kubernetes probes and load balancers cannot send one, and its status code is all they read.
 * Readiness's body names the groups that can serve and counts failovers only for a caller who may read `/metrics`
 * (an admin key, or anyone when `publicMetrics` is set or the gateway has no keys); to anyone else it says only its
 * status, so a keyed gateway does not tell strangers what it routes. `/metrics` names every deployment, model, error type and spend, so it needs the
 * key of an `admin` caller (the master key) — Prometheus sends one with `authorization: { credentials: … }` in its
 * scrape config — unless the server's `publicMetrics` opens it (a scraper that cannot hold a key, on a private
 * network). On a gateway without keys every caller is admin, so it stays open there.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Access from "../../Access.js"
import * as Call from "./call.js"
import * as Route from "./route.js"

const groupsOf = (env: Call.Env): Effect.Effect<ReadonlyArray<string>> =>
  Option.match(env.router, {
    onNone: () => Effect.succeed([]),
    onSome: (router) => Effect.map(router.stats, Route.groups)
  })

/** `GET /v1/models`: the groups this caller may use, as OpenAI's model list. */
export const models = (env: Call.Env) =>
  Call.handle(env)((call) =>
    Effect.gen(function* () {
      const caller = yield* Call.caller(env, call)
      const all = yield* groupsOf(env)
      const allowed = caller.groups === undefined ? all : all.filter((g) => caller.groups!.includes(g))
      return Call.json(
        {
          object: "list",
          data: allowed.map((id) => ({ id, object: "model", created: 0, owned_by: "effect-liter-llm" }))
        },
        call.headers
      )
    })
  )

/** `GET /health/liveliness`: the process answers. */
export const liveliness = (env: Call.Env) =>
  Call.handle(env)((call) => Effect.succeed(Call.json({ status: "alive" }, call.headers)))

/** `GET /health/readiness`: every group can take a request now. */
export const readiness = (env: Call.Env) =>
  Call.handle(env)((call) =>
    Effect.gen(function* () {
      if (yield* Ref.get(env.draining)) return Call.json({ status: "draining" }, call.headers, 503)
      if (Option.isNone(env.router)) return Call.json({ status: "ready", groups: {} }, call.headers)
      const stats = yield* env.router.value.stats
      const groups = Object.fromEntries(Route.groups(stats).map((g) => [g, Route.available(stats, g)]))
      const ready = Object.values(groups).every((ok) => ok)
      const status = ready ? "ready" : "unavailable"
      const detailed =
        env.publicMetrics ||
        (yield* Call.caller(env, call).pipe(
          Effect.map((caller) => caller.admin === true),
          Effect.orElseSucceed(() => false)
        ))
      return Call.json(
        detailed ? { status, groups, failovers: stats.failovers } : { status },
        call.headers,
        ready ? 200 : 503
      )
    })
  )

/** `GET /metrics`: Prometheus text from the `metrics` option, 404 without it. */
export const metrics = (env: Call.Env) =>
  Call.handle(env)((call) =>
    env.metrics === undefined
      ? Effect.succeed(
          Call.json(
            { error: { message: "metrics are not enabled", type: "not_found_error", param: null, code: null } },
            call.headers,
            404
          )
        )
      : Effect.zipRight(
          env.publicMetrics ? Effect.void : Effect.flatMap(Call.caller(env, call), mayReadMetrics),
          Effect.map(env.metrics, (text) =>
            HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4", headers: call.headers })
          )
        )
  )

const mayReadMetrics = (caller: Access.Caller) =>
  caller.admin === true
    ? Effect.void
    : Effect.fail(
        Access.forbidden(
          `the key "${caller.name}" may not read /metrics: it takes the master key (or server.publicMetrics: true)`
        )
      )
