/**
 * `RateLimit.Store` on Redis: the same sliding windows as the memory store, kept in Redis and changed only by Lua
 * scripts, so every process sharing the Redis sees one window per key and no two admissions race.
 *
 * Why not @effect/experimental's `RateLimiter` with its Redis store: its fixed-window and token-bucket algorithms
 * take tokens up front and have no way to hand tokens back or correct them once the call reports its real usage (the
 * `tpm` settle this library promises), the token bucket runs on the caller's clock (passed in as `now`), and the
 * store opens a client of its own, outside the timeout and fallback every store here shares. So the window is ours:
 *
 * - Per key, a sorted set `rl:<key>:z` (member: the call's sequence number, score: its admission time) and a hash
 *   `rl:<key>:h` (`seq`, `total`, and `t<seq>`: the tokens each live call holds). Both expire `window` + 1 minute
 *   after the last change, so an idle key leaves nothing behind.
 * - Times come from Redis' own clock (`TIME` inside the script), so processes whose clocks disagree share one window.
 * - Sequence numbers (written with `%.0f`: Lua would print them in exponent form) start at the admission time × 1000
 *   when a key is new, so a ticket from a window that expired
 *   can never settle a call of a later one.
 * - `acquire` prunes, checks and admits in one script; `settle` replaces a live call's tokens by its real usage (a
 *   call already out of the window changes nothing, as in memory).
 *
 * Faults: when Redis does not answer within the timeout, the call is served by a memory store local to this layer
 * (its ticket carries a negative sequence number, so its settle stays local too). During an outage each process
 * therefore enforces the limits on its own traffic only; calls admitted locally are not replayed into Redis when it
 * is back (their window is mostly over by then). An `acquire` that timed out may still run on a server that was only
 * slow or paused: its slot is then counted without being settled, which errs on the side of admitting less.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as RateLimit from "../../RateLimit.js"
import type { Connection } from "./connection.js"

const acquireLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local requests = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
local estimate = tonumber(ARGV[4])
local z, h = KEYS[1], KEYS[2]
local horizon = now - window
local total = tonumber(redis.call('HGET', h, 'total') or '0')
local old = redis.call('ZRANGEBYSCORE', z, '-inf', horizon)
for _, seq in ipairs(old) do
  total = total - tonumber(redis.call('HGET', h, 't' .. seq) or '0')
  redis.call('HDEL', h, 't' .. seq)
end
if #old > 0 then redis.call('ZREMRANGEBYSCORE', z, '-inf', horizon) end
local count = redis.call('ZCARD', z)
if count == 0 or total < 0 then total = 0 end
local reserve = estimate
if tokens and reserve > tokens then reserve = tokens end
local fits = now
if requests and count >= requests then
  local at = redis.call('ZRANGE', z, count - requests, count - requests, 'WITHSCORES')
  fits = math.max(fits, tonumber(at[2]) + window)
end
if tokens and total + reserve > tokens then
  local live = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
  local remaining = total
  for i = 1, #live, 2 do
    remaining = remaining - tonumber(redis.call('HGET', h, 't' .. live[i]) or '0')
    if remaining + reserve <= tokens then
      fits = math.max(fits, tonumber(live[i + 1]) + window)
      break
    end
  end
end
local ttl = window + 60000
if fits > now then
  if #old > 0 then redis.call('HSET', h, 'total', total) end
  return {-1, fits - now}
end
local seq
if redis.call('HEXISTS', h, 'seq') == 1 then
  seq = string.format('%.0f', redis.call('HINCRBY', h, 'seq', 1))
else
  seq = string.format('%.0f', now * 1000)
  redis.call('HSET', h, 'seq', seq)
end
redis.call('ZADD', z, now, seq)
redis.call('HSET', h, 't' .. seq, reserve, 'total', total + reserve)
redis.call('PEXPIRE', z, ttl)
redis.call('PEXPIRE', h, ttl)
return {seq, 0}
`

const settleLua = `
local z, h = KEYS[1], KEYS[2]
if not redis.call('ZSCORE', z, ARGV[1]) then return 0 end
local old = tonumber(redis.call('HGET', h, 't' .. ARGV[1]) or '0')
local new = tonumber(ARGV[2])
redis.call('HSET', h, 't' .. ARGV[1], new)
redis.call('HINCRBY', h, 'total', new - old)
return 1
`

/** The reply of the acquire script: a sequence number, or -1 and the millis until the call would fit. */
const acquiredOf = (key: string, reply: unknown): RateLimit.Acquired | undefined => {
  if (!Array.isArray(reply) || reply.length !== 2) return undefined
  const [seq, wait] = reply.map(Number) as [number, number]
  if (!Number.isSafeInteger(seq) || !Number.isFinite(wait)) return undefined
  return seq > 0
    ? { _tag: "Admitted", ticket: { key, seq } }
    : { _tag: "Refused", retryAfter: Duration.millis(Math.max(1, wait)) }
}

/** A local ticket's sequence number is stored negated (minus one), so settle knows where it was admitted. */
const localTicket = (ticket: RateLimit.Ticket): RateLimit.Ticket => ({ key: ticket.key, seq: -ticket.seq - 1 })

/** The rate-limit store on `connection`, with a local memory store for the calls Redis does not answer. */
export const make = (connection: Connection): Effect.Effect<RateLimit.StoreService> =>
  Effect.map(Effect.zipRight(connection.preload(acquireLua, settleLua), RateLimit.memoryStore), (local) => {
    const acquireScript = connection.script("rate-limit-acquire", acquireLua)
    const settleScript = connection.script("rate-limit-settle", settleLua)
    const keys = (key: string) => [connection.key("rl", key, "z"), connection.key("rl", key, "h")]

    const acquireLocally = (key: string, limits: RateLimit.Limits, tokens: number) =>
      Effect.map(local.acquire(key, limits, tokens), (acquired): RateLimit.Acquired =>
        acquired._tag === "Admitted" ? { _tag: "Admitted", ticket: localTicket(acquired.ticket) } : acquired
      )

    const store: RateLimit.StoreService = {
      acquire: (key, limits, tokens) =>
        acquireScript(keys(key), [
          Duration.toMillis(limits.window),
          limits.requests ?? "",
          limits.tokens ?? "",
          Math.max(0, Math.ceil(tokens))
        ]).pipe(
          Effect.flatMap((reply) => {
            const acquired = acquiredOf(key, reply)
            return acquired !== undefined
              ? Effect.succeed(acquired)
              : Effect.zipRight(
                  Effect.logWarning("Redis rate-limit store: an unreadable reply; this call is limited locally"),
                  acquireLocally(key, limits, tokens)
                )
          }),
          Effect.catchTag("StoreUnavailable", () => acquireLocally(key, limits, tokens))
        ),
      settle: (ticket, tokens) => {
        if (ticket.seq < 0) return local.settle(localTicket(ticket), tokens)
        if (!Number.isFinite(tokens) || tokens < 0) return Effect.void
        // a lost correction leaves the estimate in the window: nothing to fall back to
        return Effect.ignore(settleScript(keys(ticket.key), [ticket.seq, Math.ceil(tokens)]))
      }
    }
    return store
  })
