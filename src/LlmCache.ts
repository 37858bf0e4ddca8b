/**
 * A response cache: a request asked before is answered from a store instead of the service below.
 *
 * ```ts
 * const cached = LlmCache.layer({ capacity: 1000, ttl: "10 minutes" }).pipe(Layer.provide(deployment))
 * ```
 *
 * Semantics:
 * - **Key**: the SHA-256 (computed in plain TypeScript: synchronous, the same in every runtime) of the request's
 *   canonical JSON — object keys sorted, `null` and `undefined` members dropped, arrays in order — under its
 *   operation (`chat`, `chatStream`, `embed`: a streamed answer is not a whole one). Key order and object identity
 *   play no part. Fields that do not change the answer are left out at the top level: `user`, `metadata`, `store`,
 *   `stream`, `stream_options`. Everything else counts, sampling parameters included: every request is cachable, and
 *   caching one with `temperature > 0` makes its answer repeat, which is the point of a cache. A request JSON cannot
 *   hold (a `bigint`, a cycle) fails with `Serialization` and calls nothing. A key is a digest, so no prompt text
 *   reaches a store's key names.
 * - **Store**: the {@link CacheStore} in context when one is provided (a shared one, such as Redis), else a fresh
 *   in-memory store of `capacity` entries (default 256), the least recently used evicted first. An entry lives `ttl`
 *   (default 5 minutes) from its write, on `Clock`. A store that fails or dies is skipped with a warning: the request
 *   is served by the service below. Only successful answers are stored.
 * - **Hits** answer with zero usage — the provider did no work — so a budget, a rate limit or telemetry above the
 *   cache charges nothing, and they set `liter_llm.cache.hit: true` on the current span. A replayed stream carries
 *   the zero usage from its first chunk, so a reader who stops early knows it too.
 * - **Single flight**: concurrent identical calls (chat, embed, stream) share one upstream call, on a fiber of its
 *   own: a caller who leaves or is interrupted disturbs nobody, and the call is interrupted, and not stored, once every
 *   caller has left before its end. The provider bills it once, so the first caller to receive its usage carries it
 *   and the others are answered as hits. Each reader of a shared stream gets every chunk from the first, at its own
 *   pace; the stream is stored when it completes, before any reader sees its end. A failure reaches every sharer.
 * - `listModels` passes through.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Chat from "./Chat.js"
import type * as Embedding from "./Embedding.js"
import type * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import type * as Moderation from "./Moderation.js"
import type * as Rerank from "./Rerank.js"
import { Bypass } from "./internal/cache/bypass.js"
import * as Calls from "./internal/cache/calls.js"
import * as Key from "./internal/cache/key.js"
import * as Lru from "./internal/cache/lru.js"
import * as Validate from "./internal/validate.js"

/**
 * What the cache stores: a whole response, the chunks of a completed stream, an embeddings, moderation or rerank
 * response (the deterministic operations; images, speech and transcription are never cached).
 *
 * @since 0.1.0
 * @category models
 */
export type Entry =
  | { readonly _tag: "Chat"; readonly response: Chat.ChatCompletionResponse }
  | { readonly _tag: "ChatStream"; readonly chunks: ReadonlyArray<Chat.ChatCompletionChunk> }
  | { readonly _tag: "Embedding"; readonly response: Embedding.EmbeddingResponse }
  | { readonly _tag: "Moderation"; readonly response: Moderation.ModerationResponse }
  | { readonly _tag: "Rerank"; readonly response: Rerank.RerankResponse }

/**
 * Where entries live: one round trip per read or write. A store forgets an entry `ttl` after its write; its failures
 * never reach callers (the cache logs them and carries on), so it may fail with whatever its client does.
 *
 * @since 0.1.0
 * @category models
 */
export interface Store {
  readonly get: (key: string) => Effect.Effect<Option.Option<Entry>, unknown>
  readonly set: (key: string, entry: Entry, ttl: Duration.Duration) => Effect.Effect<void, unknown>
}

/**
 * The store the cache uses when one is provided; without it, each cache makes its own {@link memoryStore}.
 *
 * @since 0.1.0
 * @category tags
 */
export class CacheStore extends Context.Tag("effect-liter-llm/LlmCache/CacheStore")<CacheStore, Store>() {}

const StoreOptions = Schema.Struct({ capacity: Schema.optional(Validate.PositiveInt) })

/**
 * An in-memory store of at most `capacity` entries (default 256), evicting the least recently used; entries expire
 * `ttl` after their write, on `Clock`. Each call makes a fresh, empty one.
 *
 * @since 0.1.0
 * @category stores
 */
export const memoryStore = (
  options: { readonly capacity?: number | undefined } = {}
): Effect.Effect<Store, LiterLlmError.BadRequest> =>
  Effect.zipRight(Validate.options("LlmCache", StoreOptions, options), memory(options.capacity ?? 256))

// The clock is read in `clockWith` rather than through `Clock.currentTimeMillis`: one step instead of three, on every
// cached call.
const memory = (capacity: number): Effect.Effect<Calls.Infallible> =>
  Effect.map(Ref.make(Lru.empty<Entry>(capacity)), (state) => ({
    get: (key) =>
      Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        return Ref.modify(state, (lru) => Lru.get(lru, key, now))
      }),
    set: (key, entry, ttl) =>
      Effect.clockWith((clock) => {
        const expiresAt = clock.unsafeCurrentTimeMillis() + Duration.toMillis(ttl)
        return Ref.update(state, (lru) => Lru.set(lru, key, entry, expiresAt))
      })
  }))

/**
 * A fresh {@link memoryStore} as the {@link CacheStore}, for caches that should share one.
 *
 * @since 0.1.0
 * @category stores
 */
export const layerMemoryStore = (
  options: { readonly capacity?: number | undefined } = {}
): Layer.Layer<CacheStore, LiterLlmError.BadRequest> => Layer.effect(CacheStore, memoryStore(options))

/**
 * The store key of a request for an operation, `llm-cache:v1:<operation>:<SHA-256>`; see the module docs for what
 * it depends on.
 *
 * @since 0.1.0
 * @category keys
 */
export const keyOf: (
  operation: "chat" | "chatStream" | "embed" | "moderate" | "rerank",
  request: Chat.ChatCompletionRequest | Embedding.EmbeddingRequest | Moderation.ModerationRequest | Rerank.RerankRequest
) => Effect.Effect<string, LiterLlmError.Serialization> = Key.keyOf

/**
 * Cache options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Entries kept by the in-memory store, a whole number ≥ 1. Default 256. Unused when a `CacheStore` is provided. */
  readonly capacity?: number | undefined
  /** How long an entry lives after its write; positive and finite. Default five minutes. */
  readonly ttl?: Duration.DurationInput | undefined
}

const Ttl = Schema.Unknown.pipe(
  Schema.filter(
    (input) =>
      input === undefined ||
      Option.exists(
        Duration.decodeUnknown(input),
        (ttl) => Duration.isFinite(ttl) && Duration.greaterThan(ttl, Duration.zero)
      ),
    { message: () => `expected a positive, finite duration such as "5 minutes"` }
  )
)
const OptionsSchema = Schema.Struct({ capacity: Schema.optional(Validate.PositiveInt), ttl: Schema.optional(Ttl) })

const zeroUsage: Chat.Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }

/**
 * Wraps the service below in a cache. Fails with `BadRequest` naming an option out of range. Scoped: calls in
 * flight are interrupted when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make =
  (options: Options = {}) =>
  (below: LlmService.Service): Effect.Effect<LlmService.Service, LiterLlmError.BadRequest, Scope.Scope> =>
    Effect.gen(function* () {
      yield* Validate.options("LlmCache", OptionsSchema, options)
      const ttl = Duration.decode(options.ttl ?? "5 minutes")
      const provided = yield* Effect.serviceOption(CacheStore)
      const storage = Option.isSome(provided)
        ? Calls.guarded(provided.value, ttl)
        : Calls.direct(yield* memory(options.capacity ?? 256), ttl)
      const chat = yield* Calls.whole<Chat.ChatCompletionRequest, Chat.ChatCompletionResponse>(storage, {
        operation: "chat",
        call: below.chat,
        entry: (response) => ({ _tag: "Chat", response }),
        answer: (e) => (e._tag === "Chat" ? e.response : undefined),
        asHit: (response) => ({ ...response, usage: zeroUsage })
      })
      const chatStream = yield* Calls.stream(storage, below.chatStream)
      const embed = yield* Calls.whole<Embedding.EmbeddingRequest, Embedding.EmbeddingResponse>(storage, {
        operation: "embed",
        call: below.embed,
        entry: (response) => ({ _tag: "Embedding", response }),
        answer: (e) => (e._tag === "Embedding" ? e.response : undefined),
        asHit: (response) => ({ ...response, usage: { prompt_tokens: 0, total_tokens: 0 } })
      })
      const moderate = yield* Calls.whole<Moderation.ModerationRequest, Moderation.ModerationResponse>(storage, {
        operation: "moderate",
        call: below.moderate,
        entry: (response) => ({ _tag: "Moderation", response }),
        answer: (e) => (e._tag === "Moderation" ? e.response : undefined),
        asHit: (response) => response
      })
      const rerank = yield* Calls.whole<Rerank.RerankRequest, Rerank.RerankResponse>(storage, {
        operation: "rerank",
        call: below.rerank,
        entry: (response) => ({ _tag: "Rerank", response }),
        answer: (e) => (e._tag === "Rerank" ? e.response : undefined),
        // a replay costs nothing: no usage
        asHit: ({ usage: _usage, ...response }) => response
      })
      return LlmService.LlmService.of({
        ...below,
        moderate: (request) => Effect.flatMap(Bypass, (skip) => (skip ? below.moderate(request) : moderate(request))),
        rerank: (request) => Effect.flatMap(Bypass, (skip) => (skip ? below.rerank(request) : rerank(request))),
        chat: (request) => Effect.flatMap(Bypass, (skip) => (skip ? below.chat(request) : chat(request))),
        chatStream: (request) =>
          Stream.unwrap(Effect.map(Bypass, (skip) => (skip ? below.chatStream(request) : chatStream(request)))),
        embed: (request) => Effect.flatMap(Bypass, (skip) => (skip ? below.embed(request) : embed(request)))
      })
    })

/**
 * The flag that makes the calls inside an effect skip the cache (see {@link bypass}); `false` unless provided. For a
 * stream: `Stream.provideService(stream, LlmCache.Bypass, true)`.
 *
 * @since 0.1.0
 * @category bypass
 */
export { Bypass }

/**
 * Runs an effect with its LLM calls skipping every cache: neither read nor written, answered by the service below
 * (a "no-cache" request, or a probe that must reach the deployment).
 *
 * @since 0.1.0
 * @category bypass
 */
export const bypass = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(effect, Bypass, true)

/**
 * The cache as a layer over the `LlmService` below, storing in the provided {@link CacheStore} or in memory.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<LlmService.LlmService, LiterLlmError.BadRequest, LlmService.LlmService> =>
  Layer.scoped(LlmService.LlmService, Effect.flatMap(LlmService.LlmService, make(options)))
