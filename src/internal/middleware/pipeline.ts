/**
 * The call path of the middleware: pieces as stages of one pipeline rather than services nested in services.
 *
 * A middleware needs three things from a call: to decide before it (admit it, refuse it, answer it itself, or first
 * run an effect such as a hook), to learn how it ended (settle a reservation, record a span, store an answer), and to
 * have the second happen exactly once whatever the end. Nesting a service per piece gives each its own bracket — an
 * uninterruptible region, a fiber-runtime read, a continuation — so seven pieces cost seven times the frames, which was
 * most of the managed client's overhead. Here each piece is a {@link Stage} with a synchronous `enter` and `leave`,
 * and {@link run} drives any list of them in one frame: stages enter outermost first, the service is called, and the
 * stages that entered leave innermost first. A piece used alone is a pipeline of one stage, so a piece behaves the same
 * whether it wraps a service on its own or sits in `LlmClient`'s pipeline.
 *
 * Guarantees of {@link run}:
 * - The whole call runs in an uninterruptible region; only what a stage hands over through `call.restore` (a hook, a
 *   wait, a store read) and the service call itself run with the caller's interruptibility.
 * - A stage whose `enter` returned a ticket gets its `leave` called exactly once, after the stages inside it have left,
 *   on every exit: success, failure, defect or interruption. A stage that refused or answered does not leave, and no
 *   stage inside it ever enters.
 * - `leave` may replace the exit (a response hook refusing, a cache answer with its usage zeroed); the stages outside
 *   it see the replaced exit.
 *
 * Everything a stage does in `enter` and `leave` runs synchronously on the calling fiber, so a stage's state may be a
 * plain structure owned by the built piece: no other fiber runs in between, so every check-and-update is atomic.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"

/** The operations that go through a pipeline; streams have their own wrappers (see `stream.ts`). */
export type Operation = "chat" | "embed"

/** One call going through a pipeline, as its stages see it. */
export interface Call<Req, A> {
  readonly operation: Operation
  readonly request: Req
  /** The calling fiber: its clock, context and fiber refs, read without running an effect. */
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  /** Gives an effect the caller's interruptibility back (the pipeline itself runs uninterruptibly). */
  readonly restore: <X, E, R>(effect: Effect.Effect<X, E, R>) => Effect.Effect<X, E, R>
  /** The service's own call for this request, below every stage: what a cache runs on a miss. */
  readonly upstream: () => Effect.Effect<A, LiterLlmError.LiterLlmError>
  /** Set by a stage that answered without going upstream (a cache hit, or joining another caller's call). */
  hit: boolean
}

/** An `enter` that answers the call itself: the stages inside are skipped, the ones outside leave with its result. */
export class Answer<A> {
  constructor(readonly result: Effect.Effect<A, LiterLlmError.LiterLlmError>) {}
}

/** An `enter` that must run an effect first (a hook, a wait, a store read); its result is the admission. */
export class Await<T, A> {
  constructor(readonly next: Effect.Effect<Admission<T, A>, LiterLlmError.LiterLlmError>) {}
}

/** What `enter` decides: a ticket (admitted; handed back to `leave`), an answer, or an effect to run first. */
export type Admission<T, A> = T | Answer<A> | Await<T, A>

/**
 * One piece of middleware on one operation. `T` is what the stage keeps for the call between `enter` and `leave`; it
 * must not be an {@link Answer} or an {@link Await}.
 */
export interface Stage<Req, A, T = any> {
  readonly enter: (call: Call<Req, A>) => Admission<T, A>
  /**
   * The call below has ended with `exit`. Returns nothing to pass `exit` on, another exit to replace it, or an effect
   * whose result replaces it (run uninterruptibly unless wrapped in `call.restore`).
   */
  readonly leave?:
    | ((
        call: Call<Req, A>,
        ticket: T,
        exit: Exit.Exit<A, LiterLlmError.LiterLlmError>
      ) => Exit.Exit<A, LiterLlmError.LiterLlmError> | Effect.Effect<A, LiterLlmError.LiterLlmError> | void)
    | undefined
}

/** Runs `request` through `stages` (outermost first) down to `upstream`. See the module docs for the guarantees. */
export const run = <Req, A>(
  stages: ReadonlyArray<Stage<Req, A>>,
  operation: Operation,
  request: Req,
  service: (request: Req) => Effect.Effect<A, LiterLlmError.LiterLlmError>
): Effect.Effect<A, LiterLlmError.LiterLlmError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<A, LiterLlmError.LiterLlmError>((fiber) => {
      // The service's effect is built only when a call gets that far: a refused or cached call never builds it.
      const upstream = () => service(request)
      const call: Call<Req, A> = { operation, request, fiber, restore, upstream, hit: false }
      const tickets: Array<unknown> = new Array(stages.length)

      /** The stages below `from` leave, innermost first, starting with `exit`. */
      const unwind = (
        from: number,
        exit: Exit.Exit<A, LiterLlmError.LiterLlmError>
      ): Effect.Effect<A, LiterLlmError.LiterLlmError> => {
        for (let i = from - 1; i >= 0; i--) {
          const leave = stages[i]!.leave
          if (leave === undefined) continue
          const out = leave(call, tickets[i], exit)
          if (out === undefined) continue
          if (Exit.isExit(out)) {
            exit = out
            continue
          }
          return Effect.matchCauseEffect(out, {
            onFailure: (cause) => unwind(i, Exit.failCause(cause)),
            onSuccess: (value) => unwind(i, Exit.succeed(value))
          })
        }
        return exit
      }

      /** Stage `i` decided `admission`; carry on from there. */
      const admitted = (i: number, admission: Admission<unknown, A>): Effect.Effect<A, LiterLlmError.LiterLlmError> => {
        if (admission instanceof Answer) {
          const result = admission.result as Effect.Effect<A, LiterLlmError.LiterLlmError>
          return Exit.isExit(result)
            ? unwind(i, result as Exit.Exit<A, LiterLlmError.LiterLlmError>)
            : Effect.matchCauseEffect(result, {
                onFailure: (cause) => unwind(i, Exit.failCause(cause)),
                onSuccess: (value) => unwind(i, Exit.succeed(value))
              })
        }
        if (admission instanceof Await)
          return Effect.matchCauseEffect(admission.next, {
            onFailure: (cause) => unwind(i, Exit.failCause(cause)),
            onSuccess: (next) => admitted(i, next)
          })
        tickets[i] = admission
        return enter(i + 1)
      }

      const enter = (from: number): Effect.Effect<A, LiterLlmError.LiterLlmError> => {
        for (let i = from; i < stages.length; i++) {
          const admission = stages[i]!.enter(call)
          if (admission instanceof Answer || admission instanceof Await) return admitted(i, admission)
          tickets[i] = admission
        }
        return Effect.matchCauseEffect(restore(upstream()), {
          onFailure: (cause) => unwind(stages.length, Exit.failCause(cause)),
          onSuccess: (value) => unwind(stages.length, Exit.succeed(value))
        })
      }

      return enter(0)
    })
  )

/**
 * One piece of middleware: its stages for `chat` and `embed`, and its wrapper of `chatStream` (streams are accounted
 * over their whole life, which is not one call's frame). What a piece leaves out passes through.
 */
export interface Piece {
  readonly chat?: Stage<Chat.ChatCompletionRequest, Chat.ChatCompletionResponse> | undefined
  readonly embed?: Stage<Embedding.EmbeddingRequest, Embedding.EmbeddingResponse> | undefined
  readonly chatStream?: ((below: LlmService.Service["chatStream"]) => LlmService.Service["chatStream"]) | undefined
}

/**
 * `service` behind `pieces`, the first outermost: `chat` and `embed` through one pipeline of the pieces' stages,
 * `chatStream` through their stream wrappers nested in the same order, `listModels` untouched.
 */
export const stack = (pieces: ReadonlyArray<Piece>, service: LlmService.Service): LlmService.Service => {
  const chatStages = pieces.flatMap((piece) => (piece.chat === undefined ? [] : [piece.chat]))
  const embedStages = pieces.flatMap((piece) => (piece.embed === undefined ? [] : [piece.embed]))
  let chatStream = service.chatStream
  for (let i = pieces.length - 1; i >= 0; i--) {
    const wrap = pieces[i]!.chatStream
    if (wrap !== undefined) chatStream = wrap(chatStream)
  }
  return {
    chat: chatStages.length === 0 ? service.chat : (request) => run(chatStages, "chat", request, service.chat),
    embed: embedStages.length === 0 ? service.embed : (request) => run(embedStages, "embed", request, service.embed),
    chatStream,
    listModels: service.listModels
  }
}
