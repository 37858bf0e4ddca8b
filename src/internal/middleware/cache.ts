/**
 * The response cache as a pipeline piece (see `LlmCache.ts` for the semantics). Innermost in any pipeline it is part
 * of: on a miss it calls the service itself (`call.upstream`). With `zeroHitUsage` (as in `LlmClient`) an answer that
 * did not go upstream reports zero usage, so the stages outside count nothing for it, and the current span — the
 * telemetry span when telemetry is outside, else the caller's — is marked `liter_llm.cache.hit`, for chat, embeddings
 * and streams alike.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmCache from "../../LlmCache.js"
import { type CacheOperation, Digests, digestKey, hashOf, same, snapshotOf } from "./cacheKey.js"
import { markHit } from "./hitMark.js"
import { type Admission, Answer, Await, type Call, clockOf, type Piece, type Stage } from "./pipeline.js"
import { type Sharing, StreamFlight } from "./streamFlight.js"

type Entry = LlmCache.Entry

/** An entry of an {@link Lru}, linked to its neighbours in order of use. */
interface Node<K, V> {
  readonly key: K
  readonly value: V
  /** The entry used just before this one (towards the least recently used), if any. */
  older: Node<K, V> | undefined
  /** The entry used just after this one (towards the most recently used), if any. */
  newer: Node<K, V> | undefined
}

/**
 * Entries with a capacity, least-recently-used eviction and a time to live, read and written synchronously: a `Map`
 * can neither fail nor block, and effects (a clock read, error recovery) would cost more than the look-up. Used by
 * the cache for its own memory (keyed by request hash) and by `LlmCache.memoryStore` (keyed by string).
 *
 * The order of use is a list linked through the entries, so every operation is a constant number of steps. (Taking
 * the oldest entry as the first key of an insertion-ordered `Map` is not: a `Map` leaves a hole where an entry was
 * deleted until it next rehashes, and iterating from the start walks over them, so with every call a miss the
 * eviction cost grew with the capacity — a quarter of a microsecond per miss at 256 entries, more above.)
 */
export class Lru<K, V extends { readonly expiresAt: number }> {
  private readonly nodes = new Map<K, Node<K, V>>()
  private readonly capacity: number
  private oldest: Node<K, V> | undefined = undefined
  private newest: Node<K, V> | undefined = undefined

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity))
  }

  /** The live entry under `key`, if `accept` takes it; a hit becomes the most recently used. */
  get(key: K, now: number, accept?: (value: V) => boolean): V | undefined {
    const node = this.nodes.get(key)
    if (node === undefined) return undefined
    if (node.value.expiresAt <= now) {
      this.remove(node)
      return undefined
    }
    if (accept !== undefined && !accept(node.value)) return undefined
    if (node !== this.newest) {
      this.unlink(node)
      this.append(node)
    }
    return node.value
  }

  set(key: K, value: V): void {
    const previous = this.nodes.get(key)
    if (previous !== undefined) this.remove(previous)
    if (this.capacity === 0) return
    const node: Node<K, V> = { key, value, older: undefined, newer: undefined }
    this.nodes.set(key, node)
    this.append(node)
    if (this.nodes.size > this.capacity) this.remove(this.oldest!)
  }

  delete(key: K): void {
    const node = this.nodes.get(key)
    if (node !== undefined) this.remove(node)
  }

  private remove(node: Node<K, V>): void {
    this.nodes.delete(node.key)
    this.unlink(node)
  }

  /** Takes `node` out of the order of use. */
  private unlink(node: Node<K, V>): void {
    if (node.older === undefined) this.oldest = node.newer
    else node.older.newer = node.newer
    if (node.newer === undefined) this.newest = node.older
    else node.newer.older = node.older
    node.older = undefined
    node.newer = undefined
  }

  /** Puts `node` (not in the order of use) last, as the most recently used. */
  private append(node: Node<K, V>): void {
    node.older = this.newest
    if (this.newest === undefined) this.oldest = node
    else this.newest.newer = node
    this.newest = node
  }
}

/** Which request a stored entry or a flight is for. */
interface Identity {
  readonly operation: CacheOperation
  /** The request as the stored entry keeps it (see `snapshotOf`); later callers compare theirs with it. */
  readonly snapshot: unknown
}

/**
 * An answer in the cache's own memory, under its request's hash: what it answers (a response, or a stream's chunks),
 * and for which request, to confirm a match. One entry per hash: a request whose hash collides with another's
 * replaces it, which costs the other a miss, never a wrong answer.
 */
interface Stored extends Identity {
  readonly value: unknown
  readonly expiresAt: number
}

/** Options of the piece: the public ones, and whether answers that did not go upstream report zero usage. */
export interface Options extends LlmCache.Options {
  /**
   * Report a hit's usage as zero tokens — it consumed nothing from the provider — so a budget, a token rate limit and
   * telemetry outside the cache count nothing for it, and mark the current span `liter_llm.cache.hit`.
   * `LlmClient` sets it; the cache used alone does not, so it returns exactly what was stored.
   */
  readonly zeroHitUsage?: boolean | undefined
}

/** Where a flight's answer is written. */
interface Destination extends Identity {
  readonly hash: number
  /** The key in the store given by the caller; none for the cache's own memory. */
  readonly storeKey: string | undefined
}

/**
 * A call in flight, under its request's hash. Like a stored entry, one per hash: a request whose hash collides with
 * that of a call in flight for another request runs on its own, unshared.
 */
interface Flight<A> extends Destination {
  /** Made by the first caller who joins: an uncontended call never needs one. */
  deferred: Deferred.Deferred<A, LiterLlmError.LiterLlmError> | undefined
  waiters: number
  /** The fiber of the call restarted for the waiting callers after the first one was interrupted. */
  fiber: Fiber.RuntimeFiber<void> | undefined
  /** Whether a waiting caller has taken the restarted call as its own (see `joinFlight`). */
  claimed: boolean
}

const zeroUsage: Chat.Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }
const zeroEmbeddingUsage: Embedding.EmbeddingResponse["usage"] = { prompt_tokens: 0, total_tokens: 0 }

const nowOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>) => clockOf(fiber).unsafeCurrentTimeMillis()

type Request = Chat.ChatCompletionRequest | Embedding.EmbeddingRequest

/** A cache as a piece. Scoped: shared upstream calls restarted for waiting callers run on fibers of the scope. */
export const make = (options: Options = {}): Effect.Effect<Piece, never, Scope.Scope> =>
  Effect.map(Effect.scope, (scope) => {
    // The default store is used synchronously (see `Lru`); a store given by the caller goes through its effects.
    const memory = options.store === undefined ? new Lru<number, Stored>(options.capacity ?? 256) : undefined
    const store = options.store
    const zeroHits = options.zeroHitUsage === true
    const ttlMillis = Duration.toMillis(Duration.decode(options.ttl ?? "5 minutes"))
    const ttl = Duration.millis(ttlMillis)

    // A request that JSON cannot hold (a BigInt, a cycle) has no key; answer with a typed error, not a throw at the
    // caller, which is what a provider would answer for the same request.
    // `digests` are the call's (see `Digests`): each long string of a request is digested once per call.
    const identify = (
      operation: CacheOperation,
      request: Request,
      digests: Digests
    ): number | LiterLlmError.Serialization => {
      try {
        return hashOf(operation, request, digests)
      } catch (cause) {
        return new LiterLlmError.Serialization({
          message: `the ${operation} request cannot be encoded as JSON (${String(cause)}); remove BigInt values and cycles`,
          cause
        })
      }
    }
    /** The key in the caller's store; the request's hash was computed, so it can be encoded. */
    const storeKeyOf = (operation: CacheOperation, request: Request) =>
      store === undefined ? undefined : digestKey(operation, request)
    /** Whether an entry or a flight under a request's hash is for that request. */
    const isFor = (operation: CacheOperation, request: Request, held: Identity, digests: Digests) =>
      held.operation === operation && same(request, held.snapshot, digests)

    // Calls in flight by request hash, owned by this cache; touched only in synchronous steps, so atomic.
    const flights = new Map<number, Flight<unknown>>()
    // Streams in flight by request hash (see `streamFlight.ts`).
    const streamFlights = new Map<number, StreamFlight>()
    /** How a joiner with `zeroHitUsage` sees the usage it shares, and how it says it took it after all. */
    const sharingFor = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Sharing => ({
      zero: (chunk) => ({ ...chunk, usage: zeroUsage }),
      claimed: () => markHit(fiber, false)
    })

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

    /** A read of the caller's store (never of the memory, which is read in place). */
    const readStore = <A>(
      key: string,
      tag: Entry["_tag"],
      take: (entry: Entry) => A
    ): Effect.Effect<Option.Option<A>> =>
      store!.get(key).pipe(
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

    /** A hit in the memory: the value stored for this very request, if any. */
    const recall = (
      fiber: Fiber.RuntimeFiber<unknown, unknown>,
      operation: CacheOperation,
      request: Request,
      hash: number,
      digests: Digests
    ) => memory!.get(hash, nowOf(fiber), (stored) => isFor(operation, request, stored, digests))?.value

    /**
     * Stores an answer: in place in the memory (`undefined`), or as an effect for the caller's store. `entry` builds
     * the store's form of it, only when there is such a store.
     */
    const write = (
      fiber: Fiber.RuntimeFiber<unknown, unknown>,
      flight: Destination,
      value: unknown,
      entry: () => Entry
    ): Effect.Effect<void> | undefined => {
      if (memory !== undefined) {
        const { hash, operation, snapshot } = flight
        memory.set(hash, { operation, snapshot, value, expiresAt: nowOf(fiber) + ttlMillis })
        return undefined
      }
      return Effect.catchAllCause(
        Effect.suspend(() => store!.set(flight.storeKey!, entry(), ttl)),
        skipped("write an entry", undefined)
      )
    }

    /** Forgets a flight that has ended, unless a newer one for its hash has started (or it never was registered). */
    const land = <A>(flight: Flight<A>): void => {
      if (flights.get(flight.hash) === flight) flights.delete(flight.hash)
    }

    /** Waits for another caller's call; the wait has the caller's interruptibility, the bookkeeping does not. */
    const join = <A>(
      flight: Flight<A>,
      restore: <X, E, R>(effect: Effect.Effect<X, E, R>) => Effect.Effect<X, E, R>
    ): Effect.Effect<A, LiterLlmError.LiterLlmError> => {
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
              land(flight)
              return Effect.asVoid(Fiber.interruptFork(flight.fiber!))
            })
          })
        )
      )
    }

    /** Runs the call to the end for whoever still waits on `flight`, on a fiber owned by the cache. */
    const finish = <A>(
      flight: Flight<A>,
      upstream: Effect.Effect<A, LiterLlmError.LiterLlmError>,
      toEntry: (a: A) => Entry
    ): Effect.Effect<Fiber.RuntimeFiber<void>> =>
      // Forked from an uninterruptible region: the call is made interruptible so the last leaving caller can stop it.
      Effect.interruptible(upstream).pipe(
        Effect.exit,
        Effect.tap((exit) => (flight.deferred === undefined ? Effect.void : Deferred.done(flight.deferred, exit))),
        Effect.flatMap((exit) =>
          Exit.isSuccess(exit)
            ? Effect.withFiberRuntime(
                (fiber) => write(fiber, flight, exit.value, () => toEntry(exit.value)) ?? Effect.void
              )
            : Effect.void
        ),
        Effect.ensuring(Effect.sync(() => land(flight))),
        Effect.forkIn(scope)
      )

    /**
     * The stage of one operation. The first caller of a request leads: it runs the call on its own fiber — no extra
     * fiber in the usual, uncontended case — while later identical callers join and wait for its answer. If the
     * leader is interrupted while others wait, its call is cancelled with it and a fresh one is started for them on a
     * fiber of the cache.
     */
    const stage = <Req extends Request, A>(
      operation: "chat" | "embed",
      tag: "Chat" | "Embedding",
      take: (entry: Entry) => A,
      toEntry: (a: A) => Entry,
      zero: (a: A) => A
    ): Stage<Req, A, Flight<A>> => {
      /** An answer that did not go upstream, as the caller gets it: with `zeroHitUsage`, zeroed and marked. */
      const hit = (call: Call<Req, A>, value: A): A => {
        if (!zeroHits) return value
        markHit(call.fiber, true)
        return zero(value)
      }
      /** Waits for the flight of the same request. */
      const joinFlight = (call: Call<Req, A>, flight: Flight<A>): Answer<A> => {
        const joined = join(flight, call.restore)
        if (!zeroHits) return new Answer(joined)
        return new Answer(
          Effect.map(joined, (value) => {
            // A call restarted for the waiting callers went upstream on their behalf, and the provider bills it: the
            // first of them to get its answer takes it as its own call (its usage, its cost); the others shared it,
            // as with any flight.
            if (flight.fiber !== undefined && !flight.claimed) {
              flight.claimed = true
              return value
            }
            return hit(call, value)
          })
        )
      }
      /**
       * Starts the flight of a request that is neither stored nor in flight. `held` is the flight of another request
       * under the same hash, if any: then this one runs unshared (and `land` leaves the other in place).
       */
      const lead = (
        call: Call<Req, A>,
        hash: number,
        storeKey: string | undefined,
        held: Flight<A> | undefined,
        digests: Digests
      ): Flight<A> => {
        const flight: Flight<A> = {
          hash,
          operation,
          snapshot: snapshotOf(call.request, digests),
          storeKey,
          deferred: undefined,
          waiters: 0,
          fiber: undefined,
          claimed: false
        }
        if (held === undefined) flights.set(hash, flight as Flight<unknown>)
        return flight
      }
      /** Joins the flight of this request if there is one, else leads. */
      const joinOrLead = (
        call: Call<Req, A>,
        hash: number,
        storeKey: string | undefined,
        digests: Digests
      ): Admission<Flight<A>, A> => {
        const held = flights.get(hash) as Flight<A> | undefined
        return held !== undefined && isFor(operation, call.request, held, digests)
          ? joinFlight(call, held)
          : lead(call, hash, storeKey, held, digests)
      }
      return {
        enter: (call) => {
          const digests = new Digests()
          const hash = identify(operation, call.request, digests)
          if (typeof hash !== "number") return new Answer(Exit.fail(hash))
          // A caller of a request already in flight joins it, without a look in either store.
          const held = flights.get(hash) as Flight<A> | undefined
          if (held !== undefined && isFor(operation, call.request, held, digests)) return joinFlight(call, held)
          if (memory !== undefined) {
            // Nothing runs between the flight check and this look-up, so no re-check is needed.
            const found = recall(call.fiber, operation, call.request, hash, digests)
            if (found !== undefined) return new Answer(Exit.succeed(hit(call, found as A)))
            return lead(call, hash, undefined, held, digests)
          }
          const storeKey = storeKeyOf(operation, call.request)!
          return new Await(
            Effect.map(call.restore(readStore(storeKey, tag, take)), (found) =>
              Option.isSome(found)
                ? new Answer(Exit.succeed(hit(call, found.value)))
                : // Another caller may have started the same call while the store was read.
                  joinOrLead(call, hash, storeKey, digests)
            )
          )
        },
        leave: (call, flight, exit) => {
          if (Exit.isInterrupted(exit)) {
            if (flight.waiters === 0) {
              land(flight)
              return
            }
            return Effect.flatMap(finish(flight, call.upstream(), toEntry), (fiber) => {
              flight.fiber = fiber
              return exit
            })
          }
          // Answer the waiting callers first, then store (write-through: this caller returns once it is stored);
          // until then, newcomers join this finished flight instead of calling again.
          if (flight.deferred !== undefined) Deferred.unsafeDone(flight.deferred, exit)
          const stored = Exit.isSuccess(exit)
            ? write(call.fiber, flight, exit.value, () => toEntry(exit.value))
            : undefined
          if (stored === undefined) {
            land(flight)
            return
          }
          return Effect.flatMap(stored, () => {
            land(flight)
            return exit
          })
        }
      }
    }

    /** Reads the chunks stored for a stream, from either store. */
    const readStream = (
      request: Chat.ChatCompletionRequest,
      hash: number,
      storeKey: string | undefined,
      digests: Digests
    ): Effect.Effect<Option.Option<ReadonlyArray<Chat.ChatCompletionChunk>>> => {
      if (memory === undefined)
        return readStore(storeKey!, "ChatStream", (entry) => (entry as Extract<Entry, { _tag: "ChatStream" }>).chunks)
      return Effect.withFiberRuntime((fiber) =>
        Effect.succeed(
          Option.fromNullable(
            recall(fiber, "chatStream", request, hash, digests) as ReadonlyArray<Chat.ChatCompletionChunk> | undefined
          )
        )
      )
    }

    /** A completed stream replayed chunk by chunk; with `zeroHitUsage`, its usage zeroed and its span marked. */
    const replay = (chunks: ReadonlyArray<Chat.ChatCompletionChunk>): Stream.Stream<Chat.ChatCompletionChunk> =>
      !zeroHits
        ? Stream.fromIterable(chunks)
        : Stream.unwrap(
            Effect.withFiberRuntime((fiber) => {
              markHit(fiber, true)
              return Effect.succeed(
                Stream.fromIterable(
                  chunks.map((chunk) => (chunk.usage == null ? chunk : { ...chunk, usage: zeroUsage }))
                )
              )
            })
          )

    const piece: Piece = {
      chat: stage<Chat.ChatCompletionRequest, Chat.ChatCompletionResponse>(
        "chat",
        "Chat",
        (entry) => (entry as Extract<Entry, { _tag: "Chat" }>).response,
        (response) => ({ _tag: "Chat", response }),
        (response) => (response.usage == null ? response : { ...response, usage: zeroUsage })
      ),
      embed: stage<Embedding.EmbeddingRequest, Embedding.EmbeddingResponse>(
        "embed",
        "Embedding",
        (entry) => (entry as Extract<Entry, { _tag: "Embedding" }>).response,
        (response) => ({ _tag: "Embedding", response }),
        (response) => (response.usage == null ? response : { ...response, usage: zeroEmbeddingUsage })
      ),
      chatStream: (below) => (request) => {
        const digests = new Digests()
        const hash = identify("chatStream", request, digests)
        if (typeof hash !== "number") return Stream.fail(hash)
        const storeKey = storeKeyOf("chatStream", request)
        const shared = () => {
          const identity = { hash, operation: "chatStream" as const, snapshot: snapshotOf(request, digests), storeKey }
          // A stream already running for this request is joined; otherwise this caller starts one.
          return StreamFlight.shared(
            streamFlights,
            hash,
            identity.snapshot,
            (snapshot) => same(request, snapshot, digests),
            () => below(request),
            scope,
            // Stored before any reader sees the end, so a caller that has read a stream to its end will hit.
            (chunks) =>
              Effect.withFiberRuntime<void>(
                (producer) => write(producer, identity, chunks, () => ({ _tag: "ChatStream", chunks })) ?? Effect.void
              ),
            (fiber) => {
              if (!zeroHits) return undefined
              // Joining adds nothing to the provider's work: a hit, unless it ends up taking the usage.
              markHit(fiber, true)
              return sharingFor(fiber)
            }
          )
        }
        return Stream.unwrap(
          Effect.map(readStream(request, hash, storeKey, digests), Option.match({ onNone: shared, onSome: replay }))
        )
      }
    }
    return piece
  })
