/**
 * Every benchmark prints its comparisons the same way: one Markdown table per group, one row per comparison, with
 * the medians, the subject's p90, what it adds to its baseline (median of the per-round differences, with their
 * interquartile range), the ratio, and the verdict against the row's target.
 */
import { cpus, loadavg } from "node:os"
import { median, quantile, rounds, type Samples } from "./measure.js"

/** What a row promises, judged on medians. */
export type Target =
  /** The subject adds at most `max` µs per operation to its baseline. */
  | { readonly _tag: "Added"; readonly max: number }
  /** The baseline takes at least `times` times as long as the subject (1: the subject is no slower). */
  | { readonly _tag: "Faster"; readonly times: number }
  /** The subject gets through at least `share` of the baseline's operations per second. */
  | { readonly _tag: "Throughput"; readonly share: number }
  /** Shown for information. */
  | { readonly _tag: "None" }

/** One comparison: its name, its rounds and its target. */
export interface Row {
  readonly name: string
  readonly samples: Samples
  readonly target: Target
}

const fixed = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2))

const targetText = (target: Target): string => {
  switch (target._tag) {
    case "Added":
      return `≤ ${target.max} µs added`
    case "Faster":
      return target.times === 1 ? "faster" : `≥ ${target.times}× faster`
    case "Throughput":
      return `≥ ${target.share}× its throughput`
    case "None":
      return "—"
  }
}

const verdict = (target: Target, added: number, ratio: number): string => {
  const mark = (ok: boolean, figure: string) => (ok ? `met (${figure})` : `**missed** (${figure})`)
  switch (target._tag) {
    case "Added":
      return mark(added <= target.max, `${fixed(added)} µs`)
    case "Faster":
      return mark(1 / ratio >= target.times, `${fixed(1 / ratio)}× faster`)
    case "Throughput":
      return mark(1 / ratio >= target.share, `${fixed(1 / ratio)}×`)
    case "None":
      return "—"
  }
}

/** How a table names its arms and its unit. */
export interface Labels {
  readonly baseline: string
  readonly subject: string
  readonly unit: string
}

/** The rows as a Markdown table. */
export const table = (rows: ReadonlyArray<Row>, labels: Labels): string => {
  const header = [
    "case",
    `${labels.baseline}, median ${labels.unit}`,
    `${labels.subject}, median ${labels.unit}`,
    `${labels.subject}, p90 ${labels.unit}`,
    `added ${labels.unit} (IQR)`,
    "× baseline",
    "target",
    "verdict"
  ]
  const lines = rows.map((row) => {
    const { base, subject } = row.samples
    const diffs = subject.map((s, i) => s - base[i]!)
    const ratio = median(subject.map((s, i) => s / base[i]!))
    const added = median(diffs)
    return [
      row.name,
      fixed(median(base)),
      fixed(median(subject)),
      fixed(quantile(subject, 0.9)),
      `${fixed(added)} (${fixed(quantile(diffs, 0.25))} to ${fixed(quantile(diffs, 0.75))})`,
      ratio.toFixed(3),
      targetText(row.target),
      verdict(row.target, added, ratio)
    ]
  })
  return [header, header.map(() => "---"), ...lines].map((cells) => `| ${cells.join(" | ")} |`).join("\n") + "\n"
}

/** One line saying where and how the tables were measured. */
export const setting = (what: string): string =>
  `${what} ${rounds} rounds per row after ${Math.min(3, rounds)} untimed, the arms alternating. ${cpus().length} × ` +
  `${cpus()[0]?.model.trim() ?? "cpu"}, node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}.\n`
