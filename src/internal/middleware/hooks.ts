/**
 * Hooks around the calls of a service (see `Hooks.ts` for the semantics). Hooks are the caller's effects: they run
 * on the caller's fiber, in order, and whatever goes wrong in one becomes a `HookRejected`, never a crash.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import type * as Hooks from "../../Hooks.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import { assemble } from "../assemble.js"
import * as Ops from "./ops.js"

/** A hook's failure or defect as `HookRejected`: a `HookRejected` passes as it is; interruption stays interruption. */
const rejected = (stage: string) => (cause: Cause.Cause<unknown>) => {
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
 * Runs `call` for each hook, one after the other (each suspended, so a hook that throws is a defect); the first
 * failure stops. A chain of `zipRight`s rather than `Effect.forEach`: hooks are usually one or two, and this runs on
 * every call.
 */
const inOrder = <H>(
  stage: string,
  hooks: ReadonlyArray<H>,
  call: (hook: H) => Effect.Effect<unknown, LiterLlmError.HookRejected>
): Effect.Effect<void, LiterLlmError.HookRejected> => {
  let run: Effect.Effect<unknown, LiterLlmError.HookRejected> | undefined
  for (const hook of hooks) {
    const next = Effect.suspend(() => call(hook))
    run = run === undefined ? next : Effect.zipRight(run, next)
  }
  return run === undefined ? Effect.void : Effect.asVoid(Effect.catchAllCause(run, rejected(stage)))
}

/** Wraps `below` so its calls run `hooks`; embeddings and `listModels` pass through. */
export const make =
  (hooks: ReadonlyArray<Hooks.Hook>) =>
  (below: LlmService.Service): LlmService.Service => {
    const onRequests = hooks.flatMap((h) => (h.onRequest === undefined ? [] : [h.onRequest]))
    const onResponses = hooks.flatMap((h) => (h.onResponse === undefined ? [] : [h.onResponse]))
    const onErrors = hooks.flatMap((h) => (h.onError === undefined ? [] : [h.onError]))
    // A request hook is called with the request alone, as its signature says (a variadic hook such as `Effect.log`
    // would show a second argument).
    const onRequest = (request: Chat.ChatCompletionRequest) => inOrder("onRequest", onRequests, (h) => h(request))
    const onResponse = (request: Chat.ChatCompletionRequest, response: Chat.ChatCompletionResponse) =>
      inOrder("onResponse", onResponses, (h) => h(request, response))
    // The call still fails with its own error once the hooks ran, unless one of them failed.
    const onError = (request: Chat.ChatCompletionRequest, error: LiterLlmError.LiterLlmError) =>
      Effect.zipRight(
        inOrder("onError", onErrors, (h) => h(request, error)),
        Effect.fail(error)
      )

    // Stages without hooks add nothing to a call.
    const chat = (request: Chat.ChatCompletionRequest) => {
      // Suspended: a refused request never reaches the service below, not even to build its call.
      let call: Effect.Effect<Chat.ChatCompletionResponse, LiterLlmError.LiterLlmError> = Effect.suspend(() =>
        below.chat(request)
      )
      if (onErrors.length > 0) call = Effect.catchAll(call, (error) => onError(request, error))
      if (onResponses.length > 0) call = Effect.tap(call, (response) => onResponse(request, response))
      return onRequests.length === 0 ? call : Effect.zipRight(onRequest(request), call)
    }

    const chatStream = (request: Chat.ChatCompletionRequest) => {
      const upstream = below
        .chatStream(request)
        .pipe(Stream.catchAll((error) => Stream.fromEffect(onError(request, error))))
      const checked = Stream.unwrap(Effect.as(onRequest(request), upstream))
      if (onResponses.length === 0) return checked
      // The response hooks see the assembled stream after its last chunk, inside the stream, so a rejection fails it.
      return Stream.unwrap(
        Effect.map(Ref.make(Chunk.empty<Chat.ChatCompletionChunk>()), (seen) =>
          checked.pipe(
            Stream.mapChunksEffect((chunk) => Effect.as(Ref.update(seen, Chunk.appendAll(chunk)), chunk)),
            Stream.concat(
              Stream.drain(
                Stream.fromEffect(Effect.flatMap(Ref.get(seen), (chunks) => onResponse(request, assemble(chunks))))
              )
            )
          )
        )
      )
    }

    const onOperations = hooks.flatMap((h) => (h.onOperation === undefined ? [] : [h.onOperation]))
    const onOperationResponses = hooks.flatMap((h) =>
      h.onOperationResponse === undefined ? [] : [h.onOperationResponse]
    )
    const onOperationErrors = hooks.flatMap((h) => (h.onOperationError === undefined ? [] : [h.onOperationError]))
    const anyOperationHook = onOperations.length + onOperationResponses.length + onOperationErrors.length > 0
    const others = Ops.wrapAll(below, (operation, _spec, call) => (request) => {
      const described: Hooks.OperationCall = { operation, request }
      let run = Effect.suspend(() => call(request))
      if (onOperationErrors.length > 0) {
        run = Effect.catchAll(run, (error) =>
          Effect.zipRight(
            inOrder("onOperationError", onOperationErrors, (h) => h(described, error)),
            Effect.fail(error)
          )
        )
      }
      if (onOperationResponses.length > 0) {
        run = Effect.tap(run, (response) =>
          inOrder("onOperationResponse", onOperationResponses, (h) => h(described, response))
        )
      }
      return onOperations.length === 0
        ? run
        : Effect.zipRight(
            inOrder("onOperation", onOperations, (h) => h(described)),
            run
          )
    })

    return anyOperationHook ? { ...below, ...others, chat, chatStream } : { ...below, chat, chatStream }
  }
