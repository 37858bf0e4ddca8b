/**
 * What a built router is made of — static deployment records, normalized options, the one state `Ref` and the
 * compiled strategy — and the per-request `Run`, a small mutable record local to one request (never shared) that
 * carries the candidate order, the attempts so far and the deadline through the failover loop.
 */
import type * as Ref from "effect/Ref"
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
  readonly state: Ref.Ref<State.RouterState>
  readonly order: Candidates.Order
}

/** The operation a request performs on the chosen deployment's service. */
export type Op = (service: LlmService.Service) => Effect.Effect<unknown, LiterLlmError.LiterLlmError>

/** A started attempt of some kind (a call, a stream's first chunk, a hedged pair). */
export type Attempt<X> = (run: Run, index: number, probe: boolean) => Effect.Effect<X, LiterLlmError.LiterLlmError>

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
