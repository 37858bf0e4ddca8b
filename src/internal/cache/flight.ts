/**
 * Single flight on Effect's `RcMap`: concurrent callers of one key share one upstream call, which runs on a fiber
 * of its own (the map's lookup), so a caller that leaves or is interrupted disturbs nobody; once every caller has left
 * before its end, the map closes the flight's scope and the call is interrupted.
 *
 * The provider bills a shared call once, so exactly one of its sharers carries its usage: the first to take it
 * ({@link claim}); the cache answers the others as hits.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import * as Hash from "effect/Hash"
import * as PubSub from "effect/PubSub"
import * as RcMap from "effect/RcMap"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Take from "effect/Take"
import type * as Chat from "../../Chat.js"
import type * as LiterLlmError from "../../LiterLlmError.js"

/** A call in flight, known by its key alone (so the map finds it); `run` is the call of whoever starts it. */
export class Flight<A> implements Equal.Equal {
  constructor(
    readonly key: string,
    readonly run: Effect.Effect<A, LiterLlmError.LiterLlmError, Scope.Scope>
  ) {}
  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof Flight && that.key === this.key
  }
  [Hash.symbol](): number {
    return Hash.cached(this, Hash.string(this.key))
  }
}

/** What a flight gives each of its callers: the answer, and whether its usage has been taken. */
export interface Shared<A> {
  readonly value: A
  readonly claimed: Ref.Ref<boolean>
}

/** The calls in flight, by key. */
export type Flights<A> = RcMap.RcMap<Flight<Shared<A>>, Shared<A>, LiterLlmError.LiterLlmError>

/** An empty map of flights, closed (interrupting what still runs) with the scope. */
export const flights = <A>(): Effect.Effect<Flights<A>, never, Scope.Scope> =>
  RcMap.make({ lookup: (flight: Flight<Shared<A>>) => flight.run })

/** A call whose answer can be shared. */
export const sharing = <A, E, R>(call: Effect.Effect<A, E, R>): Effect.Effect<Shared<A>, E, R> =>
  Effect.zipWith(call, Ref.make(false), (value, claimed) => ({ value, claimed }))

/** Whether this caller is the first to take the shared usage (and so carries it). */
export const claim = <A>(shared: Shared<A>): Effect.Effect<boolean> =>
  Effect.map(Ref.getAndSet(shared.claimed, true), (taken) => !taken)

/** A stream in flight: every chunk it delivered and its end, replayed to each reader from the first. */
export type Broadcast = PubSub.PubSub<Take.Take<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>>

/**
 * Reads `upstream` into a {@link Broadcast} on a fiber of the flight's scope. `completed` gets every chunk once the
 * upstream has ended well, before any reader sees that end (so a reader who has read to the end will hit).
 */
export const broadcast = (
  upstream: Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>,
  completed: (chunks: ReadonlyArray<Chat.ChatCompletionChunk>) => Effect.Effect<void>
): Effect.Effect<Shared<Broadcast>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const pubsub: Broadcast = yield* PubSub.unbounded<Take.Take<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>>(
      { replay: Number.POSITIVE_INFINITY }
    )
    const recorded = yield* Ref.make(Chunk.empty<Chat.ChatCompletionChunk>())
    yield* upstream.pipe(
      Stream.runForEachChunk((chunk) =>
        Effect.zipRight(Ref.update(recorded, Chunk.appendAll(chunk)), PubSub.publish(pubsub, Take.chunk(chunk)))
      ),
      Effect.zipRight(Effect.flatMap(Ref.get(recorded), (chunks) => completed(Chunk.toReadonlyArray(chunks)))),
      Effect.exit,
      Effect.flatMap((exit) => PubSub.publish(pubsub, Exit.isSuccess(exit) ? Take.end : Take.failCause(exit.cause))),
      Effect.forkScoped
    )
    return yield* sharing(Effect.succeed(pubsub))
  })

/** One reader's view of a broadcast: every chunk from the first, then its end or failure. */
export const subscribe = (broadcast: Broadcast): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError> =>
  Stream.flattenTake(Stream.fromPubSub(broadcast))
