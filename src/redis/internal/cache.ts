/**
 * `LlmCache.CacheStore` on Redis: a response cached by one process is a hit in every other.
 *
 * Why not @effect/experimental's `Persistence/Redis` (or `PersistedCache` over it): it opens a client of its own,
 * outside the timeout and local fallback every store here shares, and its result persistence keys entries by a
 * request's own schema and stores an `Exit`; the cache already has its key (a SHA-256) and its entries, and needs no
 * more than GET and SET with a TTL. So:
 *
 * - **Keys** are `cache:<the cache's key>` under the prefix: `llm-cache:v1:<operation>:<SHA-256>`, a digest, so no
 *   prompt text appears in a key name. Each entry is SET with `PX ttl`.
 * - **Values** are the entry encoded by the library's wire schemas, as JSON. On read the JSON is parsed and decoded
 *   again: a value that is not an entry (written by something else, truncated, from another version) is a miss, and
 *   a warning names its key (never its content).
 * - **Bounded**: an entry larger than {@link maxValueBytes} is not stored (a debug log says so), and an index (a
 *   sorted set of entry keys by expiry, itself expiring with the newest entry) keeps at most {@link maxEntries}: a
 *   write past it deletes the entries closest to expiry. TTLs bound the rest; a Redis shared with other data should
 *   also have `maxmemory` with a `volatile-*` eviction policy, since every key here has a TTL.
 *
 * Faults: when Redis does not answer within the timeout, the call reads or writes a memory store local to this layer
 * (256 entries, least recently used evicted). Entries written there during an outage are not copied to Redis later:
 * it is a cache, a miss costs one call.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Chat from "../../Chat.js"
import * as Embedding from "../../Embedding.js"
import * as LlmCache from "../../LlmCache.js"
import type { Connection } from "./connection.js"

/** Entries above this size (bytes of JSON) are not stored. */
export const maxValueBytes = 1024 * 1024
/** At most this many entries per prefix. */
export const maxEntries = 10_000

const EntrySchema = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Chat"), response: Chat.ChatCompletionResponse }),
  Schema.Struct({ _tag: Schema.Literal("ChatStream"), chunks: Schema.Array(Chat.ChatCompletionChunk) }),
  Schema.Struct({ _tag: Schema.Literal("Embedding"), response: Embedding.EmbeddingResponse })
)
// Fields the schemas do not name are kept both ways, as the providers' decoders keep them: a hit from Redis is the
// same response as a hit from memory.
const encode = Schema.encodeEither(EntrySchema, { onExcessProperty: "preserve" })
const decode = Schema.decodeUnknownEither(Schema.parseJson(EntrySchema), { onExcessProperty: "preserve" })

const setLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl, max = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local extra = redis.call('ZCARD', KEYS[2]) - max
if extra > 0 then
  local victims = redis.call('ZRANGE', KEYS[2], 0, extra - 1)
  redis.call('DEL', unpack(victims))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
`

/** The cache store on `connection`, with a local memory store for the calls Redis does not answer. */
export const make = (
  connection: Connection,
  options: { readonly maxEntries?: number | undefined; readonly maxValueBytes?: number | undefined } = {}
): Effect.Effect<LlmCache.Store> =>
  Effect.gen(function* () {
    yield* connection.preload(setLua)
    const local = yield* Effect.orDie(LlmCache.memoryStore({ capacity: 256 }))
    const setScript = connection.script("cache-set", setLua)
    const index = connection.key("cache-index")
    const limit = options.maxValueBytes ?? maxValueBytes

    const read = (key: string) =>
      Effect.flatMap(
        connection.run((redis) => redis.get(connection.key("cache", key))),
        (value): Effect.Effect<Option.Option<LlmCache.Entry>> => {
          if (value === null) return Effect.succeed(Option.none())
          const decoded = decode(value)
          if (Either.isRight(decoded)) return Effect.succeed(Option.some(decoded.right as LlmCache.Entry))
          return Effect.as(
            Effect.logWarning(`Redis cache store: the value under "${key}" is not a cache entry; treated as a miss`),
            Option.none()
          )
        }
      )

    const write = (key: string, entry: LlmCache.Entry, ttl: Duration.Duration) => {
      const encoded = encode(entry)
      if (Either.isLeft(encoded)) {
        return Effect.logDebug(`Redis cache store: the entry for "${key}" cannot be encoded; not stored`)
      }
      const json = JSON.stringify(encoded.right)
      const bytes = Buffer.byteLength(json, "utf8")
      if (bytes > limit) {
        return Effect.logDebug(`Redis cache store: the entry for "${key}" is ${bytes} bytes, over ${limit}; not stored`)
      }
      const millis = Math.max(1, Math.ceil(Duration.toMillis(ttl)))
      return Effect.asVoid(
        setScript([connection.key("cache", key), index], [json, millis, options.maxEntries ?? maxEntries])
      )
    }

    const store: LlmCache.Store = {
      get: (key) => Effect.catchTag(read(key), "StoreUnavailable", () => local.get(key)),
      set: (key, entry, ttl) =>
        Effect.catchTag(write(key, entry, ttl), "StoreUnavailable", () => local.set(key, entry, ttl))
    }
    return store
  })
