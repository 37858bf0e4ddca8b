/** A snapshot of the router for people: counters, latency, circuit and health per deployment. */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { HealthState } from "../health.js"
import type { Core } from "./attempt.js"
import * as Circuit from "./circuit.js"

export interface DeploymentStats {
  readonly name: string
  /** The public model name it serves; undefined in a router without groups. */
  readonly group: string | undefined
  readonly model: string | undefined
  readonly tags: ReadonlyArray<string>
  readonly requests: number
  readonly successes: number
  readonly failures: number
  readonly interruptions: number
  readonly inFlight: number
  readonly latencyMillis: number | undefined
  readonly circuit: "closed" | "open" | "half-open"
  readonly reopensAt: number | undefined
  readonly trips: number
  readonly health: HealthState["status"] | undefined
}

export interface Stats {
  readonly deployments: ReadonlyArray<DeploymentStats>
  readonly failovers: number
}

export const snapshot = (core: Core): Effect.Effect<Stats> =>
  Effect.gen(function* () {
    const health = yield* Effect.forEach(core.members, (m) =>
      m.health === undefined ? Effect.succeed(undefined) : Effect.map(m.health.state, (h) => h.status)
    )
    const now = yield* Clock.currentTimeMillis
    const state = yield* core.store.snapshot(core.names)
    const deployments = core.members.map((m, i): DeploymentStats => {
      const d = state.deployments[i]
      return {
        name: m.name,
        group: m.group,
        model: m.model,
        tags: m.tags,
        requests: d.requests,
        successes: d.successes,
        failures: d.failures,
        interruptions: d.interruptions,
        inFlight: d.inFlight,
        latencyMillis: d.latency,
        circuit: Circuit.display(d.circuit, now),
        reopensAt: d.circuit.state === "open" ? d.circuit.openUntil : undefined,
        trips: d.circuit.totalTrips,
        health: health[i]
      }
    })
    return { deployments, failovers: state.failovers }
  })
