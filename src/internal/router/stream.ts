/**
 * Streaming through the router. The first chunk is pulled inside the attempt, as an Effect, under the first-chunk
 * timeout: until it arrives nothing has reached the caller, so a failure or a stall fails over like any call. Once it
 * arrives the deployment owns the rest of the stream; a later failure ends the stream with a `Streaming` error (the
 * original as `cause`) — no other deployment is asked, so no chunk is ever repeated or mixed from two answers.
 *
 * Each attempt's upstream lives in its own child scope: a failed attempt's scope is closed before the next deployment
 * is tried, and the winner's scope closes with the caller's stream, which is also when its in-flight slot is freed.
 */
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import * as Attempt from "./attempt.js"
import type { Engine, Run } from "./engine.js"
import * as Failover from "./failover.js"
import * as Select from "./select.js"
import * as State from "./state.js"

type Pull = Effect.Effect<Chunk.Chunk<Chat.ChatCompletionChunk>, Option.Option<LiterLlmError.LiterLlmError>>

/** The first non-empty chunk, or None if the stream ended without one. */
const pullFirst = (
  pull: Pull
): Effect.Effect<Option.Option<Chunk.Chunk<Chat.ChatCompletionChunk>>, LiterLlmError.LiterLlmError> =>
  Effect.matchEffect(pull, {
    onFailure: Option.match({ onNone: () => Effect.succeed(Option.none()), onSome: Effect.fail }),
    onSuccess: (chunk) => (Chunk.isEmpty(chunk) ? pullFirst(pull) : Effect.succeed(Option.some(chunk)))
  })

const broke = (name: string, error: LiterLlmError.LiterLlmError): LiterLlmError.Streaming =>
  new LiterLlmError.Streaming({
    provider: name,
    cause: error,
    message: `the stream from deployment "${name}" failed after its first chunk was delivered (${error._tag}: ${error.message}); the partial answer is incomplete and was not retried elsewhere, to avoid duplicated output`
  })

/** The rest of the winner's stream; records how it ended for the finalizer. */
const rest = (
  name: string,
  pull: Pull,
  end: (outcome: State.Outcome) => void
): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError> =>
  Stream.repeatEffectChunkOption(
    Effect.catchAll(pull, (failure) => {
      if (Option.isNone(failure)) {
        end({ _tag: "Success", latency: undefined })
        return Effect.fail(failure)
      }
      end({ _tag: "Failure", error: failure.value, transient: LiterLlmError.isTransient(failure.value) })
      return Effect.fail(Option.some<LiterLlmError.LiterLlmError>(broke(name, failure.value)))
    })
  )

const attempt =
  (
    engine: Engine,
    request: Chat.ChatCompletionRequest,
    outer: Scope.Scope
  ): Failover.Attempt<Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>> =>
  (run, index, probe, recover) =>
    Effect.catchAll(firstChunk(engine, request, outer, run, index, probe), (error) => recover(run, index, error))

const firstChunk = (
  engine: Engine,
  request: Chat.ChatCompletionRequest,
  outer: Scope.Scope,
  run: Run,
  index: number,
  probe: boolean
) =>
  Effect.gen(function* () {
    const meta = engine.metas[index]
    const start = run.at
    const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
    const pull = yield* Scope.extend(Stream.toPull(meta.service.chatStream(request)), scope)
    let first = pullFirst(pull)
    const limit = Attempt.limitOf(run, start, engine.config.firstChunkTimeout)
    if (limit !== Number.POSITIVE_INFINITY) {
      const millis = Math.max(0, limit)
      first = Effect.timeoutFail(first, {
        duration: Duration.millis(millis),
        onTimeout: () => Attempt.timedOut(meta.name, millis, "first chunk")
      })
    }
    // Only the wait for the first chunk is interruptible (see select.ts): the bookkeeping always runs.
    const head = yield* Effect.onExit(Effect.interruptible(first), (exit) => {
      if (Exit.isSuccess(exit) && Option.isSome(exit.value)) {
        return Effect.sync(() => {
          const now = run.clock.unsafeCurrentTimeMillis()
          State.sampled(engine.settings, engine.state, index, now - start, now)
        })
      }
      // Failed, interrupted or empty: this attempt is over, and its upstream is released before anything else.
      return Effect.zipRight(
        Attempt.settle(engine, run, index, probe, start, (duration) =>
          Exit.isSuccess(exit) ? { _tag: "Success", latency: duration } : Attempt.outcomeOf(exit, duration)
        ),
        Scope.close(scope, Exit.void)
      )
    })
    if (Option.isNone(head)) return Stream.empty
    // From here the stream owns the slot; how it ended is known only when its scope closes.
    let ended: State.Outcome = { _tag: "Interrupted" }
    yield* Scope.addFinalizer(
      scope,
      Attempt.settle(engine, run, index, probe, start, () => ended)
    )
    return Stream.concat(
      Stream.fromChunk(head.value),
      rest(meta.name, pull, (outcome) => {
        ended = outcome
      })
    )
  })

/** Streams carry their request in the attempt itself, not in the `Run`. */
const noOp = () => Effect.void

/** `chatStream` through the router. */
export const chatStream = (
  engine: Engine,
  request: Chat.ChatCompletionRequest,
  cost: Select.CostInput | undefined
): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError> =>
  Stream.unwrapScoped(
    Effect.flatMap(Effect.scope, (outer) =>
      Select.begin(engine, cost, noOp, Failover.loop(engine, attempt(engine, request, outer)))
    )
  )
