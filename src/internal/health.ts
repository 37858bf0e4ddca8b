/**
 * The health a deployment reports about itself. `HealthCheck.layer` provides it next to the `LlmService` it wraps;
 * the router looks for it in each deployment's built context, skips deployments that report unhealthy, and shows the
 * state in its stats. It lives here, not in HealthCheck.ts, so the router does not depend on the health-check module.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"

/** What a health-checked service knows about itself. */
export interface HealthState {
  readonly status: "unknown" | "healthy" | "unhealthy"
  readonly consecutiveFailures: number
  readonly consecutiveSuccesses: number
  /** Epoch millis (from Clock) of the last probe, if any. */
  readonly lastProbeAt: number | undefined
}

/** The tag under which a health-checked deployment exposes its state. */
export class DeploymentHealth extends Context.Tag("effect-liter-llm/DeploymentHealth")<
  DeploymentHealth,
  { readonly state: Effect.Effect<HealthState> }
>() {}
