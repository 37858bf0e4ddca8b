/**
 * Small timing helpers shared by the benchmarks. Each measurement runs a batch of operations several times and
 * reports the median time per operation, since these machines are small and noisy: compare ratios within one run.
 */
import { performance } from "node:perf_hooks"

export interface Sample {
  readonly name: string
  /** Median time per operation, in microseconds. */
  readonly medianMicros: number
  /** Operations per second at the median. */
  readonly opsPerSecond: number
  readonly samples: ReadonlyArray<number>
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Times `batch` (which performs `opsPerBatch` operations) `samples` times after `warmup` untimed runs, and returns
 * the median microseconds per operation.
 */
export const measure = async (
  name: string,
  batch: () => Promise<unknown>,
  options: { readonly opsPerBatch: number; readonly samples?: number; readonly warmup?: number }
): Promise<Sample> => {
  const samples = options.samples ?? 9
  for (let i = 0; i < (options.warmup ?? 2); i++) await batch()
  const perOp: Array<number> = []
  for (let i = 0; i < samples; i++) {
    const start = performance.now()
    await batch()
    perOp.push(((performance.now() - start) * 1000) / options.opsPerBatch)
  }
  const medianMicros = median(perOp)
  return { name, medianMicros, opsPerSecond: 1_000_000 / medianMicros, samples: perOp }
}

/** Prints rows as a Markdown table. */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>): string => {
  const cell = (v: string | number) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v)
  const lines = [
    `| ${headers.join(" | ")} |`,
    `| ${headers.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)
  ]
  return lines.join("\n") + "\n"
}
