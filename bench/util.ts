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

/**
 * How fast the host is running this process right now: the time, in microseconds, a fixed piece of pure computation
 * takes on this thread (integer arithmetic over a small typed array; no allocation, no I/O, nothing for the
 * collector). On the shared 2-vCPU machines these benchmarks run on, the same loop in an otherwise idle process
 * alternates between two speeds, about 1.75× apart, in phases of a fraction of a second to several seconds; the VM
 * sees no steal time, and keeping its other vCPU busy or idle makes no difference, so the cause is the host's other
 * tenants. Every benchmark batch run in a slow phase is slowed by about as much, whatever the code under test, so a
 * benchmark brackets its timed batches with this probe and keeps the batches run at full speed (see
 * {@link HostSpeed}).
 *
 * Wall time, not the process's CPU time: right after a batch that allocated a lot, the collector's helper threads are
 * still at work, and the process's CPU time would count their time as the probe's.
 */
export const probeHost = (() => {
  const cells = new Float64Array(4096)
  let sink = 0
  return (): number => {
    const start = performance.now()
    let h = sink | 0
    for (let round = 0; round < 64; round++) {
      for (let i = 0; i < 4096; i++) {
        h = Math.imul(h ^ i, 0x01000193)
        cells[i] = cells[(i * 7) & 4095]! + h
      }
    }
    sink = h
    return (performance.now() - start) * 1000
  }
})()

/**
 * The host's speed over a benchmark run: {@link probeHost} readings taken around (and within) each timed batch, and
 * which batches ran at full speed. A batch counts as run at full speed when every probe around and within it took at most
 * `tolerance` times the fastest probe of the whole run (the two speeds are far enough apart that any tolerance from
 * 1.15 to 1.5 sorts them the same way). Decided at the end of the run, once the fastest probe is known.
 */
export class HostSpeed {
  private readonly readings: Array<number> = []

  constructor(readonly tolerance = 1.3) {}

  /** Takes a probe reading; returns its index, to pass to {@link fullSpeed} later. */
  probe(): number {
    this.readings.push(probeHost())
    return this.readings.length - 1
  }

  /** The fastest probe of the run, in microseconds. */
  get fastest(): number {
    return Math.min(...this.readings)
  }

  /** Whether what ran between the probes `indices` (taken before, between and after its parts) ran at full speed. */
  fullSpeed(...indices: ReadonlyArray<number>): boolean {
    const limit = this.fastest * this.tolerance
    return indices.every((i) => this.readings[i]! <= limit)
  }

  /** The share of probes taken at full speed, and how much slower the others ran (median), for the report. */
  summary(): { readonly fullSpeedShare: number; readonly slowdown: number } {
    const limit = this.fastest * this.tolerance
    const slow = this.readings.filter((r) => r > limit)
    return {
      fullSpeedShare: 1 - slow.length / this.readings.length,
      slowdown: slow.length === 0 ? 1 : median(slow) / this.fastest
    }
  }
}
