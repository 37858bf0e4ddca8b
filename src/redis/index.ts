/**
 * effect-liter-llm/redis: the library's shared state (rate limits, budgets, the response cache, the router's state)
 * on one Redis, so many processes act as one. It loads `ioredis`, an optional peer dependency, which the main entry
 * never does.
 *
 * @since 0.2.0
 */

/** @since 0.2.0 */
export * as Redis from "./Redis.js"
