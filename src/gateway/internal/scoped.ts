/**
 * Store adapters that file a component's state under one id inside a shared store: a virtual key's windows and spend
 * (under its digest), a deployment's rate-limit windows (under its name). The store itself — memory or Redis — is
 * the one in the context, so the same adapter gives per-key limits in one process or across many.
 */
import * as Effect from "effect/Effect"
import type * as Budget from "../../Budget.js"
import type * as RateLimit from "../../RateLimit.js"

/** A rate-limit store whose windows are one window under `id`, whatever the model the middleware keys them by. */
export const rateLimitUnder = (store: RateLimit.StoreService, id: string): RateLimit.StoreService => ({
  acquire: (_model, limits, tokens) => store.acquire(id, limits, tokens),
  settle: store.settle
})

/** A budget store whose accounts live under `id`; refusals name the scope without it. */
export const budgetUnder = (store: Budget.StoreService, id: string): Budget.StoreService => {
  const prefix = `${id}:`
  return {
    reserve: (scopes, estimate, enforce) =>
      Effect.map(
        store.reserve(
          scopes.map((scope) => ({ key: prefix + scope.key, limit: scope.limit })),
          estimate,
          enforce
        ),
        (admission) => {
          const over =
            admission.over === undefined ? undefined : { ...admission.over, scope: unprefix(admission.over.scope) }
          return admission._tag === "Refused" ? { _tag: "Refused", over: over! } : { ...admission, over }
        }
      ),
    settle: store.settle,
    spent: Effect.map(store.spent, (all) => {
      const mine: Record<string, number> = {}
      for (const [key, value] of Object.entries(all)) if (key.startsWith(prefix)) mine[unprefix(key)] = value
      return mine
    }),
    // Never called by `Budget.make`; a store has no reset by prefix, and resetting every key's spend would be wrong.
    reset: Effect.void
  }
  function unprefix(key: string) {
    return key.startsWith(prefix) ? key.slice(prefix.length) : key
  }
}
