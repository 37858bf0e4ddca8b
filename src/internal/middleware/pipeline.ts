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
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"

/**
 * One of the calling fiber's default services (its `Clock`, a `TestClock` in tests; its `Tracer`), read in place. The
 * same as `Context.get(fiber.currentDefaultServices, tag)`, whose two-way (data-first or data-last) signature
 * allocates an arguments object on each call; stages read the clock several times a call.
 */
export const defaultService = <I, S>(fiber: Fiber.RuntimeFiber<unknown, unknown>, tag: Context.Tag<I, S>): S => {
  const services = fiber.currentDefaultServices
  const found: S | undefined = services.unsafeMap.get(tag.key)
  return found !== undefined ? found : Context.unsafeGet(services as Context.Context<unknown>, tag)
}

/** The calling fiber's clock (see {@link defaultService}). */
export const clockOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Clock.Clock => defaultService(fiber, Clock.Clock)

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

/**
 * One call's way through the stages: it is the {@link Call} the stages see, and it keeps their tickets. A class rather
 * than closures, since one is made per call.
 */
class Run<Req, A> implements Call<Req, A> {
  private readonly tickets: Array<unknown>

  constructor(
    private readonly stages: ReadonlyArray<Stage<Req, A>>,
    readonly operation: Operation,
    readonly request: Req,
    private readonly service: (request: Req) => Effect.Effect<A, LiterLlmError.LiterLlmError>,
    readonly fiber: Fiber.RuntimeFiber<unknown, unknown>,
    readonly restore: <X, E, R>(effect: Effect.Effect<X, E, R>) => Effect.Effect<X, E, R>
  ) {
    this.tickets = new Array(stages.length)
  }

  // The service's effect is built only when a call gets that far: a refused or cached call never builds it. A method,
  // not a per-call closure.
  upstream(): Effect.Effect<A, LiterLlmError.LiterLlmError> {
    return this.service(this.request)
  }

  /** Enters the stages from `from` on, then calls the service. */
  enter(from: number): Effect.Effect<A, LiterLlmError.LiterLlmError> {
    const stages = this.stages
    for (let i = from; i < stages.length; i++) {
      const admission = stages[i]!.enter(this)
      if (admission instanceof Answer || admission instanceof Await) return this.admitted(i, admission)
      this.tickets[i] = admission
    }
    return this.settle(stages.length, this.restore(this.upstream()))
  }

  /** Stage `i` decided `admission`; carries on from there. */
  admitted(i: number, admission: Admission<unknown, A>): Effect.Effect<A, LiterLlmError.LiterLlmError> {
    if (admission instanceof Answer)
      return this.settle(i, admission.result as Effect.Effect<A, LiterLlmError.LiterLlmError>)
    if (admission instanceof Await)
      return Effect.matchCauseEffect(admission.next, {
        onFailure: (cause) => this.unwind(i, Exit.failCause(cause)),
        onSuccess: (next) => this.admitted(i, next)
      })
    this.tickets[i] = admission
    return this.enter(i + 1)
  }

  /** The stages below `from` leave with the result of `effect` (settled in place when it is an `Exit`). */
  settle(
    from: number,
    effect: Effect.Effect<A, LiterLlmError.LiterLlmError>
  ): Effect.Effect<A, LiterLlmError.LiterLlmError> {
    if (Exit.isExit(effect)) return this.unwind(from, effect as Exit.Exit<A, LiterLlmError.LiterLlmError>)
    return Effect.matchCauseEffect(effect, {
      onFailure: (cause) => this.unwind(from, Exit.failCause(cause)),
      onSuccess: (value) => this.unwind(from, Exit.succeed(value))
    })
  }

  /** The stages below `from` leave, innermost first, starting with `exit`. */
  unwind(from: number, exit: Exit.Exit<A, LiterLlmError.LiterLlmError>): Effect.Effect<A, LiterLlmError.LiterLlmError> {
    for (let i = from - 1; i >= 0; i--) {
      const leave = this.stages[i]!.leave
      if (leave === undefined) continue
      const out = leave(this, this.tickets[i], exit)
      if (out === undefined) continue
      if (!Exit.isExit(out)) return this.settle(i, out)
      exit = out
    }
    return exit
  }
}

/** Runs `request` through `stages` (outermost first) down to `service`. See the module docs for the guarantees. */
export const run = <Req, A>(
  stages: ReadonlyArray<Stage<Req, A>>,
  operation: Operation,
  request: Req,
  service: (request: Req) => Effect.Effect<A, LiterLlmError.LiterLlmError>
): Effect.Effect<A, LiterLlmError.LiterLlmError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<A, LiterLlmError.LiterLlmError>((fiber) =>
      new Run(stages, operation, request, service, fiber, restore).enter(0)
    )
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
