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
import * as Ops from "./ops.js"
import { estimateEmbeddingTokens, priceBook } from "./cost.js"
import * as StreamSettle from "./stream.js"

/** One scope's account: settled spend, what calls in flight hold, and how many they are. */
interface Account {
  readonly spent: number
  readonly reserved: number
  /** Reservations not yet settled: at zero the reserved sum goes back to exactly 0. */
  readonly inFlight: number
}

/**
 * Accounts by scope key. A `Map` copied per change rather than records spread per change: scope keys such as
 * `model:gpt-4o` make a record a dictionary, slow to copy, and a call touches two scopes of a handful.
 */
type Ledger = ReadonlyMap<string, Account>

const none: Account = { spent: 0, reserved: 0, inFlight: 0 }

/** The first scope whose limit this estimate would pass. */
const overOf = (ledger: Ledger, scopes: ReadonlyArray<Budget.Scope>, estimate: number): Budget.Over | undefined => {
  for (const { key, limit } of scopes) {
    if (limit === undefined) continue
    const { reserved, spent } = ledger.get(key) ?? none
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
  const next = new Map(ledger)
  const keys: Array<string> = []
  for (const { key } of scopes) {
    const account = next.get(key) ?? none
    next.set(key, { spent: account.spent, reserved: account.reserved + estimate, inFlight: account.inFlight + 1 })
    keys.push(key)
  }
  return [{ _tag: "Reserved", reservation: { scopes: keys, estimate }, over }, next]
}

const settleIn = (ledger: Ledger, reservation: Budget.Reservation, cost: number): Ledger => {
  const next = new Map(ledger)
  for (const key of reservation.scopes) {
    const account = next.get(key) ?? none
    const left = account.inFlight - 1
    next.set(key, {
      spent: account.spent + cost,
      reserved: left <= 0 ? 0 : Math.max(0, account.reserved - reservation.estimate),
      inFlight: Math.max(0, left)
    })
  }
  return next
}

const spentOf = (ledger: Ledger): Record<string, number> => {
  const spent: Record<string, number> = {}
  for (const [key, account] of ledger) if (account.spent !== 0) spent[key] = account.spent
  return spent
}

/** A ledger in memory, on a `Ref`: each reservation is checked and taken in one `Ref.modify`. */
export const memoryStore: Effect.Effect<Budget.StoreService> = Effect.map(Ref.make<Ledger>(new Map()), (ledger) => ({
  reserve: (scopes, estimate, enforce) => Ref.modify(ledger, (l) => reserveIn(l, scopes, estimate, enforce)),
  settle: (reservation, cost) => Ref.update(ledger, (l) => settleIn(l, reservation, cost)),
  spent: Effect.map(Ref.get(ledger), spentOf),
  reset: Ref.update(ledger, (l) => {
    const next = new Map<string, Account>()
    for (const [key, account] of l) if (account.inFlight > 0) next.set(key, { ...account, spent: 0 })
    return next
  })
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
      message: `the ${model === undefined ? (options.name ?? "global") : `"${model}"`} budget of ${usd(over.limit)} would be passed: ${usd(over.spent)} spent, ${usd(over.reserved)} reserved by calls in flight, this call estimated at ${usd(estimate)}; raise the limit, lower max_tokens, or reset the budget`
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

  const costOf = (pricing: Option.Option<Pricing.ModelPricing>, tokens: Pricing.TokenCounts) =>
    Option.match(pricing, { onNone: () => 0, onSome: (p) => Pricing.costOf(p, tokens) })

  /**
   * Checks the request (before any estimate reads it), then reserves its estimated cost. A model without a price is
   * budgeted at 0, and a debug log says so where one will look. Plain code up to the store's one step: this runs on
   * every call.
   */
  const admit = <Q extends { readonly model: string }>(
    request: Q,
    problemOf: (request: Q) => LiterLlmError.BadRequest | undefined,
    tokens: (request: Q) => Pricing.TokenCounts
  ) =>
    Effect.suspend((): Effect.Effect<Budget.Reservation, LiterLlmError.BadRequest | LiterLlmError.BudgetExceeded> => {
      const problem = problemOf(request)
      if (problem !== undefined) return Effect.fail(problem)
      const model = request.model
      const pricing = book.pricing(model)
      const reservation = reserve(model, costOf(pricing, tokens(request)))
      if (Option.isSome(pricing)) return reservation
      const why = `no price is known for model "${model}"; the budget counts its calls as free (set Budget prices)`
      return Effect.zipRight(Effect.logDebug(why), reservation)
    })
  const chatTokens = (request: Chat.ChatCompletionRequest): Pricing.TokenCounts => ({
    promptTokens: estimatePromptTokens(request),
    completionTokens: expectedCompletionTokens(request)
  })
  const admitChat = (request: Chat.ChatCompletionRequest) => admit(request, Validate.chatProblem, chatTokens)

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
    // the other operations reserve their estimated input at the model's token price and settle at the tokens their
    // answer reports; without a token price (or reported tokens) nothing more is known, and nothing is guessed
    ...Ops.wrapAll(
      below,
      (_name, spec, call) => (request) =>
        Effect.acquireUseRelease(
          admit(request, spec.problem, (request) => ({ promptTokens: spec.estimate(request), completionTokens: 0 })),
          () => call(request),
          (reservation, exit) =>
            settle(
              reservation,
              exit._tag === "Failure"
                ? 0
                : // without a price nothing was reserved, and the estimate (0) is what is charged
                  Ops.answerCost(spec, request.model, Option.getOrUndefined(book.pricing(request.model)), exit.value)
            )
        )
    ),
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
        admit(request, Validate.embeddingProblem, (request) => ({
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
