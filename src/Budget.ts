/**
 * Spending limits in USD, global and per model, enforced around every call.
 *
 * ```ts
 * const capped = Budget.layer({ globalLimit: 5, modelLimits: { "gpt-4o": 2 } }).pipe(Layer.provide(deployment))
 * const report = Budget.spend // Effect<{ global, byModel }, never, Budget.Budget>
 * ```
 *
 * How it counts:
 * - Before a call is sent, the request is checked (`max_tokens` negative, NaN or fractional is a `BadRequest`), its
 *   cost is estimated (prompt size at four characters a token, plus `max_completion_tokens` / `max_tokens`, or 256
 *   output tokens when unbounded) and reserved. After the call, the reservation is replaced by the real cost from
 *   the reported usage (cached prompt tokens at the cache-read rate). A failed or interrupted call releases its
 *   reservation and is charged only for usage it reported (a stream that broke after its usage chunk); a successful
 *   response without usage is charged its estimate.
 * - `hard` enforcement (the default) refuses a call with `BudgetExceeded` before it is sent when the limit is
 *   already spent, or when spent + reserved by calls in flight + this call's estimate would pass it. The error
 *   carries the `limit` and the settled `spent` of the limit that refused, and the `model` when it was a per-model
 *   limit. `soft` enforcement lets every call through and logs a warning instead.
 * - Streams are charged when they complete, fail or are interrupted, from the usage on their final chunk.
 * - Prices come from `prices` (by model name) first, then `Pricing.lookup`. A model without a known price costs 0
 *   (a debug log says so): give it a price in `prices` to budget it. Embeddings are charged their prompt tokens at
 *   the input rate; `listModels` is free and passes through.
 * - `reset` zeroes the settled spend; calls in flight keep their reservations and are charged when they settle.
 *
 * The spend lives behind {@link Store}: in memory by default, or shared (Redis) when a store is provided. A store
 * checks and reserves in one step, so concurrent calls cannot both take the last dollar.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as EffectScope from "effect/Scope"
import type * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import type * as Pricing from "./Pricing.js"
import { PricingSchema } from "./internal/middleware/options.js"
import * as internal from "./internal/middleware/budget.js"
import * as Validate from "./internal/validate.js"

/**
 * Budget options. Limits are USD; a limit left out is not enforced.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Limit on the spend of all models together. */
  readonly globalLimit?: number | undefined
  /** How refusals and warnings name the `globalLimit` budget (default `global`); the gateway gives a key's name. */
  readonly name?: string | undefined
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
 * A scope a call is charged to (`"global"`, `"model:gpt-4o"`), with its limit if it has one.
 *
 * @since 0.1.0
 * @category store
 */
export interface Scope {
  readonly key: string
  readonly limit: number | undefined
}

/**
 * What a store holds for a call between its reservation and its settlement.
 *
 * @since 0.1.0
 * @category store
 */
export interface Reservation {
  readonly scopes: ReadonlyArray<string>
  readonly estimate: number
}

/**
 * The limit a reservation would pass, with the scope's settled spend and what calls in flight hold.
 *
 * @since 0.1.0
 * @category store
 */
export interface Over {
  readonly scope: string
  readonly limit: number
  readonly spent: number
  readonly reserved: number
}

/**
 * A store's answer to a reservation: reserved (possibly over a limit, when not enforcing), or refused.
 *
 * @since 0.1.0
 * @category store
 */
export type Admission =
  | { readonly _tag: "Reserved"; readonly reservation: Reservation; readonly over: Over | undefined }
  | { readonly _tag: "Refused"; readonly over: Over }

/**
 * Where spend and reservations live. Each operation is one step (one round trip for a remote store): `reserve`
 * checks every scope's limit and reserves in all of them, or refuses; `settle` replaces a reservation by its cost.
 *
 * @since 0.1.0
 * @category store
 */
export interface StoreService {
  readonly reserve: (scopes: ReadonlyArray<Scope>, estimate: number, enforce: boolean) => Effect.Effect<Admission>
  readonly settle: (reservation: Reservation, cost: number) => Effect.Effect<void>
  /** Settled spend by scope key. */
  readonly spent: Effect.Effect<Readonly<Record<string, number>>>
  readonly reset: Effect.Effect<void>
}

/**
 * The tag of a budget store; when none is provided, each budget keeps its own in memory.
 *
 * @since 0.1.0
 * @category store
 */
export class Store extends Context.Tag("effect-liter-llm/Budget/Store")<Store, StoreService>() {}

/**
 * A fresh in-memory store, on a `Ref`.
 *
 * @since 0.1.0
 * @category store
 */
export const memoryStore: Effect.Effect<StoreService> = internal.memoryStore

/**
 * A layer providing a fresh in-memory {@link Store}, to share one budget between several layers.
 *
 * @since 0.1.0
 * @category store
 */
export const layerMemoryStore: Layer.Layer<Store> = Layer.effect(Store, memoryStore)

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

const OptionsSchema = Schema.Struct({
  globalLimit: Schema.optional(Validate.NonNegative),
  name: Schema.optional(Schema.NonEmptyTrimmedString),
  modelLimits: Schema.optional(Schema.Record({ key: Schema.String, value: Validate.NonNegative })),
  enforcement: Schema.optional(Schema.Literal("hard", "soft")),
  prices: Schema.optional(Schema.Record({ key: Schema.String, value: PricingSchema }))
})

/** The store in context, else a fresh one in memory. */
const storeOf: Effect.Effect<StoreService> = Effect.flatMap(
  Effect.serviceOption(Store),
  Option.match({ onNone: () => memoryStore, onSome: Effect.succeed })
)

/**
 * Puts the service below under a budget kept in the {@link Store} in context, or a fresh one in memory. Fails with
 * `BadRequest` naming the option when a limit or price is negative or not a number.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make =
  (options: Options = {}) =>
  (below: LlmService.Service): Effect.Effect<LlmService.Service, LiterLlmError.BadRequest, EffectScope.Scope> =>
    Effect.zipRight(
      Validate.options("Budget.layer", OptionsSchema, options),
      Effect.map(storeOf, (store) => internal.make(options, store)(below))
    )

/**
 * Reads the spend of a store as {@link Spend}.
 *
 * @since 0.1.0
 * @category store
 */
export const view = (store: StoreService): Service => ({
  spend: Effect.map(store.spent, (spent) => {
    const byModel: Record<string, number> = {}
    for (const [key, value] of Object.entries(spent)) if (key.startsWith("model:")) byModel[key.slice(6)] = value
    return { global: spent["global"] ?? 0, byModel }
  }),
  reset: store.reset
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
): Layer.Layer<LlmService.LlmService | Budget, LiterLlmError.BadRequest, LlmService.LlmService> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const store = yield* storeOf
      const below = yield* LlmService.LlmService
      const service = yield* make(options)(below).pipe(Effect.provideService(Store, store))
      return Context.make(LlmService.LlmService, service).pipe(Context.add(Budget, view(store)))
    })
  )
