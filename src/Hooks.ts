/**
 * Request hooks: Effects that run around every chat call, in the order given — to audit, enrich logs, or refuse.
 *
 * ```ts
 * const guarded = Hooks.layer([
 *   { onRequest: (req) => req.model.startsWith("gpt-") ? Effect.void : Effect.fail(new LiterLlmError.HookRejected({ message: "model not allowed" })) }
 * ]).pipe(Layer.provide(deployment))
 * ```
 *
 * Semantics:
 * - `onRequest` hooks run in order before the call; the first one that fails stops the call (later hooks and the
 *   service are not reached). Failing with `HookRejected` is how a hook refuses; it is not transient, so a router
 *   never retries it elsewhere.
 * - `onResponse` hooks run in order after a successful call; for `chatStream` they run once the stream has
 *   completed, with the response assembled from its chunks, before the stream ends for the caller. A failing
 *   `onResponse` fails the call (a response guardrail), even though a stream's chunks were already delivered.
 * - `onError` hooks run in order with the typed error of the service below (not with a hook's own rejection); the
 *   call then fails with that error unchanged. Interruption runs no hook.
 * - A hook that fails with anything other than `HookRejected`, or dies with a defect, fails the call with
 *   `HookRejected` (the defect in `cause`) — a buggy hook never crashes the caller.
 * - Hooks run on the caller's fiber, so a hook that hangs is bounded by the caller's own timeout.
 * - Embeddings and `listModels` pass through unhooked: the hook signatures speak chat.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Chat from "./Chat.js"
import * as LiterLlmError from "./LiterLlmError.js"
import type * as LlmService from "./LlmService.js"
import { onStreamEnd } from "./internal/middleware/stream.js"
import { transform, wrap } from "./internal/middleware/wrap.js"

/**
 * One set of hooks; every member is optional. Hooks need nothing from context: a hook that uses a service closes
 * over it, e.g. `Layer.unwrapEffect(Effect.map(Audit, (audit) => Hooks.layer([{ onRequest: audit.log }])))`. (Hooks
 * run inside the caller's context, so its span stays their parent; providing a build-time context would replace it.)
 *
 * @since 0.1.0
 * @category models
 */
export interface Hook {
  /** Runs before the call; fail with `HookRejected` to refuse it. */
  readonly onRequest?:
    ((request: Chat.ChatCompletionRequest) => Effect.Effect<unknown, LiterLlmError.HookRejected>) | undefined
  /** Runs after a successful call (a completed stream: the assembled response). */
  readonly onResponse?:
    | ((
        request: Chat.ChatCompletionRequest,
        response: Chat.ChatCompletionResponse
      ) => Effect.Effect<unknown, LiterLlmError.HookRejected>)
    | undefined
  /** Runs when the service below fails with a typed error. */
  readonly onError?:
    | ((
        request: Chat.ChatCompletionRequest,
        error: LiterLlmError.LiterLlmError
      ) => Effect.Effect<unknown, LiterLlmError.HookRejected>)
    | undefined
}

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

/**
 * Wraps a service so every chat call runs `hooks` around it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (hooks: ReadonlyArray<Hook>): ((service: LlmService.Service) => LlmService.Service) => {
  const requestHooks = hooks.flatMap((h) => (h.onRequest === undefined ? [] : [h.onRequest]))
  const responseHooks = hooks.flatMap((h) => (h.onResponse === undefined ? [] : [h.onResponse]))
  const errorHooks = hooks.flatMap((h) => (h.onError === undefined ? [] : [h.onError]))
  const onRequest = sequence("onRequest", requestHooks)
  const onResponse = sequence("onResponse", responseHooks)
  const onError = sequence("onError", errorHooks)
  return (service) => {
    const chat = (request: Chat.ChatCompletionRequest) => {
      // Built from only the stages that have hooks: a call pays for nothing it does not use.
      // Suspended when a request hook runs first, so a refused request never even builds the service's effect.
      let call = requestHooks.length > 0 ? Effect.suspend(() => service.chat(request)) : service.chat(request)
      if (errorHooks.length > 0) call = Effect.tapError(call, (error) => onError(request, error))
      if (responseHooks.length > 0) call = Effect.tap(call, (response) => onResponse(request, response))
      return requestHooks.length > 0 ? Effect.zipRight(onRequest(request), call) : call
    }

    const chatStream = (
      request: Chat.ChatCompletionRequest
    ): Stream.Stream<Chat.ChatCompletionChunk, LiterLlmError.LiterLlmError> => {
      const fromService = service
        .chatStream(request)
        .pipe(
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

    return wrap(service, { chat, chatStream })
  }
}

/**
 * A layer transformer running `hooks` around the `LlmService` below.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (hooks: ReadonlyArray<Hook>): Layer.Layer<LlmService.LlmService, never, LlmService.LlmService> =>
  transform((service) => Effect.succeed(make(hooks)(service)))
