/**
 * The cached operations: a whole answer (chat, embed) or a stream, each looked up in the store, else shared with the
 * callers of the same request in flight, else started as a flight of its own (see `LlmCache.ts` for the semantics).
 *
 * Every caller is counted in its flight inside an `uninterruptibleMask`, and only the store read and the wait are
 * interruptible: an interruption between counting and waiting would leave a caller counted that never leaves.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type * as Chat from "../../Chat.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type { Entry, Store } from "../../LlmCache.js"
import * as Broadcast from "./broadcast.js"
import * as Flight from "./flight.js"
import * as Key from "./key.js"

/** Reading and writing entries, never failing: a failing store is skipped. */
export interface Storage {
  readonly read: (key: string) => Effect.Effect<Option.Option<Entry>>
  readonly write: (key: string, entry: Entry) => Effect.Effect<void>
}

const skipping =
  <A>(what: string, fallback: A) =>
  (effect: Effect.Effect<A, unknown>): Effect.Effect<A> =>
    Effect.catchAllCause(effect, (cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.interrupt
        : Effect.as(
            Effect.logWarning(`the LLM cache store failed to ${what}; serving without it. Check the store.`, cause),
            fallback
          )
    )

/** A store of the caller's: whatever it fails or dies with is logged and skipped (a miss, or no write). */
export const guarded = (store: Store, ttl: Duration.Duration): Storage => ({
  read: (key) => skipping("read an entry", Option.none<Entry>())(Effect.suspend(() => store.get(key))),
  write: (key, entry) => skipping<void>("write an entry", undefined)(Effect.suspend(() => store.set(key, entry, ttl)))
})

/** A store that cannot fail, such as the cache's own memory. */
export interface Infallible {
  readonly get: (key: string) => Effect.Effect<Option.Option<Entry>>
  readonly set: (key: string, entry: Entry, ttl: Duration.Duration) => Effect.Effect<void>
}

/** A store that cannot fail, used as it is. */
export const direct = (store: Infallible, ttl: Duration.Duration): Storage => ({
  read: store.get,
  write: (key, entry) => store.set(key, entry, ttl)
})

/**
 * `answer`, with `liter_llm.cache.hit` set on the current span. The span is looked up first: with no span,
 * `annotateCurrentSpan` fails and recovers internally, and building that failure (a stack trace) costs more than the
 * rest of a hit.
 */
const markHit = <A>(answer: A): Effect.Effect<A> =>
  Effect.contextWithEffect((context) => {
    const span = Context.getOption(context, Tracer.ParentSpan)
    return Option.isSome(span) && span.value._tag === "Span"
      ? Effect.as(Effect.annotateCurrentSpan("liter_llm.cache.hit", true), answer)
      : Effect.succeed(answer)
  })

const zeroUsage: Chat.Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }

/** What chat and embed differ in: the call below, and how an answer is stored and shown as a hit. */
export interface Whole<Req, A> {
  readonly operation: "chat" | "embed" | "moderate" | "rerank"
  readonly call: (request: Req) => Effect.Effect<A, LiterLlmError.LiterLlmError>
  readonly entry: (answer: A) => Entry
  readonly answer: (entry: Entry) => A | undefined
  readonly asHit: (answer: A) => A
}

/** A cached operation with a whole answer. Scoped: flights still running are interrupted when the scope closes. */
export const whole = <Req extends Key.Keyed, A>(storage: Storage, kind: Whole<Req, A>) =>
  Effect.map(Flight.make<A, LiterLlmError.LiterLlmError>(), (flights) => {
    const hit = (answer: A) => markHit(kind.asHit(answer))
    const answered = (answer: A, mine: boolean) => (mine ? Effect.succeed(answer) : hit(answer))
    const call = (key: string, request: Req) =>
      Effect.flatMap(kind.call(request), (answer) => Effect.as(storage.write(key, kind.entry(answer)), answer))
    return (request: Req): Effect.Effect<A, LiterLlmError.LiterLlmError> =>
      Effect.suspend(() => {
        const key = Key.make(kind.operation, request)
        if (typeof key !== "string") return Effect.fail(key)
        return Effect.uninterruptibleMask((restore) => {
          const share = (run: Flight.Run<A, LiterLlmError.LiterLlmError, undefined>) =>
            Flight.wait(flights, key, run, restore, answered)
          // After a miss: join the flight started since, or start one that stores its answer.
          const lead = () =>
            Flight.enter(flights, key, () => Flight.launch(flights, key, call(key, request), undefined, share), share)
          // A caller of a request in flight joins it without a look in the store.
          return Flight.join(
            flights,
            key,
            () =>
              Effect.flatMap(restore(storage.read(key)), (found) => {
                const answer = Option.isSome(found) ? kind.answer(found.value) : undefined
                return answer !== undefined ? hit(answer) : lead()
              }),
            share
          )
        })
      })
  })

const replay = (chunks: ReadonlyArray<Chat.ChatCompletionChunk>) =>
  Stream.fromIterable(
    chunks.map((chunk, i) => (i === 0 || chunk.usage != null ? { ...chunk, usage: zeroUsage } : chunk))
  )

/** The cached stream operation. Scoped: flights still running are interrupted when the scope closes. */
export const stream = (
  storage: Storage,
  call: (request: Chat.ChatCompletionRequest) => Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>
) =>
  Effect.map(Flight.make<void, never, Broadcast.Broadcast>(), (flights) => {
    /** A reader counted in a flight: it leaves with the stream's scope, and carries the usage if it is first. */
    const reader = (key: string) => (run: Flight.Run<void, never, Broadcast.Broadcast>) =>
      Effect.as(
        Effect.addFinalizer(() => Flight.leave(flights, key, run)),
        Stream.mapEffect(Broadcast.subscribe(run.handle), (chunk) =>
          chunk.usage == null
            ? Effect.succeed(chunk)
            : Effect.flatMap(Flight.claim(flights, key, run), (mine) =>
                mine ? Effect.succeed(chunk) : markHit({ ...chunk, usage: zeroUsage })
              )
        )
      )
    const start = (key: string, request: Chat.ChatCompletionRequest) =>
      Effect.flatMap(
        Broadcast.make(call(request), (chunks) => storage.write(key, { _tag: "ChatStream", chunks })),
        ([broadcast, pump]) => Flight.launch(flights, key, pump, broadcast, reader(key))
      )
    return (
      request: Chat.ChatCompletionRequest
    ): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError> =>
      Stream.unwrapScoped(
        Effect.suspend(() => {
          const key = Key.make("chatStream", request)
          if (typeof key !== "string") return Effect.fail(key)
          return Effect.uninterruptibleMask((restore) =>
            Flight.join(
              flights,
              key,
              () =>
                Effect.flatMap(restore(storage.read(key)), (found) =>
                  Option.isSome(found) && found.value._tag === "ChatStream"
                    ? markHit(replay(found.value.chunks))
                    : Flight.enter(flights, key, () => start(key, request), reader(key))
                ),
              reader(key)
            )
          )
        })
      )
  })
