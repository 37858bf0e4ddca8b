/**
 * Streaming through the router. The first chunk is pulled inside the attempt, under the first-chunk timeout: until
 * it arrives nothing has reached the caller, so a failure or a stall fails over like any call. Once it arrives the
 * deployment owns the rest of the stream; a later failure ends the stream with `Streaming` (the original error as
 * `cause`) and no other deployment is asked, so no chunk is ever repeated or mixed from two answers.
 *
 * Each attempt's upstream lives in its own child scope, whose finalizer settles the call: a failed attempt's scope is
 * closed before the next deployment is tried, and the winner's closes with the caller's stream.
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import { lastUsage } from "../assemble.js"
import { type Core, judge, limitOf, mark, type Runner, settle, type Verdict, within } from "./attempt.js"
import type { CostInput } from "./order.js"
import * as Route from "./route.js"
import * as Routing from "./routing.js"
import { fresh, type RouteOptions, routeIn } from "./walk.js"

type Chunks = Chunk.Chunk<Chat.ChatCompletionChunk>
type Pull = Effect.Effect<Chunks, Option.Option<LiterLlmError.LiterLlmError>>
type Ending = (duration: number) => Verdict

/** The first non-empty chunk, or None if the stream ended without one. */
const pullFirst = (pull: Pull): Effect.Effect<Option.Option<Chunks>, LiterLlmError.LiterLlmError> =>
  Effect.matchEffect(pull, {
    onFailure: Option.match({ onNone: () => Effect.succeedNone, onSome: Effect.fail }),
    onSuccess: (chunk) => (Chunk.isEmpty(chunk) ? pullFirst(pull) : Effect.succeedSome(chunk))
  })

const broke = (name: string, error: LiterLlmError.LiterLlmError): LiterLlmError.Streaming =>
  new LiterLlmError.Streaming({
    provider: name,
    cause: error,
    message: `the stream from deployment "${name}" failed after its first chunk was delivered (${error._tag}: ${error.message}); the partial answer is incomplete and was not retried elsewhere, to avoid duplicated output`
  })

/** Called when the winner's stream ends normally, with the last usage it carried. */
type Finish = (usage: Chat.Usage | undefined) => Effect.Effect<void>

/** The rest of the winner's stream; notes how it ended for the settling finalizer, and reports its usage. */
const rest = (
  name: string,
  pull: Pull,
  ended: Ref.Ref<Ending>,
  usage: Ref.Ref<Chat.Usage | undefined>,
  finish: Finish
) => {
  const read = Effect.tap(pull, (chunks) => {
    const found = lastUsage(chunks)
    return found === undefined ? Effect.void : Ref.set(usage, found)
  })
  return Stream.repeatEffectChunkOption(
    Effect.catchAll(read, (failure) =>
      Option.match(failure, {
        onNone: () =>
          Effect.zipRight(
            Ref.set(ended, () => ({ outcome: { _tag: "Success", latency: undefined } })),
            Effect.zipRight(Effect.flatMap(Ref.get(usage), finish), Effect.fail(failure))
          ),
        onSome: (error) =>
          Effect.zipRight(
            Ref.set(ended, (duration) => judge(Exit.fail(error), duration)),
            Effect.fail(Option.some(broke(name, error)))
          )
      })
    )
  )
}

const firstChunk =
  (
    body: Chat.ChatCompletionRequest,
    outer: Scope.Scope,
    isolate: boolean,
    finish: Finish
  ): Runner<Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>> =>
  (call) => {
    const { request, restore, slot, start } = call
    const opened = Effect.gen(function* () {
      const member = request.core.members[slot.index]
      const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
      // Until the stream says otherwise, it was interrupted (the caller stopped reading, or was interrupted).
      const ended = yield* Ref.make<Ending>(() => ({ outcome: { _tag: "Interrupted" } }))
      yield* Scope.addFinalizer(
        scope,
        Effect.flatMap(Ref.get(ended), (verdict) =>
          Effect.flatMap(Clock.currentTimeMillis, (at) => settle(request, slot, start, at, verdict))
        )
      )
      const upstream = member.service.chatStream(body)
      const pull = yield* Scope.extend(Stream.toPull(isolate ? Routing.isolatedStream(upstream) : upstream), scope)
      const limit = limitOf(request, start, request.core.config.firstChunkTimeout)
      const head = yield* restore(within(pullFirst(pull), limit, member.name, "first chunk")).pipe(
        Effect.onExit((exit) => {
          if (Exit.isSuccess(exit) && Option.isSome(exit.value)) {
            // The wait for the first chunk is what a caller of a stream waits for: it is the latency sample.
            return Effect.flatMap(Clock.currentTimeMillis, (at) =>
              request.core.store.write([
                { _tag: "Sampled", deployment: member.name, at, latency: at - start, rules: request.core.config.rules }
              ])
            )
          }
          // Failed, interrupted or empty: this attempt is over, and its upstream is released before anything else.
          return Effect.zipRight(
            Ref.set(ended, (duration) => judge(exit, duration)),
            Scope.close(scope, Exit.void)
          )
        })
      )
      if (Option.isNone(head)) return Stream.empty
      const usage = yield* Ref.make(lastUsage(head.value))
      return Stream.concat(Stream.fromChunk(head.value), rest(member.name, pull, ended, usage, finish))
    })
    // The attempt's outcome is how the wait for the first chunk ended.
    return Effect.onExit(opened, (exit) => Effect.sync(() => mark(call, exit)))
  }

/** A stream whose first chunk has arrived, and how it was routed. */
export interface Routed {
  readonly route: Route.Route
  readonly stream: Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>
}

/** Where the request goes: its group and routing settings. */
export type Plan = Pick<RouteOptions<unknown>, "group" | "steer" | "settings">

/**
 * `chatStream` through the router, once the first chunk has arrived: the stream (that chunk first) and its route.
 * The upstream belongs to the current scope. A stream's cost is only known at its end, so the route has none; a
 * stream that ends with usage reports its route again then, with the cost, to the observer and span in context here.
 */
export const chatStreamRouted = (
  core: Core,
  body: Chat.ChatCompletionRequest,
  cost: CostInput | undefined,
  plan: Plan
): Effect.Effect<Routed, LiterLlmError.LiterLlmError, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (outer) =>
    Effect.flatMap(Effect.zip(Ref.make(fresh), Route.reporter), ([walk, report]) => {
      const finish: Finish = (usage) =>
        usage === undefined ? Effect.void : Effect.flatMap(Ref.get(walk), (w) => report(Route.factsOf(core, w, usage)))
      const run = firstChunk(body, outer, plan.steer !== undefined, finish)
      return Effect.flatMap(routeIn(core, { run, cost, hedge: false, ...plan }, walk), (stream) =>
        Effect.map(Ref.get(walk), (w) => ({ stream, route: Route.factsOf(core, w, undefined) }))
      )
    })
  )
