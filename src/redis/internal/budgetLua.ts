/**
 * The Lua scripts of the Redis budget store (see `budget.ts`). Amounts are USD as doubles, written with `%.17g` so
 * they survive the trip through Redis' strings exactly (Lua's own conversion keeps 14 digits), and returned as
 * strings (a Lua number in a reply is cut to an integer).
 *
 * Keys per scope: a hash `budget:<scope>:h` (`spent`, `reserved`, and `r:<id>`: each open reservation's amount) and a
 * sorted set `budget:<scope>:z` (open reservations by the time they expire). `budget:scopes` lists the scopes for
 * `spent` and `reset`. Every key expires `retention` after its last change.
 */

/**
 * Removes the reservations of a scope that expired (a process that crashed before settling, or a call longer than
 * the reservation TTL). Each leaves a tombstone `x:<id>`, so a late settle of a call that is still running is
 * charged; the tombstones of crashed processes stay until the hash expires.
 */
const purge = `
local function fmt(n) return string.format('%.17g', n) end
local function purge(h, z, now)
  local dead = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #dead == 0 then return end
  local reserved = tonumber(redis.call('HGET', h, 'reserved') or '0')
  for _, id in ipairs(dead) do
    reserved = reserved - tonumber(redis.call('HGET', h, 'r:' .. id) or '0')
    redis.call('HDEL', h, 'r:' .. id)
    redis.call('HSET', h, 'x:' .. id, '1')
  end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  if reserved < 0 or redis.call('ZCARD', z) == 0 then reserved = 0 end
  redis.call('HSET', h, 'reserved', fmt(reserved))
end
`

/**
 * KEYS: scopes set, then per scope its hash and sorted set. ARGV: id, estimate, enforce (1/0), reservation TTL,
 * retention (millis), then per scope its name and limit ("" for none). Reply: admitted (1/0), the index (1-based) of
 * the first scope whose limit the call would pass (0 for none) with its spent and reserved, then each scope's spent.
 */
export const reserve = `${purge}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, estimate, enforce = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'
local ttl, retention = tonumber(ARGV[4]), tonumber(ARGV[5])
local n = (#KEYS - 1) / 2
local spents, over, overSpent, overReserved = {}, 0, 0, 0
for i = 1, n do
  local h, z = KEYS[2 * i], KEYS[2 * i + 1]
  purge(h, z, now)
  local spent = tonumber(redis.call('HGET', h, 'spent') or '0')
  local reserved = tonumber(redis.call('HGET', h, 'reserved') or '0')
  local limit = tonumber(ARGV[5 + 2 * i])
  spents[i] = fmt(spent)
  if over == 0 and limit and (spent >= limit or spent + reserved + estimate > limit) then
    over, overSpent, overReserved = i, spent, reserved
  end
end
local admitted = 1
if over > 0 and enforce then
  admitted = 0
else
  for i = 1, n do
    local h, z = KEYS[2 * i], KEYS[2 * i + 1]
    redis.call('HSET', h, 'r:' .. id, fmt(estimate))
    redis.call('HINCRBYFLOAT', h, 'reserved', fmt(estimate))
    redis.call('ZADD', z, now + ttl, id)
    redis.call('SADD', KEYS[1], ARGV[4 + 2 * i])
    redis.call('PEXPIRE', h, retention)
    redis.call('PEXPIRE', z, retention)
  end
  redis.call('PEXPIRE', KEYS[1], retention)
end
local reply = {admitted, over, fmt(overSpent), fmt(overReserved)}
for i = 1, n do reply[4 + i] = spents[i] end
return reply
`

/**
 * KEYS: scopes set, a marker key, then per scope its hash and sorted set. ARGV: id, cost, retention, marker TTL
 * ("" for no marker), then the scope names. A reservation made on Redis is charged only if it is still open or
 * expired unsettled (removing it is what makes a repeated settle harmless); one made locally during an outage has no open reservation
 * here, and is charged once thanks to the marker. Reply: 1 if charged.
 */
export const settle = `${purge}
local id, cost, retention, marker = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local n = (#KEYS - 2) / 2
if marker then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', marker) then return 0 end
else
  local open = false
  for i = 1, n do
    local h, z = KEYS[2 * i + 1], KEYS[2 * i + 2]
    if redis.call('ZREM', z, id) == 1 then
      open = true
      local reserved = tonumber(redis.call('HGET', h, 'reserved') or '0')
      reserved = reserved - tonumber(redis.call('HGET', h, 'r:' .. id) or '0')
      if reserved < 0 or redis.call('ZCARD', z) == 0 then reserved = 0 end
      redis.call('HSET', h, 'reserved', fmt(reserved))
      redis.call('HDEL', h, 'r:' .. id)
    elseif redis.call('HDEL', h, 'x:' .. id) == 1 then
      open = true
    end
  end
  if not open then return 0 end
end
for i = 1, n do
  local h, z = KEYS[2 * i + 1], KEYS[2 * i + 2]
  redis.call('HINCRBYFLOAT', h, 'spent', fmt(cost))
  redis.call('SADD', KEYS[1], ARGV[4 + i])
  redis.call('PEXPIRE', h, retention)
  redis.call('PEXPIRE', z, retention)
end
redis.call('PEXPIRE', KEYS[1], retention)
return 1
`

/** KEYS: the scopes set. ARGV: the key prefix. Reply: scope, spent, scope, spent … */
export const spent = `
local reply = {}
for _, scope in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local spent = redis.call('HGET', ARGV[1] .. scope .. ':h', 'spent')
  if spent then
    reply[#reply + 1] = scope
    reply[#reply + 1] = spent
  end
end
return reply
`

/** KEYS: the scopes set. ARGV: the key prefix. Zeroes every scope's settled spend; reservations stay. */
export const reset = `
for _, scope in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = ARGV[1] .. scope .. ':h'
  if redis.call('EXISTS', h) == 1 then redis.call('HSET', h, 'spent', '0') end
end
return 1
`
