/**
 * Hooks as a pipeline piece (see `Hooks.ts` for the semantics). Hooks are the caller's effects, so they are the one
 * piece that cannot be synchronous: each runs with the caller's interruptibility, on the caller's fiber.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { constVoid } from "effect/Function"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import type * as Hooks from "../../Hooks.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import { Await, type Piece } from "./pipeline.js"
import { onStreamEnd } from "./stream.js"

/** A hook's failure or defect as `HookRejected`: a `HookRejected` passes as it is, anything else is wrapped. */
const rejection = (stage: string, cause: Cause.Cause<unknown>): Effect.Effect<never, LiterLlmError.HookRejected> => {
  if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && failure.value instanceof LiterLlmError.HookRejected) return Effect.fail(failure.value)
  return Effect.fail(
    new LiterLlmError.HookRejected({
      message: `an ${stage} hook failed unexpectedly: ${Cause.pretty(cause).split("\n")[0]}; fix the hook, or fail with HookRejected to refuse on purpose`,
      cause: Cause.squash(cause)
    })
  )
}

/**
 * Runs hooks one after the other, then succeeds with `then()`; the first hook that fails stops the rest. One
 * `matchCauseEffect` per hook carries both the guard and the continuation: hooks run on every call.
 */
const sequence =
  <Args extends ReadonlyArray<unknown>>(
    stage: string,
    hooks: ReadonlyArray<(...args: Args) => Effect.Effect<unknown, LiterLlmError.HookRejected>>
  ) =>
  <B>(args: Args, then: () => B): Effect.Effect<B, LiterLlmError.HookRejected> => {
    const from = (i: number): Effect.Effect<B, LiterLlmError.HookRejected> =>
      Effect.matchCauseEffect(
        Effect.suspend(() => hooks[i]!(...args)),
        {
          onFailure: (cause) => rejection(stage, cause),
          onSuccess: () => (i + 1 < hooks.length ? from(i + 1) : Effect.succeed(then()))
        }
      )
    return hooks.length === 0 ? Effect.sync(then) : from(0)
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
            : Stream.fromEffect(Effect.flatten(onError([request, error], () => Effect.fail(error))))
        )
      )
      const upstream = requestHooks.length === 0 ? fromService : Stream.unwrap(onRequest([request], () => fromService))
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
            Effect.suspend(() => (completed === undefined ? Effect.void : onResponse([request, completed], constVoid)))
          )
        )
        return Stream.concat(recorded, tail)
      })
    }

  // Only the stages that have hooks do anything: a call pays for nothing it does not use.
  return {
    chat: {
      enter: (call) =>
        requestHooks.length === 0 ? admitted : new Await(call.restore(onRequest([call.request], () => admitted))),
      leave: (call, _, exit) => {
        if (Exit.isSuccess(exit)) {
          if (responseHooks.length === 0) return
          const response = exit.value
          return call.restore(onResponse([call.request, response], () => response))
        }
        if (errorHooks.length === 0) return
        const failure = Cause.failureOption(exit.cause)
        if (Option.isNone(failure)) return
        return call.restore(Effect.flatten(onError([call.request, failure.value], () => exit)))
      }
    },
    chatStream
  }
}
