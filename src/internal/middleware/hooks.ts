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
import { Answer, Await, type Piece } from "./pipeline.js"
import { onStreamEnd } from "./stream.js"

/** A hook's failure or defect as `HookRejected`: a `HookRejected` passes as it is, anything else is wrapped. */
const rejection = (stage: string, cause: Cause.Cause<unknown>): Exit.Exit<never, LiterLlmError.HookRejected> => {
  if (Cause.isInterruptedOnly(cause)) return Exit.failCause(cause as Cause.Cause<never>)
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && failure.value instanceof LiterLlmError.HookRejected) return Exit.fail(failure.value)
  return Exit.fail(
    new LiterLlmError.HookRejected({
      message: `an ${stage} hook failed unexpectedly: ${Cause.pretty(cause).split("\n")[0]}; fix the hook, or fail with HookRejected to refuse on purpose`,
      cause: Cause.squash(cause)
    })
  )
}

/**
 * Runs hooks one after the other; the first hook that fails stops the rest.
 *
 * Each hook is called right away, and a hook that answers at once — returns an `Exit`, as `Effect.void`,
 * `Effect.succeed(…)` and `Exit.fail(…)` are — is settled in place, with no effect run: a check that needs nothing
 * asynchronous (an allow-list, a size limit) costs a function call, and nothing is allocated for it. (`Effect.fail` of
 * an error object is not an `Exit`: it captures the current span first, so it takes the effect path, with the same
 * result.) The result is then itself an `Exit`, which the pipeline also settles in place. From the first hook that
 * returns any other effect on, the rest run as one effect (one `matchCauseEffect` per hook carries both the guard and
 * the continuation). A hook that throws is a defect, and a defect becomes `HookRejected`, as it would inside an
 * effect. Every hook takes the request and at most one more argument (the response, the error), passed as they are
 * (no array, no closure per call: this runs on every call).
 */
const sequence = <B>(
  stage: string,
  hooks: ReadonlyArray<
    (request: Chat.ChatCompletionRequest, b: B) => Effect.Effect<unknown, LiterLlmError.HookRejected>
  >
) => {
  const from = (
    i: number,
    request: Chat.ChatCompletionRequest,
    b: B
  ): Effect.Effect<void, LiterLlmError.HookRejected> => {
    for (; i < hooks.length; i++) {
      let result: Effect.Effect<unknown, LiterLlmError.HookRejected>
      const hook = hooks[i]! as (
        request: Chat.ChatCompletionRequest,
        b?: B
      ) => Effect.Effect<unknown, LiterLlmError.HookRejected>
      try {
        // A request hook is called with the request alone, as its signature says (a variadic hook, `Effect.log` say,
        // would see a second argument).
        result = b === undefined ? hook(request) : hook(request, b)
      } catch (defect) {
        return rejection(stage, Cause.die(defect))
      }
      if (!Exit.isExit(result)) {
        const next = i + 1
        return Effect.matchCauseEffect(result, {
          onFailure: (cause) => rejection(stage, cause),
          onSuccess: () => from(next, request, b)
        })
      }
      if (Exit.isFailure(result)) return rejection(stage, result.cause)
    }
    return Exit.void
  }
  return (request: Chat.ChatCompletionRequest, b: B) => from(0, request, b)
}

/** The ticket of a call the request hooks let through; hooks keep nothing per call. */
const admitted = true

/** An admission from the request hooks: in place when they all answered at once. */
const settled = (
  result: Effect.Effect<void, LiterLlmError.HookRejected>,
  restore: <X, E, R>(effect: Effect.Effect<X, E, R>) => Effect.Effect<X, E, R>
): typeof admitted | Answer<never> | Await<typeof admitted, never> => {
  if (!Exit.isExit(result)) return new Await(restore(Effect.as(result, admitted)))
  const exit = result as Exit.Exit<void, LiterLlmError.HookRejected>
  return Exit.isSuccess(exit) ? admitted : new Answer(exit as Exit.Exit<never, LiterLlmError.HookRejected>)
}

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
        requestHooks.length === 0
          ? fromService
          : Stream.unwrap(Effect.suspend(() => Effect.as(onRequest(request, undefined), fromService)))
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
        requestHooks.length === 0 ? admitted : settled(onRequest(call.request, undefined), call.restore),
      leave: (call, _, exit) => {
        if (Exit.isSuccess(exit)) {
          if (responseHooks.length === 0) return
          const after = onResponse(call.request, exit.value)
          if (!Exit.isExit(after)) return call.restore(Effect.as(after, exit.value))
          return Exit.isSuccess(after) ? undefined : (after as Exit.Exit<never, LiterLlmError.HookRejected>)
        }
        if (errorHooks.length === 0) return
        const failure = Cause.failureOption(exit.cause)
        if (Option.isNone(failure)) return
        // The call still fails with its own error once the hooks ran, unless one of them failed.
        const after = onError(call.request, failure.value)
        if (!Exit.isExit(after)) return call.restore(Effect.zipRight(after, exit))
        return Exit.isSuccess(after) ? exit : (after as Exit.Exit<never, LiterLlmError.HookRejected>)
      }
    },
    chatStream
  }
}
