/**
 * The router's state: one mutable record per deployment plus the round-robin cursor, created when the router is
 * built and owned by it. Choosing a deployment and admitting the request to it (in-flight count, circuit probe)
 * happen in one synchronous step (atomic: see `Engine.state` in engine.ts), so concurrent requests never both take
 * the last slot or the one probe. Transitions mutate in place: a request allocates no state records.
 */
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import type * as Pricing from "../../Pricing.js"
import type { DeploymentHealth } from "../health.js"
import * as Circuit from "./circuit.js"
import * as Ema from "./ema.js"

/** What the router knows about a deployment that never changes after build. */
export interface Meta {
  readonly index: number
  readonly name: string
  readonly service: LlmService.Service
  readonly model: string | undefined
  readonly pricing: Pricing.ModelPricing | undefined
  readonly weight: number
  readonly priority: number
  readonly tags: ReadonlyArray<string>
  readonly maxConcurrency: number
  readonly health: Context.Tag.Service<DeploymentHealth> | undefined
}

/**
 * What changes, mutated in place. Only the synchronous transitions below write these fields, each inside one fiber
 * step (see `Engine.state` in engine.ts); everything else only reads them.
 */
export interface DeploymentState {
  requests: number
  successes: number
  failures: number
  interruptions: number
  inFlight: number
  /** Latency average in millis; undefined until the first sample. */
  ema: number | undefined
  sampledAt: number
  /** Immutable, replaced when it changes (rarely, on the happy path never). */
  circuit: Circuit.Circuit
}

export interface RouterState {
  cursor: number
  failovers: number
  readonly deployments: ReadonlyArray<DeploymentState>
}

/** A fresh record, with its fields always in the same order (one hidden class keeps every access fast). */
const fresh = (): DeploymentState => ({
  requests: 0,
  successes: 0,
  failures: 0,
  interruptions: 0,
  inFlight: 0,
  ema: undefined,
  sampledAt: 0,
  circuit: Circuit.closed
})

export const initial = (n: number): RouterState => ({
  cursor: 0,
  failovers: 0,
  deployments: Array.from({ length: n }, fresh)
})

/** Settings the transitions need, fixed at build. */
export interface Settings {
  readonly circuit: Circuit.Policy | undefined
  readonly alpha: number
  readonly staleAfter: number
}

/** Whether a deployment may take a request now: `undefined` if not, else whether it would be the circuit's probe. */
export const admissible = (
  settings: Settings,
  meta: Meta,
  d: DeploymentState,
  now: number
): "closed" | "probe" | undefined => {
  if (d.inFlight >= meta.maxConcurrency) return undefined
  if (settings.circuit === undefined) return "closed"
  const a = Circuit.admission(d.circuit, now)
  return a === "blocked" ? undefined : a
}

/** Admission of request to deployment `i` (already checked admissible). */
export const admit = (s: RouterState, i: number, probe: boolean, failover: boolean, cursor?: number): void => {
  const d = s.deployments[i]
  d.requests++
  d.inFlight++
  if (probe) d.circuit = Circuit.claimProbe(d.circuit)
  if (cursor !== undefined) s.cursor = cursor
  if (failover) s.failovers++
}

/** How one call ended. */
export type Outcome =
  | { readonly _tag: "Success"; readonly latency: number | undefined }
  | { readonly _tag: "Failure"; readonly error: LiterLlmError.LiterLlmError; readonly transient: boolean }
  | { readonly _tag: "Interrupted" }

const slowest = (s: RouterState): number => {
  let max = 0
  for (const d of s.deployments) if (d.ema !== undefined && d.ema > max) max = d.ema
  return max
}

/** A call ended: counters, latency and circuit move together; `release` frees its in-flight slot. */
export const finish = (
  settings: Settings,
  s: RouterState,
  i: number,
  outcome: Outcome,
  duration: number,
  now: number,
  probe: boolean,
  release: boolean
): void => {
  const d = s.deployments[i]
  if (release) d.inFlight--
  const policy = settings.circuit
  switch (outcome._tag) {
    case "Success": {
      d.successes++
      if (outcome.latency !== undefined) {
        d.ema = Ema.onSuccess(d.ema, d.sampledAt, outcome.latency, now, settings.alpha, settings.staleAfter)
        d.sampledAt = now
      }
      if (policy !== undefined) d.circuit = Circuit.onAnswer(d.circuit, policy, now)
      return
    }
    case "Failure": {
      d.failures++
      if (!outcome.transient) {
        if (policy !== undefined) d.circuit = Circuit.onAnswer(d.circuit, policy, now)
        return
      }
      const retryAfter =
        outcome.error._tag === "RateLimited" && outcome.error.retryAfter !== undefined
          ? Duration.toMillis(outcome.error.retryAfter)
          : undefined
      // The slowest average is taken before this deployment's own moves (it may be the slowest).
      d.ema = Ema.onFailure(d.ema, duration, slowest(s), settings.alpha)
      d.sampledAt = now
      if (policy !== undefined) d.circuit = Circuit.onTransientFailure(d.circuit, policy, now, retryAfter, probe)
      return
    }
    case "Interrupted":
      d.interruptions++
      if (probe) d.circuit = Circuit.releaseProbe(d.circuit)
  }
}

/**
 * A retry of the same deployment starts. It is the caller's explicit schedule, so it is not subject to admission:
 * the circuit and the concurrency cap were checked when the deployment was chosen.
 */
export const retried = (s: RouterState, i: number): void => {
  const d = s.deployments[i]
  d.requests++
  d.inFlight++
}

/** A stream's first chunk arrived: its wait is the latency sample. */
export const sampled = (settings: Settings, s: RouterState, i: number, latency: number, now: number): void => {
  const d = s.deployments[i]
  d.ema = Ema.onSuccess(d.ema, d.sampledAt, latency, now, settings.alpha, settings.staleAfter)
  d.sampledAt = now
}
