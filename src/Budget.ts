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
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Chat from "./Chat.js"
import type * as Embedding from "./Embedding.js"
import * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import * as Pricing from "./Pricing.js"
import { estimateEmbeddingTokens, priceBook } from "./internal/middleware/cost.js"
import { bracket } from "./internal/middleware/bracket.js"
import { accountStream } from "./internal/middleware/stream.js"
import { wrap } from "./internal/middleware/wrap.js"
import { estimatePromptTokens, expectedCompletionTokens } from "./internal/tokens.js"

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

interface State {
  readonly spent: number
  readonly byModel: Readonly<Record<string, number>>
  readonly reserved: number
  readonly reservedByModel: Readonly<Record<string, number>>
  /** Reservations not yet settled; when it drops to zero the reserved sums are reset to exactly 0. */
  readonly inFlight: number
}

const emptyState: State = { spent: 0, byModel: {}, reserved: 0, reservedByModel: {}, inFlight: 0 }

interface Reservation {
  readonly model: string
  readonly estimate: number
}

const usd = (n: number): string => `$${n.toFixed(n >= 1 ? 2 : 6)}`

/**
 * A budget and the function that puts a service under it. Each call to `make` owns fresh state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<{ readonly budget: Service; readonly wrap: (service: LlmService.Service) => LlmService.Service }> =>
  Effect.gen(function* () {
    const state = yield* Ref.make(emptyState)
    const hard = (options.enforcement ?? "hard") === "hard"
    const book = priceBook(options.prices)

    /** The first limit this estimate would pass, given the state; `undefined` when it fits. */
    const check = (s: State, model: string, estimate: number): LiterLlmError.BudgetExceeded | undefined => {
      const over = (limit: number, spent: number, reserved: number, scope: string, name: string | undefined) =>
        spent >= limit || spent + reserved + estimate > limit
          ? new LiterLlmError.BudgetExceeded({
              model: name,
              limit,
              spent,
              message: `the ${scope} budget of ${usd(limit)} would be passed: ${usd(spent)} spent, ${usd(reserved)} reserved by calls in flight, this call estimated at ${usd(estimate)}; raise the limit, lower max_tokens, or reset the budget`
            })
          : undefined
      if (options.globalLimit !== undefined) {
        const exceeded = over(options.globalLimit, s.spent, s.reserved, "global", undefined)
        if (exceeded !== undefined) return exceeded
      }
      const modelLimit = options.modelLimits?.[model]
      if (modelLimit !== undefined) {
        return over(modelLimit, s.byModel[model] ?? 0, s.reservedByModel[model] ?? 0, `"${model}"`, model)
      }
      return undefined
    }

    const reserve = (model: string, estimate: number): Effect.Effect<Reservation, LiterLlmError.BudgetExceeded> =>
      Effect.flatMap(
        Ref.modify(state, (s): [LiterLlmError.BudgetExceeded | undefined, State] => {
          const exceeded = check(s, model, estimate)
          if (exceeded !== undefined && hard) return [exceeded, s]
          return [
            exceeded,
            {
              ...s,
              reserved: s.reserved + estimate,
              reservedByModel: { ...s.reservedByModel, [model]: (s.reservedByModel[model] ?? 0) + estimate },
              inFlight: s.inFlight + 1
            }
          ]
        }),
        (exceeded) =>
          exceeded === undefined
            ? Effect.succeed({ model, estimate })
            : hard
              ? Effect.fail(exceeded)
              : Effect.as(
                  Effect.logWarning(`budget exceeded (soft enforcement, call let through): ${exceeded.message}`),
                  { model, estimate }
                )
      )

    /** Replaces a reservation by the real cost. */
    const settle = (reservation: Reservation, reported: number): Effect.Effect<void> =>
      Ref.update(state, (s) => {
        // Usage that prices to nonsense (NaN, negative) is charged at the estimate: NaN would disable the limit.
        const cost = Number.isFinite(reported) && reported >= 0 ? reported : reservation.estimate
        const inFlight = s.inFlight - 1
        const modelReserved = (s.reservedByModel[reservation.model] ?? 0) - reservation.estimate
        return {
          spent: s.spent + cost,
          byModel:
            cost === 0 ? s.byModel : { ...s.byModel, [reservation.model]: (s.byModel[reservation.model] ?? 0) + cost },
          reserved: inFlight === 0 ? 0 : Math.max(0, s.reserved - reservation.estimate),
          reservedByModel: {
            ...s.reservedByModel,
            [reservation.model]: inFlight === 0 ? 0 : Math.max(0, modelReserved)
          },
          inFlight
        }
      })

    const unpriced = (model: string) =>
      Effect.logDebug(`no price is known for model "${model}"; the budget counts its calls as free (set Budget prices)`)

    /** The estimated cost of a chat request; `undefined` when its model has no known price. */
    const chatEstimate = (request: Chat.ChatCompletionRequest): number | undefined => {
      const pricing = book.pricing(request.model)
      return Option.isNone(pricing)
        ? undefined
        : Pricing.costOf(pricing.value, {
            promptTokens: estimatePromptTokens(request),
            completionTokens: expectedCompletionTokens(request)
          })
    }

    /** Reserves a chat request's estimate, saying first (at debug level) when its model is unpriced. */
    const reserveChat = (
      request: Chat.ChatCompletionRequest
    ): Effect.Effect<Reservation, LiterLlmError.BudgetExceeded> => {
      const estimate = chatEstimate(request)
      return estimate === undefined
        ? Effect.zipRight(unpriced(request.model), reserve(request.model, 0))
        : reserve(request.model, estimate)
    }

    const chatCost = (request: Chat.ChatCompletionRequest, model: string | undefined, usage: Chat.Usage): number =>
      Option.getOrElse(
        Option.orElse(book.cost(request.model, usage), () =>
          model === undefined ? Option.none() : book.cost(model, usage)
        ),
        () => 0
      )

    const wrapService = (service: LlmService.Service): LlmService.Service =>
      wrap(service, {
        chat: (request) =>
          bracket(
            reserveChat(request),
            () => service.chat(request),
            (reservation, exit) =>
              settle(
                reservation,
                Exit.isSuccess(exit)
                  ? exit.value.usage == null
                    ? reservation.estimate
                    : chatCost(request, exit.value.model, exit.value.usage)
                  : 0
              )
          ),
        chatStream: (request) =>
          accountStream(
            reserveChat(request),
            () => service.chatStream(request),
            (reservation, outcome) =>
              settle(
                reservation,
                outcome.usage !== undefined
                  ? chatCost(request, undefined, outcome.usage)
                  : outcome._tag === "Completed"
                    ? reservation.estimate
                    : 0
              )
          ),
        embed: (request: Embedding.EmbeddingRequest) => {
          const pricing = book.pricing(request.model)
          const priceOf = (tokens: number) =>
            Option.match(pricing, {
              onNone: () => 0,
              onSome: (p) => Pricing.costOf(p, { promptTokens: tokens, completionTokens: 0 })
            })
          return Effect.zipRight(
            Option.isNone(pricing) ? unpriced(request.model) : Effect.void,
            bracket(
              reserve(request.model, priceOf(estimateEmbeddingTokens(request))),
              () => service.embed(request),
              (reservation, exit) =>
                settle(
                  reservation,
                  Exit.isSuccess(exit)
                    ? exit.value.usage == null
                      ? reservation.estimate
                      : priceOf(exit.value.usage.prompt_tokens)
                    : 0
                )
            )
          )
        }
      })

    const budget: Service = {
      spend: Effect.map(Ref.get(state), (s) => ({ global: s.spent, byModel: s.byModel })),
      reset: Ref.update(state, (s) => ({ ...s, spent: 0, byModel: {} }))
    }
    return { budget, wrap: wrapService }
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
