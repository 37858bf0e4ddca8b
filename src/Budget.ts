/**
 * Spending limits in USD, global and per model, enforced around every call.
 *
 * ```ts
 * const capped = Budget.layer({ globalLimit: 5, modelLimits: { "gpt-4o": 2 } }).pipe(Layer.provide(deployment))
 * const report = Budget.spend // Effect<{ global, byModel }, never, Budget.Budget>
 * ```
 *
 * How it counts:
 * - Before a call is sent, its cost is estimated from the request (prompt size at four characters a token, plus
 *   `max_completion_tokens` / `max_tokens`, or 256 output tokens when unbounded) and reserved. After the call, the
 *   reservation is replaced by the real cost from the reported usage (cached prompt tokens at the cache-read rate).
 *   A failed or interrupted call releases its reservation and is charged only for usage it reported (a stream that
 *   broke after its usage chunk); a successful response without usage is charged its estimate.
 * - `hard` enforcement (the default) refuses a call with `BudgetExceeded` before it is sent when the limit is
 *   already spent, or when spent + reserved by calls in flight + this call's estimate would pass it. So concurrent
 *   calls can overshoot a hard limit only by what calls in flight spend beyond their estimates (none, when requests
 *   set `max_tokens`). The error carries the `limit` and the settled `spent` of the limit that refused, and the
 *   `model` when it was a per-model limit (absent for the global one). `soft` enforcement lets every call through
 *   and logs a warning instead.
 * - Streams are charged when they complete, fail or are interrupted, from the usage on their final chunk.
 * - Prices come from `prices` (by model name) first, then `Pricing.lookup`. A model without a known price costs 0:
 *   its calls always pass (unless a limit is already spent) and a debug log says so — give it a price in `prices`
 *   to budget it.
 * - Calls are budgeted under the request's `model`; embeddings are charged their prompt tokens at the input rate.
 *   `listModels` is free and passes through.
 * - `reset` zeroes the settled spend; calls in flight keep their reservations and are charged when they settle.
 *
 * The spend and the reservations are plain numbers owned by one built budget, not a `Ref`: they change only in
 * synchronous steps of the calling fiber (a check and the reservation it allows are one step), which is as atomic as
 * `Ref.modify` and spares a copy of the state per call.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LlmService from "./LlmService.js"
import type * as Pricing from "./Pricing.js"
import * as internal from "./internal/middleware/budget.js"
import * as Pipeline from "./internal/middleware/pipeline.js"

/**
 * Budget options. Limits are USD; a limit left out is not enforced.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Limit on the spend of all models together. */
  readonly globalLimit?: number | undefined
  /** Limits per model name (the request's `model`). */
  readonly modelLimits?: Readonly<Record<string, number>> | undefined
  /** `"hard"` (default) refuses calls that would pass a limit; `"soft"` lets them through and logs a warning. */
  readonly enforcement?: "hard" | "soft" | undefined
  /** Prices by model name, consulted before `Pricing.lookup` (for private deployments or negotiated rates). */
  readonly prices?: Readonly<Record<string, Pricing.ModelPricing>> | undefined
}

/**
 * Settled spend in USD: all models together and per model.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spend {
  readonly global: number
  readonly byModel: Readonly<Record<string, number>>
}

/**
 * Reading and resetting a budget.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The settled spend (calls in flight are not included until they settle). */
  readonly spend: Effect.Effect<Spend>
  /** Zeroes the settled spend. */
  readonly reset: Effect.Effect<void>
}

/**
 * The tag of a budget, provided by {@link layer} next to the budgeted `LlmService`.
 *
 * @since 0.1.0
 * @category tags
 */
export class Budget extends Context.Tag("effect-liter-llm/Budget")<Budget, Service>() {}

/**
 * The settled spend of the budget in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const spend: Effect.Effect<Spend, never, Budget> = Effect.flatMap(Budget, (budget) => budget.spend)

/**
 * Zeroes the settled spend of the budget in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const reset: Effect.Effect<void, never, Budget> = Effect.flatMap(Budget, (budget) => budget.reset)

/**
 * A budget and the function that puts a service under it. Each call to `make` owns fresh state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<{ readonly budget: Service; readonly wrap: (service: LlmService.Service) => LlmService.Service }> =>
  Effect.sync(() => {
    const { budget, piece } = internal.make(options)
    return { budget, wrap: (service) => Pipeline.stack([piece], service) }
  })

/**
 * A layer transformer putting the `LlmService` below under a budget; it also provides the {@link Budget} tag to read
 * and reset the spend.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<LlmService.LlmService | Budget, never, LlmService.LlmService> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const below = yield* LlmService.LlmService
      const { budget, wrap } = yield* make(options)
      return Context.make(LlmService.LlmService, wrap(below)).pipe(Context.add(Budget, budget))
    })
  )
