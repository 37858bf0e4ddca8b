/**
 * Hooks as a pipeline piece (see `Hooks.ts` for the semantics). Hooks are the caller's effects, so they are the one
 * piece that cannot be synchronous: each runs with the caller's interruptibility, on the caller's fiber.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import type * as Hooks from "../../Hooks.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import { Await, type Piece } from "./pipeline.js"
import { onStreamEnd } from "./stream.js"

/** Runs one hook so that only `HookRejected` can come out: other failures and defects are wrapped in it. */
const guard = (stage: string, effect: Effect.Effect<unknown, unknown>) =>
  Effect.catchAllCause(effect, (cause): Effect.Effect<never, LiterLlmError.HookRejected> => {
    if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure) && failure.value instanceof LiterLlmError.HookRejected) return Effect.fail(failure.value)
    return Effect.fail(
      new LiterLlmError.HookRejected({
        message: `an ${stage} hook failed unexpectedly: ${Cause.pretty(cause).split("\n")[0]}; fix the hook, or fail with HookRejected to refuse on purpose`,
        cause: Cause.squash(cause)
      })
    )
  })

/** Runs hooks one after the other; most lists hold one or two, so skip the traversal machinery when possible. */
const sequence = <Args extends ReadonlyArray<unknown>>(
  stage: string,
  hooks: ReadonlyArray<(...args: Args) => Effect.Effect<unknown, LiterLlmError.HookRejected>>
): ((...args: Args) => Effect.Effect<void, LiterLlmError.HookRejected>) => {
  const run = (hook: (...args: Args) => Effect.Effect<unknown, unknown>, args: Args) =>
    guard(
      stage,
      Effect.suspend(() => hook(...args))
    )
  if (hooks.length === 1) return (...args) => Effect.asVoid(run(hooks[0], args))
  return (...args) => Effect.forEach(hooks, (hook) => run(hook, args), { discard: true })
}

/** The ticket of a call the request hooks let through; hooks keep nothing per call. */
const admitted = true

/** Hooks as a piece; it has no embed stage: the hook signatures speak chat. */
export const make = (hooks: ReadonlyArray<Hooks.Hook>): Piece => {
  const requestHooks = hooks.flatMap((h) => (h.onRequest === undefined ? [] : [h.onRequest]))
  const responseHooks = hooks.flatMap((h) => (h.onResponse === undefined ? [] : [h.onResponse]))
  const errorHooks = hooks.flatMap((h) => (h.onError === undefined ? [] : [h.onError]))
  const onRequest = sequence("onRequest", requestHooks)
  const onResponse = sequence("onResponse", responseHooks)
  const onError = sequence("onError", errorHooks)

  const chatStream =
    (
      below: (
        request: Chat.ChatCompletionRequest
      ) => Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError>
    ) =>
    (request: Chat.ChatCompletionRequest): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError> => {
      const fromService = below(request).pipe(
        Stream.catchAll((error) =>
          errorHooks.length === 0
            ? Stream.fail(error)
            : Stream.fromEffect(Effect.zipRight(onError(request, error), Effect.fail(error)))
        )
      )
      const upstream =
        requestHooks.length === 0 ? fromService : Stream.unwrap(Effect.as(onRequest(request), fromService))
      if (responseHooks.length === 0) return upstream
      // Suspended so that each run of the stream has its own slot for the assembled response.
      return Stream.suspend(() => {
        let completed: Chat.ChatCompletionResponse | undefined
        const recorded = onStreamEnd(upstream, (outcome) =>
          Effect.sync(() => {
            if (outcome._tag === "Completed") completed = outcome.assembled()
          })
        )
        // Runs after the last chunk, inside the stream, so a rejecting onResponse fails the stream itself.
        const tail = Stream.drain(
          Stream.fromEffect(
            Effect.suspend(() => (completed === undefined ? Effect.void : onResponse(request, completed)))
          )
        )
        return Stream.concat(recorded, tail)
      })
    }

  // Only the stages that have hooks do anything: a call pays for nothing it does not use.
  return {
    chat: {
      enter: (call) =>
        requestHooks.length === 0 ? admitted : new Await(Effect.as(call.restore(onRequest(call.request)), admitted)),
      leave: (call, _, exit) => {
        if (Exit.isSuccess(exit)) {
          if (responseHooks.length === 0) return
          return call.restore(Effect.as(onResponse(call.request, exit.value), exit.value))
        }
        if (errorHooks.length === 0) return
        const failure = Cause.failureOption(exit.cause)
        if (Option.isNone(failure)) return
        return call.restore(Effect.zipRight(onError(call.request, failure.value), exit))
      }
    },
    chatStream
  }
}
