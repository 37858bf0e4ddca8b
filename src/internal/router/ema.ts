/**
 * Latency as an exponential moving average, in milliseconds.
 *
 * Three fixes over the seed router's average:
 * - a failure never makes a deployment look faster: its sample is at least the current average, and a deployment
 *   whose first call fails is ranked no better than the slowest measured one;
 * - a sample that arrives after the average went stale (no sample for `reprobeAfter`) seeds the average afresh, so
 *   a deployment that was slow once and has recovered wins traffic back on its first good probe;
 * - streams are measured at the first chunk, which is what a caller waits for.
 */

/** A success's sample folded into the average (`undefined`: not measured yet). */
export const onSuccess = (
  ema: number | undefined,
  sampledAt: number,
  sample: number,
  now: number,
  alpha: number,
  staleAfter: number
): number => (ema === undefined || now - sampledAt >= staleAfter ? sample : alpha * sample + (1 - alpha) * ema)

/** A failure's sample: never below the current average, and never below the slowest known average. */
export const onFailure = (ema: number | undefined, sample: number, slowest: number, alpha: number): number =>
  ema === undefined ? Math.max(sample, slowest) : alpha * Math.max(sample, ema) + (1 - alpha) * ema
