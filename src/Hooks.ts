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
 * - A hook that fails with anything other than `HookRejected`, dies, or throws, fails the call with `HookRejected`
 *   (the defect in `cause`) — a buggy hook never crashes the caller.
 * - Hooks run on the caller's fiber, inside the caller's span, so a hook that hangs is bounded by the caller's own
 *   timeout. A hook is called when its turn comes, not when the request is built.
 * - Images, speech, transcription, moderation and rerank run `onOperation`, `onOperationResponse` and
 *   `onOperationError`, with the operation's name and request, under the same rules.
 * - Embeddings and `listModels` pass through unhooked.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Chat from "./Chat.js"
import type * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import * as internal from "./internal/middleware/hooks.js"

/**
 * One set of hooks; every member is optional. Hooks need nothing from context: a hook that uses a service closes
 * over it, e.g. `Layer.unwrapEffect(Effect.map(Audit, (audit) => Hooks.layer([{ onRequest: audit.log }])))`.
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
  /**
   * Runs before each image, speech, transcription, moderation and rerank call, with the operation's name and its
   * request; fail with `HookRejected` to refuse it (e.g. a moderation check's own quota).
   */
  readonly onOperation?: ((call: OperationCall) => Effect.Effect<unknown, LiterLlmError.HookRejected>) | undefined
  /** Runs after such a call succeeded, with its answer (speech: once the audio started). */
  readonly onOperationResponse?:
    ((call: OperationCall, response: unknown) => Effect.Effect<unknown, LiterLlmError.HookRejected>) | undefined
  /** Runs when such a call failed with a typed error; the call then fails with that error. */
  readonly onOperationError?:
    | ((call: OperationCall, error: LiterLlmError.LiterLlmError) => Effect.Effect<unknown, LiterLlmError.HookRejected>)
    | undefined
}

/**
 * One call of an operation other than chat and embeddings, as its hooks see it.
 *
 * @since 0.2.0
 * @category models
 */
export interface OperationCall {
  readonly operation: "image" | "speech" | "transcribe" | "moderate" | "rerank"
  readonly request: { readonly model: string }
}

/**
 * Runs `hooks` around every chat call and stream of the service below.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make =
  (hooks: ReadonlyArray<Hook>) =>
  (below: LlmService.Service): Effect.Effect<LlmService.Service, never, Scope.Scope> =>
    Effect.succeed(internal.make(hooks)(below))

/**
 * A layer transformer running `hooks` around the `LlmService` below it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (hooks: ReadonlyArray<Hook>): Layer.Layer<LlmService.LlmService, never, LlmService.LlmService> =>
  Layer.scoped(LlmService.LlmService, Effect.flatMap(LlmService.LlmService, make(hooks)))
