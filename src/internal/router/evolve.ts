/**
 * The transitions of a deployment's router state: pure functions of the state and one event, applied by every store
 * (in memory inside a `Ref.modify`, remotely by whatever the store runs next to its data).
 */
import type { DeploymentState, Event, Rules } from "../../RouterStore.js"
import * as Circuit from "./circuit.js"
import * as Ema from "./ema.js"

export const initial: DeploymentState = {
  requests: 0,
  successes: 0,
  failures: 0,
  interruptions: 0,
  inFlight: 0,
  latency: undefined,
  sampledAt: 0,
  failing: false,
  circuit: Circuit.closed
}

/** What an event changes; a latency, once measured, is never unset. */
type Change = { readonly [K in keyof DeploymentState]?: Exclude<DeploymentState[K], undefined> }

/**
 * `d` with `change` applied. Written out field by field rather than as a spread: every request runs two of these,
 * and a copy with a fixed shape costs a fraction of what an object spread does.
 */
const next = (d: DeploymentState, change: Change): DeploymentState => ({
  requests: change.requests ?? d.requests,
  successes: change.successes ?? d.successes,
  failures: change.failures ?? d.failures,
  interruptions: change.interruptions ?? d.interruptions,
  inFlight: change.inFlight ?? d.inFlight,
  latency: change.latency ?? d.latency,
  sampledAt: change.sampledAt ?? d.sampledAt,
  failing: change.failing ?? d.failing,
  circuit: change.circuit ?? d.circuit
})

/** The state after one event (see `RouterStore.evolve`). */
export const evolve = (d: DeploymentState, event: Event, slowest: number): DeploymentState => {
  switch (event._tag) {
    case "Admitted":
      return next(d, {
        requests: d.requests + 1,
        inFlight: d.inFlight + 1,
        circuit: event.probe ? Circuit.claimProbe(d.circuit) : d.circuit
      })
    case "Sampled":
      // A success's sample: the average moves, and the deployment no longer counts as failing.
      return next(d, { latency: average(d, event.latency, event.at, event.rules), sampledAt: event.at, failing: false })
    case "Settled":
      return settle(d, event, slowest)
  }
}

/** The latency average after a success's sample. */
const average = (d: DeploymentState, latency: number, at: number, rules: Rules) =>
  Ema.onSuccess(d.latency, d.sampledAt, latency, at, rules.alpha, rules.staleAfter)

const settle = (
  d: DeploymentState,
  { at, duration, outcome, probe, rules }: Extract<Event, { _tag: "Settled" }>,
  slowest: number
): DeploymentState => {
  const policy = rules.circuit
  const inFlight = d.inFlight - 1
  switch (outcome._tag) {
    case "Success": {
      const circuit = policy === undefined ? d.circuit : Circuit.onAnswer(d.circuit, policy, at)
      const successes = d.successes + 1
      if (outcome.latency === undefined) return next(d, { inFlight, successes, circuit })
      const latency = average(d, outcome.latency, at, rules)
      return next(d, { inFlight, successes, circuit, latency, sampledAt: at, failing: false })
    }
    case "Interrupted":
      return next(d, {
        inFlight,
        interruptions: d.interruptions + 1,
        circuit: probe ? Circuit.releaseProbe(d.circuit) : d.circuit
      })
    case "Failure":
      if (!outcome.transient) {
        // The deployment answered: the fault is the caller's, so it counts as a sign of life.
        const circuit = policy === undefined ? d.circuit : Circuit.onAnswer(d.circuit, policy, at)
        return next(d, { inFlight, failures: d.failures + 1, circuit })
      }
      return next(d, {
        inFlight,
        failures: d.failures + 1,
        latency: Ema.onFailure(d.latency, duration, slowest, rules.alpha),
        sampledAt: at,
        failing: true,
        circuit:
          policy === undefined
            ? d.circuit
            : Circuit.onTransientFailure(d.circuit, policy, at, outcome.retryAfter, probe)
      })
  }
}
