/**
 * The Lua the Redis router store runs. No library covers this: @effect/experimental's `RateLimiter` and `Persistence`
 * have no compare-and-set of several keys, nor a circuit's probe lease.
 *
 * `sync` is the store's one round trip: it writes a batch (if any) and reads every deployment the process knows, with
 * Redis `TIME`, in one atomic step.
 * - A batch is written only if every key it touches still has the version the process last read; otherwise nothing
 *   is written and the current values come back, so the process applies its events again to them (status 0).
 * - Each batch carries the process's sequence number, recorded with it: a batch sent again after a timeout that had in
 *   fact been applied is recognized and not applied twice (status 2).
 * - A settled probe's lease is deleted with the state its outcome wrote, and only if the lease is still the one
 *   taken (a lease that expired and was taken by another process stays).
 * - Every key written gets the TTL again.
 *
 * KEYS: meta (turn, failovers), the process's sequence key, then per deployment its state key and its probe key.
 * ARGV: TTL millis, sequence ("" when there is no batch), turn growth, failover growth, then per deployment: the
 * version expected ("" when the batch does not touch it), the new state, the probe lease to release ("" if none).
 * Reply: status, TIME seconds, TIME micros, turn, failovers, then per deployment: version, state, probe held (0/1).
 */
export const sync = `
local ttl = ARGV[1]
local seq = ARGV[2]
local n = (#KEYS - 2) / 2
local status = 1
if seq ~= "" then
  local last = tonumber(redis.call("GET", KEYS[2]) or "0") or 0
  if last >= tonumber(seq) then status = 2 end
end
if seq ~= "" and status == 1 then
  for i = 1, n do
    local expected = ARGV[5 + 3 * (i - 1)]
    if expected ~= "" then
      local version = redis.call("HGET", KEYS[1 + 2 * i], "v") or "0"
      if version ~= expected then
        status = 0
        break
      end
    end
  end
  if status == 1 then
    for i = 1, n do
      local at = 5 + 3 * (i - 1)
      local key = KEYS[1 + 2 * i]
      if ARGV[at] ~= "" then
        redis.call("HSET", key, "v", tostring((tonumber(ARGV[at]) or 0) + 1), "s", ARGV[at + 1])
        redis.call("PEXPIRE", key, ttl)
      end
      local lease = ARGV[at + 2]
      if lease ~= "" and redis.call("GET", KEYS[2 + 2 * i]) == lease then redis.call("DEL", KEYS[2 + 2 * i]) end
    end
    if ARGV[3] ~= "0" then redis.call("HINCRBY", KEYS[1], "turn", ARGV[3]) end
    if ARGV[4] ~= "0" then redis.call("HINCRBY", KEYS[1], "failovers", ARGV[4]) end
    redis.call("PEXPIRE", KEYS[1], ttl)
    redis.call("SET", KEYS[2], seq, "PX", ttl)
  end
end
local now = redis.call("TIME")
local meta = redis.call("HMGET", KEYS[1], "turn", "failovers")
local out = { status, now[1], now[2], meta[1] or "0", meta[2] or "0" }
for i = 1, n do
  local d = redis.call("HMGET", KEYS[1 + 2 * i], "v", "s")
  out[#out + 1] = d[1] or "0"
  out[#out + 1] = d[2] or ""
  out[#out + 1] = redis.call("EXISTS", KEYS[2 + 2 * i])
end
return out
`

/** Deletes a probe lease (KEYS[1]) if it is still the one taken (ARGV[1]). */
export const release = `
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
`

/** The reply of {@link sync}, read but not yet trusted: each deployment's stored text still has to be decoded. */
export interface SyncReply {
  /** 0: conflict, nothing written; 1: written; 2: this batch had already been written. */
  readonly status: number
  /** Redis `TIME`, epoch millis. */
  readonly redisNow: number
  readonly turn: number
  readonly failovers: number
  readonly deployments: ReadonlyArray<{ readonly version: string; readonly text: string; readonly probe: boolean }>
}

/** Reads a {@link sync} reply for `count` deployments; undefined when it is not one. */
export const readSync = (reply: unknown, count: number): SyncReply | undefined => {
  if (!Array.isArray(reply) || reply.length !== 5 + 3 * count) return undefined
  const [status, seconds, micros, turn, failovers] = reply.slice(0, 5).map(Number)
  if (![status, seconds, micros, turn, failovers].every(Number.isFinite)) return undefined
  const deployments = Array.from({ length: count }, (_, i) => ({
    version: String(reply[5 + 3 * i]),
    text: String(reply[6 + 3 * i]),
    probe: Number(reply[7 + 3 * i]) === 1
  }))
  return { status, redisNow: seconds * 1000 + Math.floor(micros / 1000), turn, failovers, deployments }
}
