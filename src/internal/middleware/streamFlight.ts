/**
 * One upstream stream shared by every caller who asks for the same one while it runs — the single flight of streams.
 *
 * A producer fiber, owned by the cache's scope, reads the upstream into a buffer; each reader gets every chunk from
 * the first, at its own pace, then the upstream's end (its failure included). So no reader depends on another
 * reader's pace or life: when the first caller stops reading early, the others still get the whole stream, from the
 * same upstream call (never a restarted one: its chunks could differ from those already delivered). When the last
 * reader leaves before the end, the upstream call is interrupted.
 *
 * Who is charged (when the cache zeroes the usage of hits, as in `LlmClient`; alone, every reader gets the chunks as
 * they came): the provider bills one call, so one reader gets the real usage chunk — the leader (the caller whose
 * request started the flight) — and the others get it with zero usage, marked as cache hits. If the leader left
 * before the usage arrived, the first joiner to reach it takes it as its own call.
 *
 * All state changes happen in synchronous steps, so they are atomic.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import type * as LiterLlmError from "../../LiterLlmError.js"

/** A caller reading a flight. */
interface Reader {
  readonly flight: StreamFlight
  readonly leader: boolean
  readonly sharing: Sharing | undefined
}

type End =
  { readonly _tag: "Completed" } | { readonly _tag: "Failed"; readonly cause: Cause.Cause<LiterLlmError.LiterLlmError> }

/** How a reader sees a chunk that carries usage it must not be charged for; and how it says it took the usage. */
export interface Sharing {
  readonly zero: (chunk: Chat.ChatCompletionChunk) => Chat.ChatCompletionChunk
  readonly claimed: () => void
}

/** One shared upstream stream: its buffer, its readers, its producer fiber. Made only through {@link StreamFlight.shared}. */
export class StreamFlight {
  /** What the upstream delivered, in its own batches: a reader gets them one per pull, as from the upstream itself. */
  private readonly batches: Array<ReadonlyArray<Chat.ChatCompletionChunk>> = []
  private readers = 0
  private signal = Deferred.unsafeMake<void>(FiberId.none)
  private end: End | undefined = undefined
  private fiber: Fiber.RuntimeFiber<void> | undefined = undefined
  private leaderPresent = true
  private usageClaimed = false

  /**
   * `snapshot` is the request the flight is for, which a joiner's must match; `forget` is called once the flight should
   * no longer be joined (it ended, or everybody left).
   */
  private constructor(
    readonly snapshot: unknown,
    private readonly forget: () => void
  ) {}

  /**
   * The stream of one caller: it joins the flight running in `flights` under the request's hash, if `matches` finds it is for the same request, or starts one — registration, the
   * count of readers and the start of the producer in one uninterruptible step, so a flight never exists without its
   * reader and producer, whatever interrupts the caller. The leader reads the chunks as they are; a joiner reads them
   * through the `Sharing` that `join` gives (none: as they are), unless it is the one that takes the usage.
   */
  static shared(
    flights: Map<number, StreamFlight>,
    hash: number,
    snapshot: unknown,
    matches: (snapshot: unknown) => boolean,
    upstream: () => Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>,
    scope: Scope.Scope,
    completed: (chunks: ReadonlyArray<Chat.ChatCompletionChunk>) => Effect.Effect<void>,
    join: (fiber: Fiber.RuntimeFiber<unknown, unknown>) => Sharing | undefined
  ): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError> {
    return Stream.unwrapScoped(
      Effect.map(
        Effect.acquireRelease(
          Effect.withFiberRuntime<Reader>((fiber) => {
            const running = flights.get(hash)
            if (running !== undefined && matches(running.snapshot)) {
              running.readers++
              return Effect.succeed({ flight: running, leader: false, sharing: join(fiber) })
            }
            const flight: StreamFlight = new StreamFlight(snapshot, () => {
              if (flights.get(hash) === flight) flights.delete(hash)
            })
            // Under a hash held by another request's flight, this one runs unshared (and leaves the other in place).
            if (running === undefined) flights.set(hash, flight)
            flight.readers++
            return Effect.as(flight.start(upstream(), scope, completed), { flight, leader: true, sharing: undefined })
          }),
          ({ flight, leader }) => flight.leave(leader)
        ),
        ({ flight, leader, sharing }) => flight.read(leader, sharing)
      )
    )
  }

  /**
   * Starts reading `upstream` on a fiber of `scope`. `completed` runs with every chunk once the upstream completes,
   * before any reader sees the end (so a caller that has read the stream to its end finds it stored).
   */
  private start(
    upstream: Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>,
    scope: Scope.Scope,
    completed: (chunks: ReadonlyArray<Chat.ChatCompletionChunk>) => Effect.Effect<void>
  ): Effect.Effect<void> {
    const produce = Stream.runForEachChunk(upstream, (chunk) =>
      Effect.sync(() => {
        this.batches.push(Chunk.toReadonlyArray(chunk))
        this.wake()
      })
    ).pipe(
      Effect.matchCauseEffect({
        onFailure: (cause) => Effect.sync(() => this.finish({ _tag: "Failed", cause })),
        onSuccess: () =>
          Effect.zipRight(
            completed(this.batches.flat()),
            Effect.sync(() => this.finish({ _tag: "Completed" }))
          )
      })
    )
    // Forked from the caller's uninterruptible acquire: made interruptible, so the last leaving reader can stop it.
    return Effect.map(Effect.forkIn(Effect.interruptible(produce), scope), (fiber) => {
      this.fiber = fiber
    })
  }

  /** What one reader pulls: every batch from the first, then the upstream's end. Only through {@link shared}. */
  read(
    leader: boolean,
    sharing: Sharing | undefined
  ): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError> {
    let next = 0
    const pull: Effect.Effect<
      Chunk.Chunk<Chat.ChatCompletionChunk>,
      Option.Option<LiterLlmError.LiterLlmError>
    > = Effect.suspend(() => {
      if (next < this.batches.length) {
        const batch = this.batches[next++]!
        return Effect.succeed(Chunk.unsafeFromArray(this.view(batch, leader, sharing)))
      }
      const end = this.end
      if (end === undefined) return Effect.zipRight(Deferred.await(this.signal), pull)
      return end._tag === "Completed" ? Effect.fail(Option.none()) : Effect.failCause(Cause.map(end.cause, Option.some))
    })
    return Stream.repeatEffectChunkOption(pull)
  }

  /** The chunks as this reader gets them: a usage chunk is zeroed for all but the one reader charged for it. */
  private view(
    batch: ReadonlyArray<Chat.ChatCompletionChunk>,
    leader: boolean,
    sharing: Sharing | undefined
  ): Array<Chat.ChatCompletionChunk> {
    const chunks = batch.slice() // the batch is shared by every reader
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!
      if (chunk.usage == null) continue
      if (leader || (!this.leaderPresent && !this.usageClaimed)) {
        this.usageClaimed = true
        if (!leader) sharing?.claimed()
      } else if (sharing !== undefined) chunks[i] = sharing.zero(chunk)
    }
    return chunks
  }

  private wake(): void {
    const woken = this.signal
    this.signal = Deferred.unsafeMake<void>(FiberId.none)
    Deferred.unsafeDone(woken, Exit.void)
  }

  private finish(end: End): void {
    this.end = end
    this.forget()
    this.wake()
  }

  /** A reader left; the last one to leave before the end stops the upstream call. */
  private leave(leader: boolean): Effect.Effect<void> {
    this.readers--
    if (leader) this.leaderPresent = false
    if (this.readers > 0 || this.end !== undefined || this.fiber === undefined) return Effect.void
    this.forget()
    return Fiber.interrupt(this.fiber)
  }
}
