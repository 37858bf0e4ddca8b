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
 * - The request is checked first (`max_tokens` negative, NaN or fractional is a `BadRequest`, and takes no slot).
 *   The token estimate (prompt at four characters a token, plus `max_completion_tokens` / `max_tokens`, or 256) is
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
 * The windows live behind {@link Store}: in memory by default, or shared (Redis) when a store is provided.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import { PositiveDuration } from "./internal/middleware/options.js"
import * as internal from "./internal/middleware/rateLimit.js"
import * as Validate from "./internal/validate.js"

/**
 * Rate-limit options; a limit left out is not enforced.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Requests per window, per model: a whole number ≥ 1. */
  readonly rpm?: number | undefined
  /** Tokens (prompt + completion) per window, per model: a whole number ≥ 1. */
  readonly tpm?: number | undefined
  /** The length of the sliding window. Default one minute. */
  readonly window?: Duration.DurationInput | undefined
  /** Wait for room instead of failing with `RateLimited`. Default `false`. */
  readonly wait?: boolean | undefined
}

/**
 * The limits of one key's window, as a store sees them.
 *
 * @since 0.1.0
 * @category store
 */
export interface Limits {
  readonly window: Duration.Duration
  readonly requests: number | undefined
  readonly tokens: number | undefined
}

/**
 * An admitted call's claim on its window, handed back to {@link StoreService.settle}.
 *
 * @since 0.1.0
 * @category store
 */
export interface Ticket {
  readonly key: string
  readonly seq: number
}

/**
 * A store's answer to an admission: a ticket, or how long until the call would fit.
 *
 * @since 0.1.0
 * @category store
 */
export type Acquired =
  | { readonly _tag: "Admitted"; readonly ticket: Ticket }
  | { readonly _tag: "Refused"; readonly retryAfter: Duration.Duration }

/**
 * Where the windows live. Each operation is one step (one round trip for a remote store): `acquire` checks and
 * takes a request slot with its estimated tokens; `settle` replaces those tokens by what the call used.
 *
 * @since 0.1.0
 * @category store
 */
export interface StoreService {
  readonly acquire: (key: string, limits: Limits, tokens: number) => Effect.Effect<Acquired>
  readonly settle: (ticket: Ticket, tokens: number) => Effect.Effect<void>
}

/**
 * The tag of a rate-limit store; when none is provided, each rate limiter keeps its windows in memory.
 *
 * @since 0.1.0
 * @category store
 */
export class Store extends Context.Tag("effect-liter-llm/RateLimit/Store")<Store, StoreService>() {}

/**
 * A fresh in-memory store, on a `Ref`.
 *
 * @since 0.1.0
 * @category store
 */
export const memoryStore: Effect.Effect<StoreService> = internal.memoryStore

/**
 * A layer providing a fresh in-memory {@link Store}, to share windows between several layers.
 *
 * @since 0.1.0
 * @category store
 */
export const layerMemoryStore: Layer.Layer<Store> = Layer.effect(Store, memoryStore)

const OptionsSchema = Schema.Struct({
  rpm: Schema.optional(Validate.PositiveInt),
  tpm: Schema.optional(Validate.PositiveInt),
  window: Schema.optional(PositiveDuration),
  wait: Schema.optional(Schema.Boolean)
})

/**
 * Rate limits the service below with the windows of the {@link Store} in context, or fresh ones in memory. Fails
 * with `BadRequest` naming the option when `rpm` or `tpm` is not a whole number ≥ 1 or `window` is not a duration.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make =
  (options: Options = {}) =>
  (below: LlmService.Service): Effect.Effect<LlmService.Service, LiterLlmError.BadRequest, Scope.Scope> =>
    Effect.zipRight(
      Validate.options("RateLimit.layer", OptionsSchema, options),
      Effect.map(
        Effect.flatMap(
          Effect.serviceOption(Store),
          Option.match({ onNone: () => memoryStore, onSome: Effect.succeed })
        ),
        (store) => internal.make(options, store)(below)
      )
    )

/**
 * A layer transformer rate limiting the `LlmService` below.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<LlmService.LlmService, LiterLlmError.BadRequest, LlmService.LlmService> =>
  Layer.scoped(LlmService.LlmService, Effect.flatMap(LlmService.LlmService, make(options)))
