/**
 * Local rate limiting per model: requests and tokens per window, on a sliding window, so a deployment is not sent
 * more than its provider would accept.
 *
 * ```ts
 * const limited = RateLimit.layer({ rpm: 500, tpm: 200_000 }).pipe(Layer.provide(deployment))
 * ```
 *
 * How it counts:
 * - Each model (the request's `model`) has its own window. A call is admitted when, over the last `window`
 *   (default one minute, measured with `Clock`), fewer than `rpm` calls were admitted and the tokens counted plus
 *   this call's estimate stay within `tpm`.
 * - The token estimate (prompt at four characters a token, plus `max_completion_tokens` / `max_tokens`, or 256) is
 *   reserved on admission and corrected to the real `total_tokens` when the call ends. A call that fails or is
 *   interrupted keeps its request slot (it was sent) but gives back its tokens, unless it reported usage. An
 *   estimate larger than `tpm` is counted as `tpm`, so a large request waits for an empty window instead of never
 *   fitting.
 * - A refused call fails with `RateLimited` whose `retryAfter` is the time until enough of the window expires for it
 *   to fit — not the whole window. With `wait: true` the call sleeps that long instead (on `Clock`, so `TestClock`
 *   drives it) and tries again; waiting callers are not queued in order.
 * - Streams take their slot when they start and are corrected when they complete, fail or are interrupted.
 *   Embeddings are limited the same way; `listModels` passes through.
 *
 * The windows are plain mutable structures owned by one built layer and changed only in synchronous steps of the
 * calling fiber, so every check-and-admit runs atomically: a `Ref` of immutable arrays would copy the window on every
 * call.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as LlmService from "./LlmService.js"
import * as Pipeline from "./internal/middleware/pipeline.js"
import * as internal from "./internal/middleware/rateLimit.js"
import { transform } from "./internal/middleware/wrap.js"

/**
 * Rate-limit options; a limit left out is not enforced.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Requests per window, per model (at least 1). */
  readonly rpm?: number | undefined
  /** Tokens (prompt + completion) per window, per model (at least 1). */
  readonly tpm?: number | undefined
  /** The length of the sliding window. Default one minute. */
  readonly window?: Duration.DurationInput | undefined
  /** Wait for room instead of failing with `RateLimited`. Default `false`. */
  readonly wait?: boolean | undefined
}

/**
 * Wraps a service in a rate limiter; each call of the returned effect owns fresh windows.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<(service: LlmService.Service) => LlmService.Service> =>
  Effect.sync(() => {
    const piece = internal.make(options)
    return (service) => Pipeline.stack([piece], service)
  })

/**
 * A layer transformer rate limiting the `LlmService` below.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<LlmService.LlmService, never, LlmService.LlmService> =>
  transform((service) => Effect.map(make(options), (limit) => limit(service)))
