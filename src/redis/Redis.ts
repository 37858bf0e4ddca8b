/**
 * Shared state on Redis: one layer gives every component that remembers something between requests a store on one
 * Redis, so several processes (node:cluster workers, or hosts behind a load balancer) share rate limits, budgets and
 * cached responses.
 *
 * ```ts
 * const shared = Redis.layer({ url: Redacted.make(process.env.REDIS_URL!), prefix: "myapp:" })
 * const app = LlmClient.layer({ layer: router, budget: { globalLimit: 100 } }).pipe(Layer.provide(shared))
 * ```
 *
 * Decisions:
 * - One ioredis client per built layer, closed with the layer's scope. Every key starts with `prefix` (default
 *   `ell:`), so several applications can share one Redis, and every key has a TTL, so nothing is left behind.
 * - Redis is never on the critical path of an answer: each call to it gives up after `timeout` (default 50 ms), and
 *   the component serves that call from local memory, logs one warning per outage, and goes back to Redis when it
 *   answers again. Redis absent when the layer is built does not fail the layer.
 * - The URL, which may carry a password, is `Redacted`: it is never logged, nor put in an error or a status.
 *
 * What is exact across processes while Redis answers, and what is not:
 * - Exact: rate-limit windows (`rpm`/`tpm`, on Redis' clock, `tpm` corrected to real usage at settle) and hard
 *   budgets (spend plus open reservations never passes a limit), each changed by one Lua script.
 * - Cache: an answer stored by one process is a hit in the others for its TTL; at most 10,000 entries of 1 MiB each.
 * - Router: the half-open probe is exact (a lease); circuits, latency averages, counters and the round-robin turn
 *   converge within a refresh (100 ms: each process routes on a local copy synced by one script); calls in flight
 *   are counted per process.
 * - During an outage each process counts only its own traffic (so together they may pass a limit by what the others
 *   admitted meanwhile); spend made locally is written to Redis once when it answers again, rate-limit slots taken
 *   locally are not, and cache entries written locally stay local.
 * - A single Redis (or a primary with replicas), not a cluster: the budget's scripts name keys they build.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as LiterLlmError from "../LiterLlmError.js"
import { PositiveDuration } from "../internal/middleware/options.js"
import * as Validate from "../internal/validate.js"
import * as Budget from "../Budget.js"
import * as LlmCache from "../LlmCache.js"
import * as RateLimit from "../RateLimit.js"
import * as RouterStore from "../RouterStore.js"
import * as BudgetStore from "./internal/budget.js"
import * as CacheStore from "./internal/cache.js"
import * as internal from "./internal/connection.js"
import * as RateLimitStore from "./internal/rateLimit.js"
import * as RedisRouterStore from "./internal/routerStore.js"

/**
 * Options of {@link layer}.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS), as a `Redacted`. */
  readonly url: Redacted.Redacted<string>
  /** Prepended to every key. Default `"ell:"`. */
  readonly prefix?: string | undefined
  /** How long one call to Redis may take before the component serves it locally. Default 50 millis. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * A call to Redis that did not complete in time or failed; components catch it and serve locally.
 *
 * @since 0.2.0
 * @category errors
 */
export const StoreUnavailable = internal.StoreUnavailable

/**
 * A call to Redis that did not complete in time or failed.
 *
 * @since 0.2.0
 * @category errors
 */
export type StoreUnavailable = internal.StoreUnavailable

/**
 * The health of the Redis connection: connected or not, since when, why, and how many outages so far.
 *
 * @since 0.2.0
 * @category models
 */
export type StoreStatus = internal.StoreStatus

/**
 * The Redis connection a layer made: keys under the prefix, commands and scripts under the timeout, its health.
 *
 * @since 0.2.0
 * @category models
 */
export type ConnectionService = internal.Connection

/**
 * The tag of the connection {@link layer} provides, for components that keep their own state on the same Redis.
 *
 * @since 0.2.0
 * @category tags
 */
export class Connection extends Context.Tag("effect-liter-llm/redis/Connection")<Connection, ConnectionService>() {}

const OptionsSchema = Schema.Struct({
  prefix: Schema.optional(Schema.String),
  timeout: Schema.optional(PositiveDuration)
})

/** Checks the URL by hand: `Validate.options` quotes a bad value, and this one may hold a password. */
const checkUrl = (url: unknown): Effect.Effect<Redacted.Redacted<string>, LiterLlmError.BadRequest> => {
  const bad = (problem: string) =>
    Effect.fail(
      new LiterLlmError.BadRequest({
        message: `Redis.layer: option url: ${problem}; fix the option where the layer is built`
      })
    )
  if (!Redacted.isRedacted(url)) return bad("expected a Redacted URL (Redacted.make(...)), so it is never logged")
  const value: unknown = Redacted.value(url)
  if (typeof value !== "string") return bad("expected a string inside the Redacted")
  try {
    const parsed = new URL(value)
    if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
      return bad("expected a redis:// or rediss:// URL (the value is not shown: it may hold a password)")
    }
    return Effect.succeed(url as Redacted.Redacted<string>)
  } catch {
    return bad("not a valid URL (the value is not shown: it may hold a password)")
  }
}

/**
 * The connection alone, checked and defaulted, as a scoped effect: the client closes with the scope.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeConnection = (options: Options) =>
  Effect.gen(function* () {
    const url = yield* checkUrl((options as { readonly url?: unknown } | undefined)?.url)
    yield* Validate.options("Redis.layer", OptionsSchema, { prefix: options.prefix, timeout: options.timeout })
    return yield* internal.make({
      url,
      prefix: options.prefix ?? "ell:",
      timeout: Duration.decode(options.timeout ?? "50 millis")
    })
  })

/**
 * The stores on one connection. The one place the layer is composed: a store for another component is one more
 * line here.
 */
const stores = (connection: ConnectionService) =>
  Effect.gen(function* () {
    return Context.make(Connection, connection).pipe(
      Context.add(RateLimit.Store, yield* RateLimitStore.make(connection)),
      Context.add(Budget.Store, yield* BudgetStore.make(connection)),
      Context.add(LlmCache.CacheStore, yield* CacheStore.make(connection)),
      Context.add(RouterStore.RouterStore, (yield* RedisRouterStore.make(connection)).service)
    )
  })

/**
 * Shared state on Redis: provides the {@link Connection} and, on it, `RateLimit.Store`, `Budget.Store`,
 * `LlmCache.CacheStore` and `RouterStore.RouterStore`. Fails with `BadRequest` naming the option when `url` is not
 * a `Redacted` redis URL (without showing it), `prefix` is not a string or `timeout` is not a positive duration; a
 * Redis that does not answer does not fail it.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  Connection | RateLimit.Store | Budget.Store | LlmCache.CacheStore | RouterStore.RouterStore,
  LiterLlmError.BadRequest
> => Layer.scopedContext(Effect.flatMap(makeConnection(options), stores))
