/**
 * The per-deployment circuit breaker, as pure transitions over an immutable record (the router keeps one per
 * deployment in its state, and applies each transition atomically together with the request's other bookkeeping).
 *
 * - closed: requests flow; transient failures are counted both consecutively and within a rolling window.
 * - open: nothing is sent until `openUntil`; that is max(cooldown, Retry-After), the cooldown doubling (by `factor`)
 *   with each consecutive trip up to `maxCooldown`.
 * - half-open: once `openUntil` has passed, exactly one request (the probe) is admitted; its success closes the circuit,
 *   its transient failure trips it again with a longer cooldown, its interruption frees the probe slot.
 *
 * A `RateLimited` with a `retryAfter` trips the circuit at once: the provider has said when to come back, and sending
 * more before then only earns more 429s. Non-transient errors (bad request, auth) prove the deployment is answering,
 * so they count as a sign of life, not a failure.
 */

/** The normalized circuit policy. */
export interface Policy {
  readonly consecutiveFailures: number
  readonly failureRate: number | undefined
  readonly minRequests: number
  readonly window: number
  readonly cooldown: number
  readonly maxCooldown: number
  readonly factor: number
}

/** One deployment's circuit. Times are epoch millis from `Clock`. */
export interface Circuit {
  readonly state: "closed" | "open"
  /** When open: the time from which one probe may pass. */
  readonly openUntil: number
  /** When open and past `openUntil`: a probe is in flight. */
  readonly probing: boolean
  readonly consecutiveFailures: number
  readonly windowStart: number
  readonly windowRequests: number
  readonly windowFailures: number
  /** Trips since the circuit last closed; drives the growing cooldown. */
  readonly trips: number
  /** Trips ever, for stats. */
  readonly totalTrips: number
}

/** Builds a circuit with its fields always in one order (one hidden class; see state.ts). */
const make = (
  state: "closed" | "open",
  openUntil: number,
  probing: boolean,
  consecutiveFailures: number,
  windowStart: number,
  windowRequests: number,
  windowFailures: number,
  trips: number,
  totalTrips: number
): Circuit => ({
  state,
  openUntil,
  probing,
  consecutiveFailures,
  windowStart,
  windowRequests,
  windowFailures,
  trips,
  totalTrips
})

export const closed: Circuit = make("closed", 0, false, 0, 0, 0, 0, 0, 0)

const withFailures = (c: Circuit, consecutive: number, windowStart: number, requests: number, failures: number) =>
  make(c.state, c.openUntil, c.probing, consecutive, windowStart, requests, failures, c.trips, c.totalTrips)

/** How admission sees a circuit right now. */
export type Admission = "closed" | "probe" | "blocked"

export const admission = (c: Circuit, now: number): Admission =>
  c.state === "closed" ? "closed" : now >= c.openUntil && !c.probing ? "probe" : "blocked"

/** The state shown in stats. */
export const display = (c: Circuit, now: number): "closed" | "open" | "half-open" =>
  c.state === "closed" ? "closed" : c.probing || now >= c.openUntil ? "half-open" : "open"

const withProbe = (c: Circuit, probing: boolean): Circuit =>
  make(
    c.state,
    c.openUntil,
    probing,
    c.consecutiveFailures,
    c.windowStart,
    c.windowRequests,
    c.windowFailures,
    c.trips,
    c.totalTrips
  )

export const claimProbe = (c: Circuit): Circuit => withProbe(c, true)

export const releaseProbe = (c: Circuit): Circuit => (c.probing ? withProbe(c, false) : c)

const rolled = (c: Circuit, policy: Policy, now: number): Circuit =>
  now - c.windowStart >= policy.window ? withFailures(c, c.consecutiveFailures, now, 0, 0) : c

/** The deployment answered (a success, or an error that is the caller's fault). */
export const onAnswer = (c: Circuit, policy: Policy, now: number): Circuit => {
  if (c.state === "open") return make("closed", 0, false, 0, now, 0, 0, 0, c.totalTrips)
  if (policy.failureRate === undefined) return c.consecutiveFailures === 0 ? c : withFailures(c, 0, c.windowStart, 0, 0)
  const w = rolled(c, policy, now)
  return withFailures(w, 0, w.windowStart, w.windowRequests + 1, w.windowFailures)
}

/** The cooldown of the `trips`-th consecutive trip (1-based). */
export const cooldownOf = (policy: Policy, trips: number): number =>
  Math.min(policy.maxCooldown, policy.cooldown * Math.pow(policy.factor, trips - 1))

const trip = (c: Circuit, policy: Policy, now: number, retryAfter: number | undefined): Circuit => {
  const trips = c.trips + 1
  const openFor = Math.max(cooldownOf(policy, trips), retryAfter ?? 0)
  return make("open", now + openFor, false, 0, now, 0, 0, trips, c.totalTrips + 1)
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
  if (retryAfter !== undefined) return trip(c, policy, now, retryAfter)
  const consecutive = c.consecutiveFailures + 1
  if (consecutive >= policy.consecutiveFailures) return trip(c, policy, now, retryAfter)
  if (policy.failureRate === undefined) return withFailures(c, consecutive, c.windowStart, 0, 0)
  const w = rolled(c, policy, now)
  const requests = w.windowRequests + 1
  const failures = w.windowFailures + 1
  if (requests >= policy.minRequests && failures / requests >= policy.failureRate) {
    return trip(c, policy, now, retryAfter)
  }
  return withFailures(w, consecutive, w.windowStart, requests, failures)
}
