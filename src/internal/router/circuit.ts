/**
 * The per-deployment circuit breaker, as pure transitions over an immutable record (the store applies them as part
 * of a settling event, atomically with the request's other bookkeeping).
 *
 * - closed: requests flow; transient failures are counted both consecutively and within a rolling window.
 * - open: nothing is sent until `openUntil`; that is max(cooldown, Retry-After), the cooldown growing by `factor`
 *   with each consecutive trip up to `maxCooldown`.
 * - half-open: once `openUntil` has passed, exactly one request (the probe) is admitted; its success closes the circuit,
 *   its transient failure trips it again with a longer cooldown, its interruption frees the probe slot.
 *
 * A `RateLimited` with a `retryAfter` trips the circuit at once: the provider has said when to come back, and sending
 * more before then only earns more 429s. A `QuotaExceeded` arrives here the same way, with the router's
 * `quotaCooldown` as its Retry-After (see `attempt.ts`), so it too opens the circuit at once, for at least that long.
 * Non-transient errors (bad request, auth) prove the deployment is answering, so they count as a sign of life, not a
 * failure.
 */
import type { CircuitPolicy as Policy, CircuitState as Circuit } from "../../RouterStore.js"

export const closed: Circuit = {
  state: "closed",
  openUntil: 0,
  probing: false,
  consecutiveFailures: 0,
  windowStart: 0,
  windowRequests: 0,
  windowFailures: 0,
  trips: 0,
  totalTrips: 0
}

/** How admission sees a circuit right now. */
export const admission = (c: Circuit, now: number): "closed" | "probe" | "blocked" =>
  c.state === "closed" ? "closed" : now >= c.openUntil && !c.probing ? "probe" : "blocked"

/** The state shown in stats. */
export const display = (c: Circuit, now: number): "closed" | "open" | "half-open" =>
  c.state === "closed" ? "closed" : c.probing || now >= c.openUntil ? "half-open" : "open"

export const claimProbe = (c: Circuit): Circuit => ({ ...c, probing: true })

export const releaseProbe = (c: Circuit): Circuit => (c.probing ? { ...c, probing: false } : c)

const rolled = (c: Circuit, policy: Policy, now: number): Circuit =>
  now - c.windowStart >= policy.window ? { ...c, windowStart: now, windowRequests: 0, windowFailures: 0 } : c

/** The deployment answered (a success, or an error that is the caller's fault). */
export const onAnswer = (c: Circuit, policy: Policy, now: number): Circuit => {
  if (c.state === "open") return { ...closed, windowStart: now, totalTrips: c.totalTrips }
  if (policy.failureRate === undefined) return c.consecutiveFailures === 0 ? c : { ...c, consecutiveFailures: 0 }
  const w = rolled(c, policy, now)
  return { ...w, consecutiveFailures: 0, windowRequests: w.windowRequests + 1 }
}

/** The cooldown of the `trips`-th consecutive trip (1-based). */
export const cooldownOf = (policy: Policy, trips: number): number =>
  Math.min(policy.maxCooldown, policy.cooldown * Math.pow(policy.factor, trips - 1))

const trip = (c: Circuit, policy: Policy, now: number, retryAfter: number | undefined): Circuit => {
  const trips = c.trips + 1
  const openFor = Math.max(cooldownOf(policy, trips), retryAfter ?? 0)
  return { ...closed, state: "open", openUntil: now + openFor, windowStart: now, trips, totalTrips: c.totalTrips + 1 }
}

/** The deployment failed with a transient error. */
export const onTransientFailure = (
  c: Circuit,
  policy: Policy,
  now: number,
  retryAfter: number | undefined,
  probe: boolean
): Circuit => {
  // While open, only the probe's failure re-trips; stragglers admitted before the trip must not extend the cooldown.
  if (c.state === "open") return probe ? trip(c, policy, now, retryAfter) : c
  const consecutive = c.consecutiveFailures + 1
  if (retryAfter !== undefined || consecutive >= policy.consecutiveFailures) return trip(c, policy, now, retryAfter)
  if (policy.failureRate === undefined) return { ...c, consecutiveFailures: consecutive }
  const w = rolled(c, policy, now)
  const requests = w.windowRequests + 1
  const failures = w.windowFailures + 1
  if (requests >= policy.minRequests && failures / requests >= policy.failureRate) {
    return trip(c, policy, now, retryAfter)
  }
  return { ...w, consecutiveFailures: consecutive, windowRequests: requests, windowFailures: failures }
}
