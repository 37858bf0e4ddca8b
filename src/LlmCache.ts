/**
 * A response cache: identical requests are answered from a store instead of the service below.
 *
 * ```ts
 * const cached = LlmCache.layer({ capacity: 1000, ttl: "10 minutes" }).pipe(Layer.provide(deployment))
 * ```
 *
 * Semantics:
 * - **Key**: the canonical form of the request — object keys sorted, `undefined` and `null` fields dropped (the wire
 *   treats an absent field and `null` alike), arrays kept in order — prefixed by the operation
 *   (`chat`, `chatStream`, `embed`). So two requests built in a different key order share an entry; object identity
 *   plays no part. Fields that do not change the answer are left out of the key: `user` (an end-user id for the
 *   provider's abuse monitoring — identical prompts from two users share one answer), `metadata`, `store`, `stream`
 *   and `stream_options`. Everything else, sampling parameters included, is part of it; caching a request with
 *   `temperature > 0` makes its answer repeat, which is the point of a cache. A store you give gets that canonical
 *   string hashed with SHA-256 ({@link keyOf}), so keys stay short. The default in-memory store never builds the
 *   string: it finds an entry by a 32-bit hash of the request's structure and confirms it by comparing the request
 *   with a copy of the stored one, so a hash collision can cost a miss but never gives a wrong answer. The copy keeps
 *   a long string (over 256 characters: a long prompt) as its length and SHA-256, so the memory holds answers, not
 *   every long prompt it was asked.
 * - **Store**: in memory by default, holding `capacity` (default 256) entries with least-recently-used eviction (a
 *   hit refreshes an entry) and a `ttl` (default 5 minutes) counted from the write, on `Clock`. Plug another store
 *   with the `store` option or {@link layerStore} and the {@link CacheStore} tag. A store that fails or dies is
 *   skipped with a warning log: the request is still served, from the service below. A remote store should bound
 *   its own operations with a timeout: the cache waits for a read before deciding to call the service.
 * - **Single flight**: concurrent identical `chat` (or `embed`) calls share one upstream call. The first caller runs
 *   it; the others wait for its answer. Interrupting a waiting caller does not disturb anyone else. Interrupting the
 *   first caller cancels its call, and if others are still waiting a fresh call is started for them on a fiber owned
 *   by the layer; that call is interrupted in turn once every caller waiting on it has gone. So no caller ever sees
 *   another caller's interruption, and nobody pays for a fiber in the usual, uncontended case.
 * - **Errors are never cached**: callers sharing a flight all get its error, and the next request tries again.
 * - **Streams** are recorded and stored once the upstream stream completes; a hit replays the recorded chunks one by
 *   one. A stream that fails, or that every caller stopped reading before its end, is not stored. Identical streams
 *   asked for while one runs share it: a fiber owned by the layer reads the upstream stream into a buffer, and every
 *   caller reads it from the first chunk, at its own pace, in the upstream's own batches. A caller who stops early
 *   disturbs nobody (the others still get the whole stream, from the same upstream call — never a restarted one,
 *   whose chunks could differ); the upstream call is interrupted once every caller has stopped before its end.
 *   `chat` and `chatStream` entries are separate.
 * - `listModels` passes through.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Chat from "./Chat.js"
import type * as Embedding from "./Embedding.js"
import type * as LlmService from "./LlmService.js"
import * as internal from "./internal/middleware/cache.js"
import { digestKey } from "./internal/middleware/cacheKey.js"
import * as Pipeline from "./internal/middleware/pipeline.js"
import { transform } from "./internal/middleware/wrap.js"

/**
 * What the cache stores: a whole response, the chunks of a completed stream, or an embeddings response.
 *
 * @since 0.1.0
 * @category models
 */
export type Entry =
  | { readonly _tag: "Chat"; readonly response: Chat.ChatCompletionResponse }
  | { readonly _tag: "ChatStream"; readonly chunks: ReadonlyArray<Chat.ChatCompletionChunk> }
  | { readonly _tag: "Embedding"; readonly response: Embedding.EmbeddingResponse }

/**
 * A place to keep cache entries. Its failures never reach callers: the cache logs them and carries on, so a store may
 * fail with whatever error its client has. A store is expected to forget an entry once its `ttl` has passed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Store {
  readonly get: (key: string) => Effect.Effect<Option.Option<Entry>, unknown>
  readonly set: (key: string, entry: Entry, ttl: Duration.Duration) => Effect.Effect<void, unknown>
  readonly delete: (key: string) => Effect.Effect<void, unknown>
}

/**
 * The tag of a cache store, for {@link layerStore}.
 *
 * @since 0.1.0
 * @category tags
 */
export class CacheStore extends Context.Tag("effect-liter-llm/LlmCache/CacheStore")<CacheStore, Store>() {}

/**
 * An in-memory store of at most `capacity` entries (default 256), evicting the least recently used; entries expire
 * `ttl` after their write, on `Clock`. Each call owns a fresh, empty store.
 *
 * @since 0.1.0
 * @category stores
 */
export const memoryStore = (options: { readonly capacity?: number | undefined } = {}): Effect.Effect<Store> =>
  Effect.sync(() => {
    const memory = new internal.Lru<string, { readonly entry: Entry; readonly expiresAt: number }>(
      options.capacity ?? 256
    )
    return {
      get: (key) => Effect.map(Clock.currentTimeMillis, (now) => Option.fromNullable(memory.get(key, now)?.entry)),
      set: (key, entry, ttl) =>
        Effect.map(Clock.currentTimeMillis, (now) =>
          memory.set(key, { entry, expiresAt: now + Duration.toMillis(ttl) })
        ),
      delete: (key) => Effect.sync(() => memory.delete(key))
    }
  })

/**
 * A layer providing a fresh {@link memoryStore} as the {@link CacheStore}.
 *
 * @since 0.1.0
 * @category stores
 */
export const layerMemoryStore = (options: { readonly capacity?: number | undefined } = {}): Layer.Layer<CacheStore> =>
  Layer.effect(CacheStore, memoryStore(options))

/**
 * The cache key of a request for an operation: stable across key order, without the fields that do not change the
 * answer (see the module docs).
 *
 * @since 0.1.0
 * @category keys
 */
export const keyOf = (
  operation: "chat" | "chatStream" | "embed",
  request: Chat.ChatCompletionRequest | Embedding.EmbeddingRequest
): string => digestKey(operation, request)

/**
 * Cache options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Entries kept by the default in-memory store. Default 256. Ignored when `store` is given. */
  readonly capacity?: number | undefined
  /** How long an entry lives after its write. Default five minutes. */
  readonly ttl?: Duration.DurationInput | undefined
  /** Where entries live. Default: a fresh in-memory store of `capacity` entries. */
  readonly store?: Store | undefined
}

/**
 * Wraps a service in a cache. Scoped: shared upstream calls run on fibers that end with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<(service: LlmService.Service) => LlmService.Service, never, Scope.Scope> =>
  Effect.map(internal.make(options), (piece) => (service) => Pipeline.stack([piece], service))

/**
 * A layer transformer caching the `LlmService` below, in the `store` given or a fresh in-memory one.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<LlmService.LlmService, never, LlmService.LlmService> =>
  transform((service) => Effect.map(make(options), (cache) => cache(service)))

/**
 * A layer transformer caching the `LlmService` below in the {@link CacheStore} from context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore = (
  options: Omit<Options, "store" | "capacity"> = {}
): Layer.Layer<LlmService.LlmService, never, LlmService.LlmService | CacheStore> =>
  transform((service) =>
    Effect.flatMap(CacheStore, (store) => Effect.map(make({ ...options, store }), (cache) => cache(service)))
  )
