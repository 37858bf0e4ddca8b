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
 *   `temperature > 0` makes its answer repeat, which is the point of a cache. The in-memory store keys on that
 *   canonical string itself; a store you give gets it hashed with SHA-256 ({@link keyOf}), so keys stay short.
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
 * - **Streams** are recorded while they pass through and stored only when they complete; a hit replays the recorded
 *   chunks one by one. A stream that fails, is interrupted or is not read to the end is not stored. Streams are not
 *   single-flighted (each miss streams from the service). `chat` and `chatStream` entries are separate.
 * - `listModels` passes through.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Chat from "./Chat.js"
import type * as Embedding from "./Embedding.js"
import * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import { onStreamEnd } from "./internal/middleware/stream.js"
import { transform, wrap } from "./internal/middleware/wrap.js"

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
    const memory = new Memory(options.capacity ?? 256)
    return {
      get: (key) => Effect.map(Clock.currentTimeMillis, (now) => Option.fromNullable(memory.get(key, now))),
      set: (key, entry, ttl) => Effect.map(Clock.currentTimeMillis, (now) => memory.set(key, entry, now, ttl)),
      delete: (key) => Effect.sync(() => memory.delete(key))
    }
  })

/**
 * The in-memory store's entries, with synchronous access: the cache's own default store is read and written through
 * these methods directly rather than through {@link Store}'s effects, since a `Map` can neither fail nor block and the
 * effects (clock read, error recovery) cost more than the lookup.
 */
class Memory {
  // A Map iterates in insertion order; re-inserting on every hit keeps the least recently used entry first.
  private readonly entries = new Map<string, { readonly entry: Entry; readonly expiresAt: number }>()
  private readonly capacity: number

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity))
  }

  get(key: string, now: number): Entry | undefined {
    const found = this.entries.get(key)
    if (found === undefined) return undefined
    this.entries.delete(key)
    if (found.expiresAt <= now) return undefined
    this.entries.set(key, found)
    return found.entry
  }

  set(key: string, entry: Entry, now: number, ttl: Duration.Duration): void {
    this.entries.delete(key)
    if (this.capacity === 0) return
    this.entries.set(key, { entry, expiresAt: now + Duration.toMillis(ttl) })
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!)
  }

  delete(key: string): void {
    this.entries.delete(key)
  }
}

/**
 * A layer providing a fresh {@link memoryStore} as the {@link CacheStore}.
 *
 * @since 0.1.0
 * @category stores
 */
export const layerMemoryStore = (options: { readonly capacity?: number | undefined } = {}): Layer.Layer<CacheStore> =>
  Layer.effect(CacheStore, memoryStore(options))

const ignoredFields: ReadonlySet<string> = new Set(["user", "metadata", "store", "stream", "stream_options"])

/**
 * JSON with sorted object keys and without `undefined`/`null` members; `ignored` applies to the top level only. Built
 * by string concatenation rather than arrays joined at each level: it runs on every call, and the output must stay
 * byte-for-byte the same, since external stores keep keys derived from it. Hence also, for speed with equal output
 * (it was a third of a cache miss's CPU):
 *
 * - numbers and booleans are written with `String` (what `JSON.stringify` does for finite numbers; non-finite ones
 *   become `null`, as in JSON), only strings and other values go through `JSON.stringify`;
 * - keys are sorted with an insertion sort on `<` for the small objects requests are made of — the same code-unit
 *   order as `Array.prototype.sort`'s default, without its conversions; larger objects use `sort()`;
 * - the default store's keys quote field names through a per-cache memo (`rememberedQuotes`): requests reuse a
 *   handful of field names.
 */
const canonical = (value: unknown, ignored: ReadonlySet<string> | undefined, quoted: QuotedKeys): string => {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
      return Number.isFinite(value) ? String(value) : "null"
    case "boolean":
      return value ? "true" : "false"
  }
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) {
    let out = "["
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + canonical(value[i], undefined, quoted)
    return out + "]"
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length > 16) keys.sort()
  else
    for (let i = 1; i < keys.length; i++) {
      const key = keys[i]!
      let j = i - 1
      while (j >= 0 && keys[j]! > key) {
        keys[j + 1] = keys[j]!
        j--
      }
      keys[j + 1] = key
    }
  let out = "{"
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const member = record[key]
    if (member === undefined || member === null || ignored?.has(key)) continue
    out += (out.length === 1 ? "" : ",") + quoted(key) + ":" + canonical(member, undefined, quoted)
  }
  return out + "}"
}

type QuotedKeys = (key: string) => string

/** Quotes object keys as `JSON.stringify` does. */
const quoteKey: QuotedKeys = (key) => JSON.stringify(key)

/**
 * {@link quoteKey}, remembered per key name. One per cache (made in `make`, not shared through the module), bounded so
 * keys invented by callers cannot grow it without limit.
 */
const rememberedQuotes = (): QuotedKeys => {
  const memo = new Map<string, string>()
  return (key) => {
    let found = memo.get(key)
    if (found === undefined) {
      found = JSON.stringify(key)
      if (memo.size >= 4096) memo.clear()
      memo.set(key, found)
    }
    return found
  }
}

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
): string =>
  `llm-cache:v1:${operation}:${createHash("sha256")
    .update(canonical(request, ignoredFields, quoteKey))
    .digest("base64url")}`

/**
 * The key of the default in-memory store: the canonical form itself. A `Map` hashes a string key once and compares it
 * exactly, so a digest would add a SHA-256 per call (a tenth of a cache hit's CPU) and buy nothing; the digest is kept
 * for stores given by the caller, where keys travel and their size matters.
 */
const memoryKeyOf =
  (quoted: QuotedKeys) =>
  (
    operation: "chat" | "chatStream" | "embed",
    request: Chat.ChatCompletionRequest | Embedding.EmbeddingRequest
  ): string =>
    `${operation}:${canonical(request, ignoredFields, quoted)}`

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

interface Flight<A> {
  /** Made by the first caller who joins: an uncontended call never needs one. */
  deferred: Deferred.Deferred<A, LiterLlmError.LiterLlmError> | undefined
  waiters: number
  fiber: Fiber.RuntimeFiber<void> | undefined
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
  Effect.gen(function* () {
    // The default store is used synchronously (see `Memory`); a store given by the caller goes through its effects.
    const memory = options.store === undefined ? new Memory(options.capacity ?? 256) : undefined
    const store = options.store
    const key = memory !== undefined ? memoryKeyOf(rememberedQuotes()) : keyOf
    // A request that JSON cannot hold (a BigInt, a cycle) has no key; answer with a typed error, not a throw at the
    // caller, which is what a provider would answer for the same request.
    const keyOrError = (
      operation: "chat" | "chatStream" | "embed",
      request: Chat.ChatCompletionRequest | Embedding.EmbeddingRequest
    ): string | LiterLlmError.Serialization => {
      try {
        return key(operation, request)
      } catch (cause) {
        return new LiterLlmError.Serialization({
          message: `the ${operation} request cannot be encoded as JSON (${String(cause)}); remove BigInt values and cycles`,
          cause
        })
      }
    }
    const ttl = Duration.decode(options.ttl ?? "5 minutes")
    const scope = yield* Effect.scope
    // Calls in flight by key, owned by this cache; touched only inside Effect.sync-like steps, so atomic.
    const flights = new Map<string, Flight<unknown>>()

    const skipped =
      <A>(operation: string, fallback: A) =>
      (cause: Cause.Cause<unknown>): Effect.Effect<A> =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : Effect.as(
              Effect.logWarning(
                `the LLM cache store failed to ${operation}; serving without it. Check the store.`,
                Cause.squash(cause)
              ),
              fallback
            )

    const read = <A>(key: string, tag: Entry["_tag"], take: (entry: Entry) => A): Effect.Effect<Option.Option<A>> => {
      if (memory !== undefined)
        return Effect.withFiberRuntime((fiber) => {
          const now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
          const found = memory.get(key, now)
          // Only this cache writes its memory, and each key holds one kind of entry.
          return found === undefined ? Effect.succeedNone : Effect.succeedSome(take(found))
        })
      return store!.get(key).pipe(
        Effect.catchAllCause(skipped("read an entry", Option.none<Entry>())),
        Effect.flatMap((found) => {
          if (Option.isNone(found)) return Effect.succeedNone
          if (found.value._tag === tag) return Effect.succeedSome(take(found.value))
          // Not what this key can hold: a foreign or corrupted entry. Forget it rather than serve it.
          return Effect.as(
            Effect.catchAllCause(store!.delete(key), skipped("delete an entry", undefined)),
            Option.none<A>()
          )
        })
      )
    }

    const write = (key: string, entry: Entry): Effect.Effect<void> =>
      memory !== undefined
        ? Effect.withFiberRuntime((fiber) => {
            memory.set(
              key,
              entry,
              Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis(),
              ttl
            )
            return Effect.void
          })
        : Effect.catchAllCause(
            Effect.suspend(() => store!.set(key, entry, ttl)),
            skipped("write an entry", undefined)
          )

    const join = <A>(key: string, flight: Flight<A>): Effect.Effect<A, LiterLlmError.LiterLlmError> =>
      Effect.uninterruptibleMask((restore) => {
        flight.waiters++
        const deferred = (flight.deferred ??= Deferred.unsafeMake<A, LiterLlmError.LiterLlmError>(FiberId.none))
        return restore(Deferred.await(deferred)).pipe(
          Effect.onExit((exit) =>
            Effect.suspend(() => {
              flight.waiters--
              if (!Exit.isInterrupted(exit) || flight.waiters > 0 || flight.fiber === undefined) return Effect.void
              return Effect.flatMap(Deferred.isDone(deferred), (done) => {
                if (done) return Effect.void
                // The last caller left: nobody wants the answer any more, so stop the upstream call.
                if (flights.get(key) === flight) flights.delete(key)
                return Effect.asVoid(Fiber.interruptFork(flight.fiber!))
              })
            })
          )
        )
      })

    /** Runs the call to the end for whoever still waits on `flight`, on a fiber owned by the cache. */
    const finish = <A>(
      key: string,
      flight: Flight<A>,
      upstream: Effect.Effect<A, LiterLlmError.LiterLlmError>,
      toEntry: (a: A) => Entry
    ): Effect.Effect<Fiber.RuntimeFiber<void>> =>
      // Forked from an uninterruptible region: the call is made interruptible so the last leaving caller can stop it.
      Effect.interruptible(upstream).pipe(
        Effect.exit,
        Effect.tap((exit) => (flight.deferred === undefined ? Effect.void : Deferred.done(flight.deferred, exit))),
        Effect.flatMap((exit) => (Exit.isSuccess(exit) ? write(key, toEntry(exit.value)) : Effect.void)),
        Effect.ensuring(
          Effect.sync(() => {
            if (flights.get(key) === flight) flights.delete(key)
          })
        ),
        Effect.forkIn(scope)
      )

    /**
     * The first caller runs the call on its own fiber — no extra fiber in the usual, uncontended case — while later
     * identical callers wait on its Deferred. If the first caller is interrupted while others wait, its call is
     * cancelled with it and a fresh one is started for them on a fiber owned by the cache.
     */
    const lead = <A>(
      key: string,
      upstream: Effect.Effect<A, LiterLlmError.LiterLlmError>,
      toEntry: (a: A) => Entry
    ): Effect.Effect<A, LiterLlmError.LiterLlmError> =>
      // Plain flatMaps rather than Effect.gen: this runs on every miss.
      Effect.uninterruptibleMask((restore) => {
        const flight: Flight<A> = { deferred: undefined, waiters: 0, fiber: undefined }
        flights.set(key, flight as Flight<unknown>)
        const leave = () => {
          if (flights.get(key) === flight) flights.delete(key)
        }
        return Effect.flatMap(Effect.exit(restore(upstream)), (exit) => {
          if (Exit.isInterrupted(exit)) {
            if (flight.waiters === 0) {
              leave()
              return exit
            }
            return Effect.flatMap(finish(key, flight, upstream, toEntry), (fiber) => {
              flight.fiber = fiber
              return exit
            })
          }
          // Answer the waiting callers first, then store (write-through: this caller returns once it is stored);
          // until then, newcomers join this finished flight instead of calling again.
          const stored = Exit.isSuccess(exit) ? write(key, toEntry(exit.value)) : Effect.void
          const answered =
            flight.deferred === undefined ? stored : Effect.zipRight(Deferred.done(flight.deferred, exit), stored)
          return Effect.flatMap(answered, () => {
            leave()
            return exit
          })
        })
      })

    const cached = <A>(
      key: string,
      tag: "Chat" | "Embedding",
      take: (entry: Entry) => A,
      toEntry: (a: A) => Entry,
      upstream: Effect.Effect<A, LiterLlmError.LiterLlmError>
    ): Effect.Effect<A, LiterLlmError.LiterLlmError> =>
      Effect.withFiberRuntime((fiber) => {
        const inFlight = flights.get(key) as Flight<A> | undefined
        if (inFlight !== undefined) return join(key, inFlight)
        if (memory !== undefined) {
          // The default store in the same step: a hit costs one effect. Nothing runs between the look-up and
          // the flight check, so no re-check is needed.
          const found = memory.get(
            key,
            Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
          )
          return found !== undefined ? Effect.succeed(take(found)) : lead(key, upstream, toEntry)
        }
        return Effect.flatMap(read(key, tag, take), (hit) => {
          if (Option.isSome(hit)) return Effect.succeed(hit.value)
          // Re-check: another caller may have started the same call while the store was being read.
          const started = flights.get(key) as Flight<A> | undefined
          return started === undefined ? lead(key, upstream, toEntry) : join(key, started)
        })
      })

    return (service) =>
      wrap(service, {
        chat: (request) => {
          const chatKey = keyOrError("chat", request)
          if (typeof chatKey !== "string") return Effect.fail(chatKey)
          return cached(
            chatKey,
            "Chat",
            (entry) => (entry as Extract<Entry, { _tag: "Chat" }>).response,
            (response) => ({ _tag: "Chat", response }),
            service.chat(request)
          )
        },
        embed: (request) => {
          const embedKey = keyOrError("embed", request)
          if (typeof embedKey !== "string") return Effect.fail(embedKey)
          return cached(
            embedKey,
            "Embedding",
            (entry) => (entry as Extract<Entry, { _tag: "Embedding" }>).response,
            (response) => ({ _tag: "Embedding", response }),
            service.embed(request)
          )
        },
        chatStream: (request) => {
          const streamKey = keyOrError("chatStream", request)
          if (typeof streamKey !== "string") return Stream.fail(streamKey)
          const record = Stream.suspend(() => {
            // Per run of the stream: the chunks seen so far, stored only if the stream completes.
            const recorded: Array<Chat.ChatCompletionChunk> = []
            const recording = Stream.mapChunks(service.chatStream(request), (chunk) => {
              for (const c of chunk) recorded.push(c)
              return chunk
            })
            // Stored before the stream ends for the caller, so a caller that has read a stream to its end will hit.
            return onStreamEnd(recording, (outcome) =>
              outcome._tag === "Completed" ? write(streamKey, { _tag: "ChatStream", chunks: recorded }) : Effect.void
            )
          })
          return Stream.unwrap(
            Effect.map(
              read(streamKey, "ChatStream", (entry) => (entry as Extract<Entry, { _tag: "ChatStream" }>).chunks),
              Option.match({ onNone: () => record, onSome: (chunks) => Stream.fromIterable(chunks) })
            )
          )
        }
      })
  })

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
