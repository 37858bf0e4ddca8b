/**
 * What a built router is made of — static deployment records, normalized options, the mutable state and the
 * compiled strategy — and the per-request `Run`, a small mutable record local to one request (never shared) that
 * carries the candidate order, the attempts so far and the deadline through the failover loop.
 */
import type * as Schedule from "effect/Schedule"
import type * as Clock from "effect/Clock"
import type * as Effect from "effect/Effect"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import type * as Candidates from "./candidates.js"
import type * as Retry from "./retry.js"
import type * as State from "./state.js"

/** Options in the form the hot path wants: millis, booleans, no optionals to decode per request. */
export interface Config {
  readonly failover: boolean
  readonly maxAttempts: number
  readonly timeout: number | undefined
  readonly deadline: number | undefined
  readonly retry: Schedule.Schedule<unknown, LiterLlmError.LiterLlmError> | undefined
  readonly waitForAvailable: boolean
  readonly firstChunkTimeout: number | undefined
  readonly hedgeDelay: number | undefined
  readonly needsDraw: boolean
  readonly needsCost: boolean
  readonly hasHealth: boolean
}

export interface Engine {
  readonly metas: ReadonlyArray<State.Meta>
  readonly settings: State.Settings
  readonly config: Config
  /**
   * The router's state: a plain mutable record made when the router is built (so no two routers share anything),
   * owned by it, and changed in place by the transitions in state.ts.
   *
   * Why not a `Ref`: every read-modify-write of this record happens inside one synchronous callback that the fiber
   * runtime calls while running a fiber step (an `Effect.sync`/`suspend` body, or the continuation of a `flatMap`,
   * `clockWith`, `matchCauseEffect`, …), never across an effect boundary. JavaScript runs one such callback at a
   * time and no other fiber can run in the middle of it, so each update is atomic exactly as a `Ref.modify` would
   * be (a `Ref` is a plain mutable cell underneath, too). What this saves is an effect per update and the copying
   * of immutable records: choosing-and-admitting and settling become plain function calls inside steps the request
   * takes anyway, which was most of the router's own per-call cost. The rule that keeps it sound: read, decide and
   * write without yielding in between, and never keep a reading across a yield (stats copy what they show).
   */
  readonly state: State.RouterState
  readonly order: Candidates.Order
}

/** The operation a request performs on the chosen deployment's service. */
export type Op = (service: LlmService.Service) => Effect.Effect<unknown, LiterLlmError.LiterLlmError>

/**
 * What the failover loop does with a typed failure of an attempt on deployment `index`: retry, fail over or give up.
 * Called as a continuation, inside the fiber step that saw the failure (it reads the clock and updates the state).
 */
export type Recover<X> = (
  run: Run,
  index: number,
  error: LiterLlmError.LiterLlmError
) => Effect.Effect<X, LiterLlmError.LiterLlmError>

/**
 * A started attempt of some kind (a call, a stream's first chunk, a hedged pair). A typed failure goes to `recover`
 * (a plain call hands it over from the same continuation that settles the call, saving a `catchAll` per request).
 */
export type Attempt<X> = (
  run: Run,
  index: number,
  probe: boolean,
  recover: Recover<X>
) => Effect.Effect<X, LiterLlmError.LiterLlmError>

/** The failover loop's entry: the request was admitted to deployment `index`; run it there, and on as needed. */
export type Start<X> = (run: Run, index: number, probe: boolean) => Effect.Effect<X, LiterLlmError.LiterLlmError>

/** One request's walk through the candidates. */
export class Run {
  /** Index into `order` of the deployment tried last. */
  pos = 0
  /** Calls started (first tries, retries, hedges): bounded by `maxAttempts`. */
  started = 1
  /** Failed calls so far, made on the first failure (the happy path allocates nothing for it). */
  attempts: Array<LiterLlmError.Attempt> | undefined = undefined
  retry: Retry.Stepper | undefined = undefined
  constructor(
    readonly order: ReadonlyArray<number>,
    readonly deadlineAt: number,
    /** When the current call started (Clock millis). */
    public at: number,
    readonly op: Op,
    /** The caller's `Clock`, read once when the request began, so later steps need no effect to tell the time. */
    readonly clock: Clock.Clock
  ) {}
}
