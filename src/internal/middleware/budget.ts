/**
 * The budget as a pipeline piece (see `Budget.ts` for how it counts). The spend and the reservations are plain
 * numbers and maps owned by one piece and changed only in synchronous steps of a calling fiber, so a check and the
 * reservation it allows are one atomic step, and concurrent calls cannot both take the last dollar.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Budget from "../../Budget.js"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import * as Pricing from "../../Pricing.js"
import { estimatePromptTokens, expectedCompletionTokens } from "../tokens.js"
import { estimateEmbeddingTokens, priceBook } from "./cost.js"
import { type Admission, Answer, Await, type Piece } from "./pipeline.js"
import { accountStream } from "./stream.js"

interface Reservation {
  readonly model: string
  readonly estimate: number
}

const usd = (n: number): string => `$${n.toFixed(n >= 1 ? 2 : 6)}`

/** Turns an admission into an effect, for streams (which are not a pipeline call). */
const admissionEffect = <T>(admission: Admission<T, never>): Effect.Effect<T, LiterLlmError.LiterLlmError> =>
  admission instanceof Answer
    ? admission.result
    : admission instanceof Await
      ? Effect.flatMap(admission.next, admissionEffect)
      : Effect.succeed(admission)

/** A budget as a piece, and the service that reads and resets its spend. Each call owns fresh state. */
export const make = (options: Budget.Options = {}): { readonly piece: Piece; readonly budget: Budget.Service } => {
  const hard = (options.enforcement ?? "hard") === "hard"
  const book = priceBook(options.prices)
  let spent = 0
  const byModel = new Map<string, number>()
  let reserved = 0
  const reservedByModel = new Map<string, number>()
  // Reservations not yet settled; when it drops to zero the reserved sums are reset to exactly 0.
  let inFlight = 0

  /** The first limit this estimate would pass; `undefined` when it fits. */
  const check = (model: string, estimate: number): LiterLlmError.BudgetExceeded | undefined => {
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
      const exceeded = over(options.globalLimit, spent, reserved, "global", undefined)
      if (exceeded !== undefined) return exceeded
    }
    const modelLimit = options.modelLimits?.[model]
    if (modelLimit !== undefined) {
      return over(modelLimit, byModel.get(model) ?? 0, reservedByModel.get(model) ?? 0, `"${model}"`, model)
    }
    return undefined
  }

  /** Checks and reserves in one step: the reservation, or a refusal (hard), or the reservation after a warning. */
  const reserve = (model: string, estimate: number): Admission<Reservation, never> => {
    const exceeded = check(model, estimate)
    if (exceeded !== undefined && hard) return new Answer(Exit.fail(exceeded))
    reserved += estimate
    reservedByModel.set(model, (reservedByModel.get(model) ?? 0) + estimate)
    inFlight++
    const reservation: Reservation = { model, estimate }
    return exceeded === undefined
      ? reservation
      : new Await(
          Effect.as(
            Effect.logWarning(`budget exceeded (soft enforcement, call let through): ${exceeded.message}`),
            reservation
          )
        )
  }

  /** Replaces a reservation by the real cost. */
  const settle = (reservation: Reservation, reported: number): void => {
    // Usage that prices to nonsense (NaN, negative) is charged at the estimate: NaN would disable the limit.
    const cost = Number.isFinite(reported) && reported >= 0 ? reported : reservation.estimate
    inFlight--
    spent += cost
    if (cost !== 0) byModel.set(reservation.model, (byModel.get(reservation.model) ?? 0) + cost)
    if (inFlight === 0) {
      reserved = 0
      reservedByModel.clear()
    } else {
      reserved = Math.max(0, reserved - reservation.estimate)
      const left = (reservedByModel.get(reservation.model) ?? 0) - reservation.estimate
      reservedByModel.set(reservation.model, Math.max(0, left))
    }
  }

  const unpriced = (model: string) =>
    Effect.logDebug(`no price is known for model "${model}"; the budget counts its calls as free (set Budget prices)`)

  /** Reserves a chat request's estimate, saying first (at debug level) when its model is unpriced. */
  const reserveChat = (request: Chat.ChatCompletionRequest): Admission<Reservation, never> => {
    const pricing = book.pricing(request.model)
    if (Option.isNone(pricing))
      return new Await(
        Effect.zipRight(
          unpriced(request.model),
          Effect.sync(() => reserve(request.model, 0))
        )
      )
    const estimate = Pricing.costOf(pricing.value, {
      promptTokens: estimatePromptTokens(request),
      completionTokens: expectedCompletionTokens(request)
    })
    return reserve(request.model, estimate)
  }

  /** The price of a chat call's usage: at the requested model's price, else the answering model's, else 0. */
  const chatCost = (request: Chat.ChatCompletionRequest, model: string | undefined, usage: Chat.Usage): number => {
    let pricing = book.pricing(request.model)
    if (Option.isNone(pricing) && model !== undefined) pricing = book.pricing(model)
    return Option.isSome(pricing) ? Pricing.costOfUsage(pricing.value, usage) : 0
  }

  const embedPrice = (model: string, tokens: number): number => {
    const pricing = book.pricing(model)
    return Option.isNone(pricing) ? 0 : Pricing.costOf(pricing.value, { promptTokens: tokens, completionTokens: 0 })
  }

  const reserveEmbed = (request: Embedding.EmbeddingRequest): Admission<Reservation, never> => {
    const estimate = embedPrice(request.model, estimateEmbeddingTokens(request))
    return Option.isNone(book.pricing(request.model))
      ? new Await(
          Effect.zipRight(
            unpriced(request.model),
            Effect.sync(() => reserve(request.model, estimate))
          )
        )
      : reserve(request.model, estimate)
  }

  // A finished call is charged its reported usage at its price, its estimate when it succeeded without usage, nothing
  // when it failed.
  const piece: Piece = {
    chat: {
      enter: (call) => reserveChat(call.request),
      leave: (call, reservation: Reservation, exit) => {
        if (Exit.isFailure(exit)) return settle(reservation, 0)
        const response = exit.value
        settle(
          reservation,
          response.usage == null ? reservation.estimate : chatCost(call.request, response.model, response.usage)
        )
      }
    },
    embed: {
      enter: (call) => reserveEmbed(call.request),
      leave: (call, reservation: Reservation, exit) => {
        if (Exit.isFailure(exit)) return settle(reservation, 0)
        const response = exit.value
        settle(
          reservation,
          response.usage == null ? reservation.estimate : embedPrice(call.request.model, response.usage.prompt_tokens)
        )
      }
    },
    chatStream: (below) => (request) =>
      accountStream(
        Effect.suspend(() => admissionEffect(reserveChat(request))),
        () => below(request),
        (reservation, outcome) =>
          Effect.sync(() =>
            settle(
              reservation,
              outcome.usage !== undefined
                ? chatCost(request, undefined, outcome.usage)
                : outcome._tag === "Completed"
                  ? reservation.estimate
                  : 0
            )
          )
      )
  }

  const budget: Budget.Service = {
    spend: Effect.sync(() => ({ global: spent, byModel: Object.fromEntries(byModel) })),
    reset: Effect.sync(() => {
      spent = 0
      byModel.clear()
    })
  }
  return { piece, budget }
}
