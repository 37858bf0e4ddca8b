/** A snapshot of the router's state for people: counters, latency, circuit and health per deployment. */
import * as Effect from "effect/Effect"
import type { HealthState } from "../health.js"
import * as Circuit from "./circuit.js"
import type { Engine } from "./engine.js"

export interface DeploymentStats {
  readonly name: string
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

export const snapshot = (engine: Engine): Effect.Effect<Stats> =>
  Effect.gen(function* () {
    const health = yield* Effect.forEach(engine.metas, (meta) =>
      meta.health === undefined ? Effect.succeed(undefined) : Effect.map(meta.health.state, (h) => h.status)
    )
    const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    // The state is mutated in place: it is copied below in one go, with no yield in between, so the snapshot is
    // consistent.
    const s = engine.state
    const deployments = engine.metas.map((meta, i): DeploymentStats => {
      const d = s.deployments[i]
      const circuit = Circuit.display(d.circuit, now)
      return {
        name: meta.name,
        model: meta.model,
        tags: meta.tags,
        requests: d.requests,
        successes: d.successes,
        failures: d.failures,
        interruptions: d.interruptions,
        inFlight: d.inFlight,
        latencyMillis: d.ema,
        circuit,
        reopensAt: d.circuit.state === "open" ? d.circuit.openUntil : undefined,
        trips: d.circuit.totalTrips,
        health: health[i]
      }
    })
    return { deployments, failovers: s.failovers }
  })
