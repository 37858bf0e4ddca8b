/**
 * The router's state: one immutable record per deployment plus the round-robin cursor, all in a single cell
 * created when the router is built. Choosing a deployment and admitting the request to it (in-flight count, circuit
 * probe) happen in one synchronous update of that cell (atomic: see `Cell` in engine.ts), so concurrent requests
 * never both take the last slot or the one probe.
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

/** What changes. */
export interface DeploymentState {
  readonly requests: number
  readonly successes: number
  readonly failures: number
  readonly interruptions: number
  readonly inFlight: number
  /** Latency average in millis; undefined until the first sample. */
  readonly ema: number | undefined
  readonly sampledAt: number
  readonly circuit: Circuit.Circuit
}

export interface RouterState {
  readonly cursor: number
  readonly failovers: number
  readonly deployments: ReadonlyArray<DeploymentState>
}

/**
 * Builds a record with its fields always in the same order. Records are replaced on every request, so they must
 * share one hidden class: object spreads with conditional fields produced many shapes and made every access slow.
 */
const dep = (
  requests: number,
  successes: number,
  failures: number,
  interruptions: number,
  inFlight: number,
  ema: number | undefined,
  sampledAt: number,
  circuit: Circuit.Circuit
): DeploymentState => ({ requests, successes, failures, interruptions, inFlight, ema, sampledAt, circuit })

export const initialDeployment: DeploymentState = dep(0, 0, 0, 0, 0, undefined, 0, Circuit.closed)

export const initial = (n: number): RouterState => ({
  cursor: 0,
  failovers: 0,
  deployments: Array.from({ length: n }, () => initialDeployment)
})

/** Settings the transitions need, fixed at build. */
export interface Settings {
  readonly circuit: Circuit.Policy | undefined
  readonly alpha: number
  readonly staleAfter: number
}

const replace = (s: RouterState, i: number, d: DeploymentState, cursor: number, failovers: number): RouterState => {
  const deployments = s.deployments.slice()
  deployments[i] = d
  return { cursor, failovers, deployments }
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
export const admit = (s: RouterState, i: number, probe: boolean, failover: boolean, cursor?: number): RouterState => {
  const d = s.deployments[i]
  return replace(
    s,
    i,
    dep(
      d.requests + 1,
      d.successes,
      d.failures,
      d.interruptions,
      d.inFlight + 1,
      d.ema,
      d.sampledAt,
      probe ? Circuit.claimProbe(d.circuit) : d.circuit
    ),
    cursor ?? s.cursor,
    failover ? s.failovers + 1 : s.failovers
  )
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
): RouterState => {
  const d = s.deployments[i]
  const inFlight = release ? d.inFlight - 1 : d.inFlight
  const policy = settings.circuit
  let next: DeploymentState
  switch (outcome._tag) {
    case "Success": {
      const sampled = outcome.latency !== undefined
      next = dep(
        d.requests,
        d.successes + 1,
        d.failures,
        d.interruptions,
        inFlight,
        sampled ? Ema.onSuccess(d.ema, d.sampledAt, outcome.latency, now, settings.alpha, settings.staleAfter) : d.ema,
        sampled ? now : d.sampledAt,
        policy === undefined ? d.circuit : Circuit.onAnswer(d.circuit, policy, now)
      )
      break
    }
    case "Failure": {
      if (!outcome.transient) {
        next = dep(
          d.requests,
          d.successes,
          d.failures + 1,
          d.interruptions,
          inFlight,
          d.ema,
          d.sampledAt,
          policy === undefined ? d.circuit : Circuit.onAnswer(d.circuit, policy, now)
        )
        break
      }
      const retryAfter =
        outcome.error._tag === "RateLimited" && outcome.error.retryAfter !== undefined
          ? Duration.toMillis(outcome.error.retryAfter)
          : undefined
      next = dep(
        d.requests,
        d.successes,
        d.failures + 1,
        d.interruptions,
        inFlight,
        Ema.onFailure(d.ema, duration, slowest(s), settings.alpha),
        now,
        policy === undefined ? d.circuit : Circuit.onTransientFailure(d.circuit, policy, now, retryAfter, probe)
      )
      break
    }
    case "Interrupted":
      next = dep(
        d.requests,
        d.successes,
        d.failures,
        d.interruptions + 1,
        inFlight,
        d.ema,
        d.sampledAt,
        probe ? Circuit.releaseProbe(d.circuit) : d.circuit
      )
  }
  return replace(s, i, next, s.cursor, s.failovers)
}

/**
 * A retry of the same deployment starts. It is the caller's explicit schedule, so it is not subject to admission:
 * the circuit and the concurrency cap were checked when the deployment was chosen.
 */
export const retried = (s: RouterState, i: number): RouterState => {
  const d = s.deployments[i]
  return replace(
    s,
    i,
    dep(d.requests + 1, d.successes, d.failures, d.interruptions, d.inFlight + 1, d.ema, d.sampledAt, d.circuit),
    s.cursor,
    s.failovers
  )
}

/** A stream's first chunk arrived: its wait is the latency sample. */
export const sampled = (settings: Settings, s: RouterState, i: number, latency: number, now: number): RouterState => {
  const d = s.deployments[i]
  return replace(
    s,
    i,
    dep(
      d.requests,
      d.successes,
      d.failures,
      d.interruptions,
      d.inFlight,
      Ema.onSuccess(d.ema, d.sampledAt, latency, now, settings.alpha, settings.staleAfter),
      now,
      d.circuit
    ),
    s.cursor,
    s.failovers
  )
}
