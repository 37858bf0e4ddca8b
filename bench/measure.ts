/**
 * How every benchmark measures: two arms (a baseline and a subject) run in alternating rounds in the same process,
 * and each round gives the time per operation of each arm. The figures are plain medians over the rounds, and
 * "added" is the median of the per-round differences, so slow stretches of a shared machine hit both arms of a
 * round alike. Nothing is filtered out.
 */
import * as Effect from "effect/Effect"
import { performance } from "node:perf_hooks"

/** Rounds per comparison: `BENCH_ROUNDS` (set by the runner's `--rounds N`), 30 when unset. */
export const rounds: number = (() => {
  const raw = process.env.BENCH_ROUNDS ?? "30"
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_ROUNDS must be a positive integer, got "${raw}"`)
  return n
})()

/**
 * Which clock a round reads. `cpu`: this process's CPU time, for in-process work (time other processes take from
 * the shared cores does not count). `wall`: elapsed time, for anything that waits (a sleep, a socket).
 */
export type Clock = "cpu" | "wall"

/** Microseconds on `clock`, from an arbitrary origin. */
export const now = (clock: Clock): number => {
  if (clock === "wall") return performance.now() * 1000
  const used = process.cpuUsage()
  return used.user + used.system
}

/** Runs `self`, which performs `ops` operations, and gives the microseconds per operation on `clock`. */
export const perOp = <A, E, R>(clock: Clock, ops: number, self: Effect.Effect<A, E, R>): Effect.Effect<number, E, R> =>
  Effect.suspend(() => {
    const start = now(clock)
    return Effect.map(self, () => (now(clock) - start) / ops)
  })

/** One round of one arm: resolves to microseconds per operation. */
export type Arm = () => Promise<number>

/** The per-round times of both arms of a comparison, round `i` of each side by side. */
export interface Samples {
  readonly base: ReadonlyArray<number>
  readonly subject: ReadonlyArray<number>
}

/**
 * Runs `count` rounds of both arms after up to 3 untimed ones (the JIT's warm-up). The arm that goes first alternates
 * from round to round, so neither always inherits the other's garbage.
 */
export const compare = async (base: Arm, subject: Arm, count = rounds): Promise<Samples> => {
  for (let i = 0; i < Math.min(3, count); i++) {
    await base()
    await subject()
  }
  const bases: Array<number> = []
  const subjects: Array<number> = []
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      bases.push(await base())
      subjects.push(await subject())
    } else {
      subjects.push(await subject())
      bases.push(await base())
    }
  }
  return { base: bases, subject: subjects }
}

/** The `q` quantile (0..1) of `values`, interpolated between the two nearest ranks. */
export const quantile = (values: ReadonlyArray<number>, q: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const low = Math.floor(at)
  const high = Math.ceil(at)
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low)
}

/** The median of `values`. */
export const median = (values: ReadonlyArray<number>): number => quantile(values, 0.5)
