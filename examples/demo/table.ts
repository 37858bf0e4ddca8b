/**
 * Plain-text tables and number formats for the demo's output.
 */
import type { Outcome } from "./compare.js"

/** A column: its header, and whether its cells line up on the right (numbers) or the left (names). */
export interface Column {
  readonly header: string
  readonly align?: "left" | "right"
}

/** Renders rows under their headers, each column as wide as its widest cell. */
export const renderTable = (columns: ReadonlyArray<Column>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = columns.map((column, i) => Math.max(column.header.length, ...rows.map((row) => row[i]?.length ?? 0)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((cell, i) => (columns[i]!.align === "right" ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd()
  return [line(columns.map((c) => c.header)), line(widths.map((w) => "─".repeat(w))), ...rows.map(line)].join("\n")
}

/** `p` in 0..1 of already sorted numbers (nearest rank); 0 for none. */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!

/** Milliseconds as "840 ms" or "1.52 s". */
export const formatMillis = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`)

/** A share of a whole as "42%", or "–" for none at all. */
export const formatShare = (part: number, whole: number): string =>
  part === 0 ? "–" : `${Math.max(1, Math.round((100 * part) / whole))}%`

/** US dollars with enough digits to compare small sums. */
export const formatUsd = (usd: number): string => `$${usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}`

/** One row per strategy: how traffic split, what latency and cost it achieved, how often the router stepped in. */
export const renderOutcomes = (outcomes: ReadonlyArray<Outcome>): string => {
  const names = outcomes[0]?.answered.map(([name]) => name) ?? []
  return renderTable(
    [
      { header: "strategy" },
      ...names.map((name) => ({ header: name, align: "right" as const })),
      { header: "p50", align: "right" },
      { header: "p95", align: "right" },
      { header: "cost", align: "right" },
      { header: "failovers", align: "right" },
      { header: "trips", align: "right" },
      { header: "errors" }
    ],
    outcomes.map((o) => [
      o.strategy,
      ...o.answered.map(([, answers]) => formatShare(answers, o.requests)),
      answered(o) === 0 ? "–" : formatMillis(o.p50Millis),
      answered(o) === 0 ? "–" : formatMillis(o.p95Millis),
      formatUsd(o.costUsd),
      String(o.failovers),
      String(o.circuitTrips),
      o.errors.length === 0 ? "0" : o.errors.map(([tag, n]) => `${n} ${tag}`).join(", ")
    ])
  )
}

const answered = (o: Outcome) => o.answered.reduce((sum, [, n]) => sum + n, 0)

/** A few lines that read the table out loud: which strategy won on cost, on latency, on calm. */
export const renderHighlights = (outcomes: ReadonlyArray<Outcome>): ReadonlyArray<string> => {
  const served = outcomes.filter((o) => answered(o) > 0)
  if (served.length < 2) return []
  const best = (score: (o: Outcome) => number) => served.reduce((a, b) => (score(b) < score(a) ? b : a))
  const worst = (score: (o: Outcome) => number) => served.reduce((a, b) => (score(b) > score(a) ? b : a))
  const cheapest = best((o) => o.costUsd)
  const dearest = worst((o) => o.costUsd)
  const fastest = best((o) => o.p50Millis)
  const steadiest = best((o) => o.p95Millis)
  const calmest = best((o) => o.failovers)
  return [
    `Cheapest:   ${cheapest.strategy} (${formatUsd(cheapest.costUsd)}; ${dearest.strategy} spent ${formatUsd(dearest.costUsd)})`,
    `Fastest:    ${fastest.strategy} (p50 ${formatMillis(fastest.p50Millis)}); shortest tail: ${steadiest.strategy} (p95 ${formatMillis(steadiest.p95Millis)})`,
    `Calmest:    ${calmest.strategy} (${calmest.failovers} failovers)`
  ]
}
