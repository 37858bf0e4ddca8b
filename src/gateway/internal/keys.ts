/**
 * Virtual keys: the gateway's `Access` over a master key and the config's `keys`.
 *
 * - Keys are compared as SHA-256 digests with `timingSafeEqual`, against every known key each time: the time a check
 *   takes says nothing about how much of a key was right, nor which key matched. Only digests are kept after start.
 * - A key's limits are the library's own middleware around the shared service: `RateLimit` (rpm, tpm over all the
 *   key's models together) and `Budget` (hard, in USD). They take their store from the context — memory, or Redis
 *   when the gateway has it — through an adapter that files every window and account under the key's id, a digest
 *   of the key (never the key, never its name: a renamed key keeps its spend, a rotated one starts afresh). With
 *   Redis, every worker and host with the same config therefore counts against the same windows and budget.
 * - Keys and digests are never logged or put in errors; a caller is known by its name only.
 * - An expired key is refused like an unknown one (401), with its name and the date, read from `Clock`.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { createHash, timingSafeEqual } from "node:crypto"
import * as Budget from "../../Budget.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import type * as Pricing from "../../Pricing.js"
import * as RateLimit from "../../RateLimit.js"
import * as Access from "../Access.js"
import type * as Config from "../Config.js"
import { budgetUnder, rateLimitUnder } from "./scoped.js"

/** The caller name of the master key. */
export const masterName = "master"

const digest = (secret: string): Buffer => createHash("sha256").update(secret, "utf8").digest()

/** The id a key's windows and spend are filed under: a digest, domain-separated from the one used to compare. */
export const keyId = (secret: Redacted.Redacted<string>): string =>
  `vk:${createHash("sha256")
    .update(`effect-liter-llm/virtual-key:${Redacted.value(secret)}`)
    .digest("hex")
    .slice(0, 32)}`

interface Entry {
  readonly caller: Access.Caller
  readonly digest: Buffer
  readonly expires: number | undefined
  readonly service: LlmService.Service
}

/**
 * Options of {@link make}.
 */
export interface Options {
  readonly service: LlmService.Service
  readonly masterKey?: Redacted.Redacted<string> | undefined
  readonly keys?: ReadonlyArray<Config.KeyConfig> | undefined
  /** Prices by model name for the keys' budgets (the gateway passes its groups' prices). */
  readonly prices?: Readonly<Record<string, Pricing.ModelPricing>> | undefined
}

/** The service a key is served with: the shared one under the key's own rate limit and budget. */
const limited = (key: Config.KeyConfig, options: Options) =>
  Effect.gen(function* () {
    const id = keyId(key.key)
    let service = options.service
    // The rate limit inside the budget, as in `LlmClient`: a call refused for money takes no rate-limit slot.
    if (key.rpm !== undefined || key.tpm !== undefined) {
      const store = yield* RateLimit.Store
      service = yield* RateLimit.make({ rpm: key.rpm, tpm: key.tpm })(service).pipe(
        Effect.provideService(RateLimit.Store, rateLimitUnder(store, id))
      )
    }
    if (key.budget !== undefined) {
      const store = yield* Budget.Store
      // Refusals name the key's budget by the key's name (never the key): "the key "team-a" budget of $10.00 …".
      const name = `key ${JSON.stringify(key.name)}`
      service = yield* Budget.make({ globalLimit: key.budget, name, enforcement: "hard", prices: options.prices })(
        service
      ).pipe(Effect.provideService(Budget.Store, budgetUnder(store, id)))
    }
    return service
  })

/**
 * Builds the access control: each key's service is built once, here; a request only compares digests and picks.
 */
export const make = (options: Options): Effect.Effect<Access.Service, LiterLlmError.BadRequest, Scope.Scope> =>
  Effect.gen(function* () {
    // One memory store for every key (when the context has none), so keys share nothing but the map they live in.
    const budgetStore = yield* Effect.serviceOption(Budget.Store)
    const rateStore = yield* Effect.serviceOption(RateLimit.Store)
    const stores = Effect.provideService(
      Budget.Store,
      Option.isSome(budgetStore) ? budgetStore.value : yield* Budget.memoryStore
    )
    const rates = Effect.provideService(
      RateLimit.Store,
      Option.isSome(rateStore) ? rateStore.value : yield* RateLimit.memoryStore
    )
    const entries: Array<Entry> = []
    if (options.masterKey !== undefined) {
      entries.push({
        caller: { name: masterName, admin: true },
        digest: digest(Redacted.value(options.masterKey)),
        expires: undefined,
        service: options.service
      })
    }
    for (const key of options.keys ?? []) {
      entries.push({
        caller: { name: key.name, groups: key.groups },
        digest: digest(Redacted.value(key.key)),
        expires: key.expires?.getTime(),
        service: yield* limited(key, options).pipe(stores, rates)
      })
    }
    // By the caller object itself (authenticate hands out the entry's own), so no key name can stand for another.
    const services = new Map(entries.map((entry) => [entry.caller, entry.service]))

    const find = (token: string): Entry | undefined => {
      const presented = digest(token)
      let found: Entry | undefined
      // Every entry is compared, whichever matches: no early exit to time.
      for (const entry of entries) if (timingSafeEqual(entry.digest, presented) && found === undefined) found = entry
      return found
    }

    const authenticate = (authorization: string | undefined) =>
      Effect.gen(function* () {
        const token = Access.bearerToken(authorization)
        if (token === undefined) {
          return yield* Effect.fail(Access.unauthorized("no API key: send it as `Authorization: Bearer <key>`"))
        }
        const entry = find(token)
        if (entry === undefined) return yield* Effect.fail(Access.unauthorized("the API key is not valid"))
        if (entry.expires !== undefined && (yield* Clock.currentTimeMillis) >= entry.expires) {
          const day = new Date(entry.expires).toISOString().slice(0, 10)
          return yield* Effect.fail(Access.unauthorized(`the key "${entry.caller.name}" expired on ${day}`))
        }
        return entry.caller
      })

    const serviceFor = (caller: Access.Caller, model: string) => {
      if (caller.groups !== undefined && !caller.groups.includes(model)) {
        const allowed = caller.groups.length === 0 ? "none" : caller.groups.join(", ")
        return Effect.fail(
          Access.forbidden(`the key "${caller.name}" may not use model "${model}"; it may use: ${allowed}`)
        )
      }
      return Effect.succeed(services.get(caller) ?? options.service)
    }

    return { authenticate, serviceFor }
  })
