/**
 * The budget's ledger in memory (the default `Budget.Store`) and the middleware that reserves before a call and
 * settles after it (see `Budget.ts` for how it counts).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Budget from "../../Budget.js"
import type * as Chat from "../../Chat.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import * as Pricing from "../../Pricing.js"
import { estimatePromptTokens, expectedCompletionTokens } from "../tokens.js"
import * as Validate from "../validate.js"
import { estimateEmbeddingTokens, priceBook } from "./cost.js"
import * as StreamSettle from "./stream.js"

interface Ledger {
  readonly spent: Readonly<Record<string, number>>
  readonly reserved: Readonly<Record<string, number>>
  /** Reservations not yet settled, per scope: at zero the scope's reserved sum goes back to exactly 0. */
  readonly inFlight: Readonly<Record<string, number>>
}

const empty: Ledger = { spent: {}, reserved: {}, inFlight: {} }

/** The first scope whose limit this estimate would pass. */
const overOf = (ledger: Ledger, scopes: ReadonlyArray<Budget.Scope>, estimate: number): Budget.Over | undefined => {
  for (const { key, limit } of scopes) {
    if (limit === undefined) continue
    const spent = ledger.spent[key] ?? 0
    const reserved = ledger.reserved[key] ?? 0
    if (spent >= limit || spent + reserved + estimate > limit) return { scope: key, limit, spent, reserved }
  }
  return undefined
}

const reserveIn = (
  ledger: Ledger,
  scopes: ReadonlyArray<Budget.Scope>,
  estimate: number,
  enforce: boolean
): [Budget.Admission, Ledger] => {
  const over = overOf(ledger, scopes, estimate)
  if (over !== undefined && enforce) return [{ _tag: "Refused", over }, ledger]
  const reserved = { ...ledger.reserved }
  const inFlight = { ...ledger.inFlight }
  for (const { key } of scopes) {
    reserved[key] = (reserved[key] ?? 0) + estimate
    inFlight[key] = (inFlight[key] ?? 0) + 1
  }
  const reservation = { scopes: scopes.map((scope) => scope.key), estimate }
  return [
    { _tag: "Reserved", reservation, over },
    { spent: ledger.spent, reserved, inFlight }
  ]
}

const settleIn = (ledger: Ledger, reservation: Budget.Reservation, cost: number): Ledger => {
  const spent = { ...ledger.spent }
  const reserved = { ...ledger.reserved }
  const inFlight = { ...ledger.inFlight }
  for (const key of reservation.scopes) {
    if (cost !== 0) spent[key] = (spent[key] ?? 0) + cost
    const left = (inFlight[key] ?? 1) - 1
    if (left <= 0) {
      delete inFlight[key]
      delete reserved[key]
    } else {
      inFlight[key] = left
      reserved[key] = Math.max(0, (reserved[key] ?? 0) - reservation.estimate)
    }
  }
  return { spent, reserved, inFlight }
}

/** A ledger in memory, on a `Ref`: each reservation is checked and taken in one `Ref.modify`. */
export const memoryStore: Effect.Effect<Budget.StoreService> = Effect.map(Ref.make(empty), (ledger) => ({
  reserve: (scopes, estimate, enforce) => Ref.modify(ledger, (l) => reserveIn(l, scopes, estimate, enforce)),
  settle: (reservation, cost) => Ref.update(ledger, (l) => settleIn(l, reservation, cost)),
  spent: Effect.map(Ref.get(ledger), (l) => l.spent),
  reset: Ref.update(ledger, (l) => ({ ...l, spent: {} }))
}))

const usd = (n: number): string => `$${n.toFixed(n >= 1 ? 2 : 6)}`

/** The scope key of a model's spend. */
export const modelScope = (model: string) => `model:${model}`

/** Puts `below` under a budget kept in `store`. */
export const make = (options: Budget.Options, store: Budget.StoreService) => (below: LlmService.Service) => {
  const enforce = (options.enforcement ?? "hard") === "hard"
  const book = priceBook(options.prices)
  const scopesOf = (model: string): ReadonlyArray<Budget.Scope> => [
    { key: "global", limit: options.globalLimit },
    { key: modelScope(model), limit: options.modelLimits?.[model] }
  ]

  const exceeded = (over: Budget.Over, estimate: number) => {
    const model = over.scope === "global" ? undefined : over.scope.slice("model:".length)
    return new LiterLlmError.BudgetExceeded({
      model,
      limit: over.limit,
      spent: over.spent,
      message: `the ${model === undefined ? "global" : `"${model}"`} budget of ${usd(over.limit)} would be passed: ${usd(over.spent)} spent, ${usd(over.reserved)} reserved by calls in flight, this call estimated at ${usd(estimate)}; raise the limit, lower max_tokens, or reset the budget`
    })
  }

  /** Reserves `estimate` for `model`: refuses (hard), or warns and lets the call through (soft). */
  const reserve = (model: string, estimate: number) =>
    Effect.flatMap(store.reserve(scopesOf(model), estimate, enforce), (admission) => {
      if (admission._tag === "Refused") return Effect.fail(exceeded(admission.over, estimate))
      if (admission.over === undefined) return Effect.succeed(admission.reservation)
      const warning = `budget exceeded (soft enforcement, call let through): ${exceeded(admission.over, estimate).message}`
      return Effect.as(Effect.logWarning(warning), admission.reservation)
    })

  /** The price of `model`; one without a price is budgeted at 0, and a debug log says so where one will look. */
  const priced = (model: string): Effect.Effect<Option.Option<Pricing.ModelPricing>> => {
    const pricing = book.pricing(model)
    if (Option.isSome(pricing)) return Effect.succeed(pricing)
    const why = `no price is known for model "${model}"; the budget counts its calls as free (set Budget prices)`
    return Effect.as(Effect.logDebug(why), pricing)
  }
  const costOf = (pricing: Option.Option<Pricing.ModelPricing>, tokens: Pricing.TokenCounts) =>
    Option.match(pricing, { onNone: () => 0, onSome: (p) => Pricing.costOf(p, tokens) })

  /** Checks the request (before any estimate reads it), then reserves its estimated cost. */
  const admit = (
    model: string,
    check: Effect.Effect<void, LiterLlmError.BadRequest>,
    tokens: () => Pricing.TokenCounts
  ) =>
    check.pipe(
      Effect.zipRight(priced(model)),
      Effect.flatMap((pricing) => reserve(model, costOf(pricing, tokens())))
    )
  const admitChat = (request: Chat.ChatCompletionRequest) =>
    admit(request.model, Validate.chat(request), () => ({
      promptTokens: estimatePromptTokens(request),
      completionTokens: expectedCompletionTokens(request)
    }))

  /** Charged at the requested model's price, else at the answering model's, else free. */
  const chatCost = (request: Chat.ChatCompletionRequest, model: string | undefined, usage: Chat.Usage) =>
    Option.match(
      Option.orElse(book.pricing(request.model), () => book.pricing(model ?? request.model)),
      {
        onNone: () => 0,
        onSome: (p) => Pricing.costOfUsage(p, usage)
      }
    )

  // A failed call is charged nothing, a success without usage its estimate. Usage that prices to nonsense (NaN,
  // negative) is charged at the estimate too: NaN would disable the limit for good.
  const settle = (reservation: Budget.Reservation, cost: number | undefined) =>
    store.settle(reservation, cost !== undefined && Number.isFinite(cost) && cost >= 0 ? cost : reservation.estimate)

  const service: LlmService.Service = {
    ...below,
    chat: (request) =>
      Effect.acquireUseRelease(
        admitChat(request),
        () => below.chat(request),
        (reservation, exit) =>
          settle(
            reservation,
            Exit.match(exit, {
              onFailure: () => 0,
              onSuccess: (r) => (r.usage == null ? undefined : chatCost(request, r.model, r.usage))
            })
          )
      ),
    embed: (request) =>
      Effect.acquireUseRelease(
        admit(request.model, Validate.embedding(request), () => ({
          promptTokens: estimateEmbeddingTokens(request),
          completionTokens: 0
        })),
        () => below.embed(request),
        (reservation, exit) =>
          settle(
            reservation,
            Exit.match(exit, {
              onFailure: () => 0,
              onSuccess: (r) =>
                r.usage == null
                  ? undefined
                  : costOf(book.pricing(request.model), { promptTokens: r.usage.prompt_tokens, completionTokens: 0 })
            })
          )
      ),
    chatStream: (request) =>
      StreamSettle.settle(
        admitChat(request),
        () => below.chatStream(request),
        (reservation, outcome) => {
          const usage = StreamSettle.usageOf(outcome)
          const cost = usage !== undefined ? chatCost(request, undefined, usage) : undefined
          return settle(reservation, cost ?? (outcome._tag === "Completed" ? undefined : 0))
        }
      )
  }
  return service
}
