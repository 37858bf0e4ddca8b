/**
 * effect-liter-llm/gateway: an OpenAI-compatible HTTP gateway over the router, configured by a YAML or JSON file,
 * with virtual keys, Prometheus metrics and shared state on Redis; also run as `effect-liter-llm serve`. Node only
 * (`node:http`, `node:crypto`, `node:cluster`); it loads `ioredis` only when the config has `redis:`.
 *
 * @since 0.2.0
 */

/** @since 0.2.0 */
export * as Gateway from "./Gateway.js"

/** @since 0.2.0 */
export * as Config from "./Config.js"

/** @since 0.2.0 */
export * as Access from "./Access.js"

/** @since 0.2.0 */
export * as Server from "./Server.js"
