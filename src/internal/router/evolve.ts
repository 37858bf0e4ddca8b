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

/** The state after one event (see `RouterStore.evolve`). */
export const evolve = (d: DeploymentState, event: Event, slowest: number): DeploymentState => {
  switch (event._tag) {
    case "Admitted":
      return {
        ...d,
        requests: d.requests + 1,
        inFlight: d.inFlight + 1,
        circuit: event.probe ? Circuit.claimProbe(d.circuit) : d.circuit
      }
    case "Sampled":
      return { ...d, ...sample(d, event.latency, event.at, event.rules) }
    case "Settled":
      return settle({ ...d, inFlight: d.inFlight - 1 }, event, slowest)
  }
}

const sample = (d: DeploymentState, latency: number, at: number, rules: Rules) => ({
  latency: Ema.onSuccess(d.latency, d.sampledAt, latency, at, rules.alpha, rules.staleAfter),
  sampledAt: at,
  failing: false
})

const settle = (
  d: DeploymentState,
  { at, duration, outcome, probe, rules }: Extract<Event, { _tag: "Settled" }>,
  slowest: number
): DeploymentState => {
  const policy = rules.circuit
  switch (outcome._tag) {
    case "Success":
      return {
        ...d,
        ...(outcome.latency === undefined ? {} : sample(d, outcome.latency, at, rules)),
        successes: d.successes + 1,
        circuit: policy === undefined ? d.circuit : Circuit.onAnswer(d.circuit, policy, at)
      }
    case "Interrupted":
      return { ...d, interruptions: d.interruptions + 1, circuit: probe ? Circuit.releaseProbe(d.circuit) : d.circuit }
    case "Failure":
      if (!outcome.transient) {
        // The deployment answered: the fault is the caller's, so it counts as a sign of life.
        const circuit = policy === undefined ? d.circuit : Circuit.onAnswer(d.circuit, policy, at)
        return { ...d, failures: d.failures + 1, circuit }
      }
      return {
        ...d,
        failures: d.failures + 1,
        latency: Ema.onFailure(d.latency, duration, slowest, rules.alpha),
        sampledAt: at,
        failing: true,
        circuit:
          policy === undefined
            ? d.circuit
            : Circuit.onTransientFailure(d.circuit, policy, at, outcome.retryAfter, probe)
      }
  }
}
