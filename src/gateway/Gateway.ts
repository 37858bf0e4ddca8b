/**
 * The gateway from a config file: the router of its groups, the middleware around it, its keys, shared state on
 * Redis when configured, and the OpenAI-compatible HTTP server over all of it.
 *
 * ```ts
 * const config = yield* Config.load("gateway.yaml")
 * const gateway = Gateway.layer(config, { port: 4000 }) // Layer<Server.Listening | Router.Router | LlmService, …>
 * ```
 *
 * Decisions:
 * - Without a `masterKey` or `keys` nobody is asked for a key, so the server binds 127.0.0.1 whatever host was
 *   asked for ({@link bindHost} says so); exposing an open gateway takes a key.
 * - `redis:` provides every store (router state, rate-limit windows, budgets, cache) from `effect-liter-llm/redis`,
 *   imported only when configured: a gateway without Redis never loads ioredis. Its connection closes with the
 *   layer, after the server has drained.
 * - Outbound calls go through one undici client (keep-alive pools per upstream) for the life of the layer.
 * - `/metrics` renders Effect's metrics (each deployment is under `Telemetry`) and the router's stats at scrape time,
 *   for the master key only unless `server.publicMetrics: true`.
 *
 * @since 0.2.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Duration from "effect/Duration"
import * as Router from "../Router.js"
import type * as Config from "./Config.js"
import * as Server from "./Server.js"
import * as Build from "./internal/build.js"
import * as Metrics from "./internal/metrics.js"

/**
 * Server settings that win over the file's `server:` section (the command line's flags).
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly maxBodySize?: number | undefined
  readonly heartbeat?: Duration.DurationInput | undefined
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

/**
 * The host the server binds, and why when it is not the one asked for: without keys, only 127.0.0.1.
 *
 * @since 0.2.0
 * @category server
 */
export const bindHost = (
  config: Config.Config,
  requested: string | undefined
): { readonly host: string; readonly note: string | undefined } => {
  const host = requested ?? config.server?.host ?? "127.0.0.1"
  if (Build.authenticated(config) || host === "127.0.0.1") return { host, note: undefined }
  return {
    host: "127.0.0.1",
    note: `no masterKey or keys are configured, so nobody is asked for a key: binding 127.0.0.1 only (not ${host}); add a masterKey to serve other hosts`
  }
}

/**
 * The stores of the config: Redis when `redis:` is set (loaded on demand), else none (each component keeps memory).
 *
 * @since 0.2.0
 * @category layers
 */
export const stores = (config: Config.Config) => {
  const redis = config.redis
  if (redis === undefined) return Layer.empty
  return Layer.unwrapEffect(
    Effect.map(
      Effect.promise(() => import("../redis/Redis.js")),
      (Redis) => Redis.layer({ url: redis.url, prefix: redis.prefix, timeout: redis.timeout })
    )
  )
}

/**
 * The router with its middleware and the keys' access control, without the HTTP server (for embedding the gateway's
 * routing in an application, or testing it).
 *
 * @since 0.2.0
 * @category layers
 */
export const services = (config: Config.Config) =>
  Build.accessLayer(config).pipe(
    Layer.provideMerge(Build.routerLayer(config)),
    Layer.provide(stores(config)),
    Layer.provide(NodeHttpClient.layerUndici)
  )

/**
 * The whole gateway: {@link services} served over HTTP for the life of the layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (config: Config.Config, options: Options = {}) => {
  const server = Layer.unwrapEffect(
    Effect.map(Router.Router, (router) =>
      Server.layer({
        host: bindHost(config, options.host).host,
        port: options.port ?? config.server?.port ?? 4000,
        maxBodySize: options.maxBodySize ?? config.server?.maxBodySize,
        heartbeat: options.heartbeat ?? config.server?.heartbeat,
        shutdownTimeout: options.shutdownTimeout ?? config.server?.shutdownTimeout,
        metrics: Metrics.render(router.stats),
        routingLimits: { maxAttempts: config.router?.maxAttempts, timeout: config.router?.timeout },
        publicMetrics: config.server?.publicMetrics
      })
    )
  )
  return server.pipe(Layer.provideMerge(services(config)))
}
