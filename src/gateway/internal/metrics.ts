/**
 * `/metrics`: Prometheus' text exposition format (version 0.0.4) of Effect's metrics and the router's stats.
 *
 * - The metrics are Effect's own (`Metric.snapshot`): whatever the process records — the `Telemetry` middleware's
 *   requests, errors by type, latency histogram, tokens and cost, labelled per deployment — is exported without a
 *   second registry to keep in step. Names and label keys become Prometheus-legal (`gen_ai.client.requests` →
 *   `gen_ai_client_requests_total`; counters get `_total`, histograms `_bucket`/`_sum`/`_count`).
 * - The router's state is not a metric Effect records, so it is read from `Router.stats` at scrape time: per
 *   deployment the circuit as one series per state (1 for the current one, the usual encoding of an enum), in-flight
 *   calls, trips, the latency average, and the failovers of the whole router.
 * - Label values are escaped as the format asks (backslash, quote, newline); a series' labels keep Effect's order.
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"
import type * as Router from "../../Router.js"

/** The content type of the exposition. */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

const legalName = (name: string) => {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[a-zA-Z_:]/.test(cleaned) ? cleaned : `_${cleaned}`
}
const legalLabel = (name: string) => {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`
}
const escapeValue = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
const escapeHelp = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

type Labels = ReadonlyArray<readonly [string, string]>

const labelText = (labels: Labels) =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${legalLabel(k)}="${escapeValue(v)}"`).join(",")}}`

const num = (value: number | bigint) => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Infinity) return "+Inf"
  if (value === -Infinity) return "-Inf"
  return String(value)
}

/** One metric family: its header and its series' lines. */
interface Family {
  readonly name: string
  readonly type: "counter" | "gauge" | "histogram" | "summary"
  readonly help: string | undefined
  readonly lines: Array<string>
}

/** Families by name, in the order first seen: the exposition keeps a family's series together. */
const collector = () => {
  const families = new Map<string, Family>()
  const family = (name: string, type: Family["type"], help: string | undefined) => {
    let found = families.get(name)
    if (found === undefined) {
      found = { name, type, help, lines: [] }
      families.set(name, found)
    }
    return found
  }
  const text = () =>
    [...families.values()]
      .map((f) =>
        [
          ...(f.help === undefined ? [] : [`# HELP ${f.name} ${escapeHelp(f.help)}`]),
          `# TYPE ${f.name} ${f.type}`,
          ...f.lines
        ].join("\n")
      )
      .join("\n")
  return { family, text }
}

const addPair = (out: ReturnType<typeof collector>, pair: MetricPair.MetricPair.Untyped) => {
  const key = pair.metricKey
  const state = pair.metricState
  const base = legalName(key.name)
  const help = Option.getOrUndefined(key.description)
  const labels: Labels = key.tags.map((tag) => [tag.key, tag.value] as const)
  if (MetricState.isCounterState(state)) {
    const name = base.endsWith("_total") ? base : `${base}_total`
    out.family(name, "counter", help).lines.push(`${name}${labelText(labels)} ${num(state.count)}`)
  } else if (MetricState.isGaugeState(state)) {
    out.family(base, "gauge", help).lines.push(`${base}${labelText(labels)} ${num(state.value)}`)
  } else if (MetricState.isHistogramState(state)) {
    const lines = out.family(base, "histogram", help).lines
    let infinite = false
    for (const [bound, count] of state.buckets) {
      if (bound === Infinity) infinite = true
      lines.push(`${base}_bucket${labelText([...labels, ["le", num(bound)]])} ${num(count)}`)
    }
    if (!infinite) lines.push(`${base}_bucket${labelText([...labels, ["le", "+Inf"]])} ${num(state.count)}`)
    lines.push(
      `${base}_sum${labelText(labels)} ${num(state.sum)}`,
      `${base}_count${labelText(labels)} ${num(state.count)}`
    )
  } else if (MetricState.isSummaryState(state)) {
    const lines = out.family(base, "summary", help).lines
    for (const [quantile, value] of state.quantiles) {
      const v = Option.getOrUndefined(value)
      if (v !== undefined) lines.push(`${base}${labelText([...labels, ["quantile", num(quantile)]])} ${num(v)}`)
    }
    lines.push(
      `${base}_sum${labelText(labels)} ${num(state.sum)}`,
      `${base}_count${labelText(labels)} ${num(state.count)}`
    )
  } else if (MetricState.isFrequencyState(state)) {
    const name = `${base}_total`
    const lines = out.family(name, "counter", help).lines
    for (const [value, count] of state.occurrences) {
      lines.push(`${name}${labelText([...labels, ["value", value]])} ${num(count)}`)
    }
  }
}

const circuitStates = ["closed", "open", "half-open"] as const

const addRouter = (out: ReturnType<typeof collector>, stats: Router.RouterStats) => {
  const circuit = out.family("ell_router_circuit_state", "gauge", "Circuit of each deployment: 1 for its current state")
  const inFlight = out.family("ell_router_in_flight", "gauge", "Calls in flight per deployment")
  const trips = out.family("ell_router_circuit_trips_total", "counter", "Times each deployment's circuit opened")
  const latency = out.family("ell_router_latency_seconds", "gauge", "Latency average (EMA) per deployment")
  for (const d of stats.deployments) {
    const labels: Labels = [["deployment", d.name]]
    for (const state of circuitStates) {
      circuit.lines.push(
        `ell_router_circuit_state${labelText([...labels, ["state", state]])} ${d.circuit === state ? 1 : 0}`
      )
    }
    inFlight.lines.push(`ell_router_in_flight${labelText(labels)} ${d.inFlight}`)
    trips.lines.push(`ell_router_circuit_trips_total${labelText(labels)} ${d.trips}`)
    if (d.latencyMillis !== undefined) {
      latency.lines.push(`ell_router_latency_seconds${labelText(labels)} ${num(d.latencyMillis / 1000)}`)
    }
  }
  out
    .family("ell_router_failovers_total", "counter", "Requests moved to another deployment")
    .lines.push(`ell_router_failovers_total ${stats.failovers}`)
}

/**
 * The exposition text: every Effect metric of the process, then the router's state when its stats are given.
 */
export const render = (stats?: Effect.Effect<Router.RouterStats> | undefined): Effect.Effect<string> =>
  Effect.gen(function* () {
    const out = collector()
    const pairs = yield* Metric.snapshot
    for (const pair of pairs) addPair(out, pair)
    if (stats !== undefined) addRouter(out, yield* stats)
    return `${out.text()}\n`
  })
