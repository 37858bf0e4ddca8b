/** Helpers of `routerStore.test.ts`: router events, a store on a test server, a skewed clock. */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as RouterStore from "../../src/RouterStore.js"
import * as Circuit from "../../src/internal/router/circuit.js"
import * as Connection from "../../src/redis/internal/connection.js"
import * as RedisRouterStore from "../../src/redis/internal/routerStore.js"
import type * as RedisServer from "../support/redisServer.js"

const policy: RouterStore.CircuitPolicy = {
  consecutiveFailures: 1,
  failureRate: undefined,
  minRequests: 10,
  window: 60_000,
  cooldown: 10_000,
  maxCooldown: 60_000,
  factor: 2
}
const rules: RouterStore.Rules = { circuit: policy, alpha: 0.5, staleAfter: Number.POSITIVE_INFINITY }

export const admitted = (deployment: string, probe = false): RouterStore.Event => ({
  _tag: "Admitted",
  deployment,
  probe,
  failover: false,
  turn: true
})
export const settled = (
  deployment: string,
  at: number,
  outcome: RouterStore.Outcome,
  probe = false
): RouterStore.Event => ({
  _tag: "Settled",
  deployment,
  at,
  duration: 1,
  probe,
  outcome,
  rules
})
export const state = (status: RouterStore.StoreStatus) => (status.kind === "redis" ? status.state : "memory")
export const success = (latency: number): RouterStore.Outcome => ({ _tag: "Success", latency })
export const failure: RouterStore.Outcome = { _tag: "Failure", transient: true, retryAfter: undefined }

const settings = { ...RedisRouterStore.defaults, refresh: 60_000 }

/**
 * A connection and a store on `server`; the store's background sync is slow, so tests sync by hand. The timeout is
 * generous where a test is not about timeouts: the test machine is shared, and 50 ms is sometimes not enough.
 */
export const storeOn = (server: RedisServer.RedisServer, prefix = "t:", timeout = 1000) =>
  Effect.gen(function* () {
    const connection = yield* Connection.make({ url: server.url, prefix, timeout: Duration.millis(timeout) })
    const built = yield* RedisRouterStore.make(connection, settings)
    return { ...built, connection }
  })

/** Syncs until nothing is pending and Redis answers (bounded: 100 tries, 30 ms apart). */
export const drain = (store: RedisRouterStore.Built) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100; i++) {
      yield* store.sync
      if ((yield* store.pending) === 0 && state(yield* store.service.status!) === "connected") return
      yield* Effect.sleep(Duration.millis(30))
    }
    return yield* Effect.dieMessage("the store did not drain within 100 syncs")
  })

export const one = (store: RouterStore.Service, name: string) =>
  Effect.map(store.snapshot([name]), (s) => s.deployments[0])

/** Decides like the router for one deployment: admits it (as its probe when half-open) unless blocked. */
export const admit = (name: string, now?: number) => (snapshot: RouterStore.Snapshot) => {
  const a = Circuit.admission(snapshot.deployments[0].circuit, now ?? Date.now())
  return [a, a === "blocked" ? [] : [admitted(name, a === "probe")]] as const
}

/** A live clock `shift` millis off the real one, as a host with a skewed clock would have. */
export const skewed = (shift: number): Clock.Clock => {
  const live = Clock.make()
  const millis = () => live.unsafeCurrentTimeMillis() + shift
  const nanos = () => live.unsafeCurrentTimeNanos() + BigInt(shift) * 1_000_000n
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: millis,
    currentTimeMillis: Effect.sync(millis),
    unsafeCurrentTimeNanos: nanos,
    currentTimeNanos: Effect.sync(nanos),
    sleep: (duration) => live.sleep(duration)
  }
}
