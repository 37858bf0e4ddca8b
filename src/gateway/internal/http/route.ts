/**
 * Where the gateway meets the router's per-request API: steering a call with the routing headers
 * (`Router.withRouting`), learning which deployment served it (`Router.observeRoutes`, which reaches through the
 * caller's key middleware) for the `x-ell-*` response headers, and the model groups the router serves.
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Router from "../../../Router.js"
import type * as Routing from "./routing.js"

const routingOf = (settings: Routing.Settings): Router.RoutingSettings => ({
  ...(settings.tags === undefined ? {} : { tags: settings.tags }),
  ...(settings.timeout === undefined ? {} : { timeout: settings.timeout }),
  ...(settings.maxAttempts === undefined ? {} : { maxAttempts: settings.maxAttempts })
})

/** Runs `effect` under the request's routing settings. */
export const steer = <A, E, R>(
  settings: Routing.Settings | undefined,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => (settings === undefined ? effect : Router.withRouting(routingOf(settings))(effect))

/**
 * A place for the route of one request, and how to fill it: run the call under `effect` (for a stream, the wait for
 * its first chunk, when the router reports the route and captures where to report it again at the end).
 */
export interface Observed {
  readonly get: Effect.Effect<Router.Route | undefined>
  readonly effect: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/** A fresh {@link Observed}. */
export const observe: Effect.Effect<Observed> = Effect.map(
  Ref.make<Router.Route | undefined>(undefined),
  (ref): Observed => {
    const onRoute = (route: Router.Route) => Ref.set(ref, route)
    return {
      get: Ref.get(ref),
      effect: Router.observeRoutes(onRoute)
    }
  }
)

/** The response headers that tell the client how its request was routed. */
export const headers = (route: Router.Route | undefined): Record<string, string> => {
  if (route === undefined) return {}
  const out: Record<string, string> = {
    "x-ell-deployment": route.deployment,
    "x-ell-attempts": String(route.attempts.length)
  }
  if (route.group !== undefined) out["x-ell-group"] = route.group
  if (route.cost !== undefined && Number.isFinite(route.cost)) out["x-ell-cost"] = route.cost.toFixed(8)
  return out
}

const groupOf = (d: Router.DeploymentStats): string => d.group ?? d.model ?? d.name

/** The model groups a router serves, in first-seen order (without groups: its deployments' models). */
export const groups = (stats: Router.RouterStats): ReadonlyArray<string> => [...new Set(stats.deployments.map(groupOf))]

/** Whether a group has a deployment that can take a request now. */
export const available = (stats: Router.RouterStats, group: string): boolean =>
  stats.deployments.some((d) => groupOf(d) === group && d.circuit !== "open" && d.health !== "unhealthy")
