/**
 * `Budget.Store` on Redis: spend and open reservations per scope, checked and reserved by one Lua script, so
 * processes sharing the Redis share one budget and concurrent calls cannot both take the last dollar.
 *
 * There is no library for this (@effect/experimental has nothing like reserve/settle), hence the scripts in
 * `budgetLua.ts`. What holds:
 *
 * - **Exact while Redis answers**: in hard mode, settled spend plus open reservations plus the new estimate never
 *   passes a limit, across every process; each call is then charged its real cost at settle.
 * - **Crashes**: a reservation expires after {@link reservationTtl} (a process that died before settling no longer
 *   holds budget); a call still running past it is charged all the same when it settles (a tombstone says it was
 *   open).
 * - **Outages**: a reservation Redis does not answer within the timeout is made in a memory ledger local to this
 *   layer, against the limit minus the spend last seen on Redis and the local spend not yet written there. Each cost
 *   that could not be written (a local reservation's, or a settle that timed out) waits in a local queue and is added
 *   to Redis when it answers again, once: a local call's cost carries a marker key, a Redis reservation is charged
 *   only while open. So nothing is charged twice, and nothing is lost unless this process exits before Redis comes
 *   back. A reservation that timed out is released on Redis when it answers (it may have been made there by a
 *   server that was paused). Not exact during an outage: each process sees only its own spend since the last reply, so together they
 *   may pass a limit by what the others spent meanwhile.
 * - Every key is under the prefix and expires {@link retention} after its last change. `spent` and `reset` walk the
 *   scopes named in one set, building key names in the script: a single Redis, not a cluster.
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Budget from "../../Budget.js"
import * as Lua from "./budgetLua.js"
import { type Connection, StoreUnavailable } from "./connection.js"
import * as Crypto from "node:crypto"

/** How long an unsettled reservation holds budget. */
export const reservationTtl = 15 * 60_000
/** How long a scope is kept after its last change. */
export const retention = 30 * 24 * 60 * 60_000
/** Releases of timed-out reservations kept for Redis at most (costs are always kept). */
const maxQueued = 50_000
/** How long the marker of a cost written after an outage is kept (against writing it twice). */
const markerTtl = 24 * 60 * 60_000

/** A reservation as this store hands it out: its id, and the local one when made during an outage. */
interface Held extends Budget.Reservation {
  readonly id: string
  readonly local: Budget.Reservation | undefined
}

/** A cost waiting to be written to Redis. */
interface Unwritten {
  readonly id: string
  readonly scopes: ReadonlyArray<string>
  readonly cost: number
  readonly local: boolean
}

const isHeld = (reservation: Budget.Reservation): reservation is Held =>
  typeof (reservation as Partial<Held>).id === "string"

const sums = (queue: ReadonlyArray<Unwritten>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const { cost, scopes } of queue) for (const scope of scopes) out[scope] = (out[scope] ?? 0) + cost
  return out
}

/** Reads the reserve script's reply, or `undefined` when it is not what the script returns. */
const replyOf = (reply: unknown, count: number) => {
  if (!Array.isArray(reply) || reply.length !== 4 + count) return undefined
  const numbers = reply.map(Number)
  if (!numbers.every(Number.isFinite)) return undefined
  const [admitted, over, spent, reserved] = numbers as [number, number, number, number]
  return { admitted: admitted === 1, over, spent, reserved, spents: numbers.slice(4) }
}

/** The budget store on `connection`, with a local memory ledger for the calls Redis does not answer. */
export const make = (
  connection: Connection,
  options: { readonly reservationTtl?: number | undefined } = {}
): Effect.Effect<Budget.StoreService> =>
  Effect.gen(function* () {
    yield* connection.preload(Lua.reserve, Lua.settle, Lua.spent, Lua.reset)
    const local = yield* Budget.memoryStore
    // ids must differ across processes: a random part per layer, a counter within it
    const nonce = Crypto.randomBytes(8).toString("hex")
    const counter = yield* Ref.make(0)
    const known = yield* Ref.make<Record<string, number>>({})
    const unwritten = yield* Ref.make<ReadonlyArray<Unwritten>>([])
    const reserveScript = connection.script("budget-reserve", Lua.reserve)
    const settleScript = connection.script("budget-settle", Lua.settle)
    const spentScript = connection.script("budget-spent", Lua.spent)
    const resetScript = connection.script("budget-reset", Lua.reset)
    const scopesKey = connection.key("budget", "scopes")
    const scopeKeys = (scope: string) => [connection.key("budget", scope, "h"), connection.key("budget", scope, "z")]
    const hashPrefix = connection.key("budget", "")

    const reserveRemote = (
      scopes: ReadonlyArray<Budget.Scope>,
      estimate: number,
      enforce: boolean,
      id: string
    ): Effect.Effect<Budget.Admission, StoreUnavailable> =>
      Effect.flatMap(
        reserveScript(
          [scopesKey, ...scopes.flatMap((scope) => scopeKeys(scope.key))],
          [
            id,
            String(estimate),
            enforce ? 1 : 0,
            options.reservationTtl ?? reservationTtl,
            retention,
            ...scopes.flatMap((s) => [s.key, s.limit ?? ""])
          ]
        ),
        (raw) => {
          const reply = replyOf(raw, scopes.length)
          if (reply === undefined) {
            const message = "Redis budget store: an unreadable reply to a reservation; this call is budgeted locally"
            return Effect.zipRight(
              Effect.logWarning(message),
              Effect.fail(new StoreUnavailable({ message, reply: true }))
            )
          }
          const scope = scopes[reply.over - 1]
          const over =
            scope === undefined || scope.limit === undefined
              ? undefined
              : { scope: scope.key, limit: scope.limit, spent: reply.spent, reserved: reply.reserved }
          const seen = Ref.update(known, (k) => {
            const next = { ...k }
            scopes.forEach((s, i) => (next[s.key] = reply.spents[i]!))
            return next
          })
          const held: Held = { scopes: scopes.map((s) => s.key), estimate, id, local: undefined }
          return Effect.as(
            seen,
            reply.admitted || over === undefined
              ? { _tag: "Reserved", reservation: held, over }
              : { _tag: "Refused", over }
          )
        }
      )

    /** Against the limit less what Redis last showed and what this process spent since without writing it. */
    const reserveLocal = (scopes: ReadonlyArray<Budget.Scope>, estimate: number, enforce: boolean, id: string) =>
      Effect.gen(function* () {
        const seen = yield* Ref.get(known)
        const pending = sums(yield* Ref.get(unwritten))
        const before = (key: string) => (seen[key] ?? 0) + (pending[key] ?? 0)
        const adjusted = scopes.map((s) => ({
          key: s.key,
          limit: s.limit === undefined ? undefined : s.limit - before(s.key)
        }))
        const admission = yield* local.reserve(adjusted, estimate, enforce)
        const overOf = (over: Budget.Over): Budget.Over => ({
          ...over,
          limit: over.limit + before(over.scope),
          spent: before(over.scope)
        })
        if (admission._tag === "Refused") return { _tag: "Refused", over: overOf(admission.over) } as const
        const held: Held = { scopes: scopes.map((s) => s.key), estimate, id, local: admission.reservation }
        return {
          _tag: "Reserved",
          reservation: held,
          over: admission.over === undefined ? undefined : overOf(admission.over)
        } as const
      })

    const write = (cost: Unwritten) =>
      settleScript(
        [scopesKey, connection.key("budget", "done", cost.id), ...cost.scopes.flatMap(scopeKeys)],
        [cost.id, String(cost.cost), retention, cost.local ? markerTtl : "", ...cost.scopes]
      )

    /** Writes the costs that waited for Redis; those it still does not take wait again. */
    const flush = Effect.flatMap(Ref.get(unwritten), (queue) =>
      queue.length === 0
        ? Effect.void
        : Effect.flatMap(Ref.getAndSet(unwritten, []), (taken) =>
            Effect.forEach(
              taken,
              (cost) => Effect.catchAll(write(cost), () => Ref.update(unwritten, (q) => [...q, cost])),
              // all at once (pipelined in one write): a server that hangs costs one timeout, not one per cost
              { discard: true, concurrency: "unbounded" }
            )
          )
    )

    const store: Budget.StoreService = {
      reserve: (scopes, estimate, enforce) =>
        Effect.flatMap(
          Ref.modify(counter, (n) => [`${nonce}-${n}`, n + 1] as const),
          (id) =>
            Effect.zipRight(
              flush,
              Effect.catchAll(reserveRemote(scopes, estimate, enforce, id), () =>
                // A reservation that timed out may still be made by a server that was only slow or paused: queue
                // its release, so it does not hold budget until it expires.
                Effect.zipRight(
                  Ref.update(unwritten, (q) =>
                    q.length >= maxQueued ? q : [...q, { id, scopes: scopes.map((s) => s.key), cost: 0, local: false }]
                  ),
                  reserveLocal(scopes, estimate, enforce, id)
                )
              )
            )
        ),
      settle: (reservation, cost) => {
        if (!isHeld(reservation)) return local.settle(reservation, cost)
        const entry: Unwritten = {
          id: reservation.id,
          scopes: reservation.scopes,
          cost: Number.isFinite(cost) && cost > 0 ? cost : 0,
          local: reservation.local !== undefined
        }
        const release = reservation.local === undefined ? Effect.void : local.settle(reservation.local, 0)
        return Effect.zipRight(
          release,
          Effect.catchAll(write(entry), () => Ref.update(unwritten, (q) => [...q, entry]))
        )
      },
      spent: Effect.flatMap(Ref.get(unwritten), (queue) => {
        const pending = sums(queue)
        const withPending = (base: Record<string, number>) => {
          const out = { ...base }
          for (const [scope, cost] of Object.entries(pending)) out[scope] = (out[scope] ?? 0) + cost
          return out
        }
        return spentScript([scopesKey], [hashPrefix]).pipe(
          Effect.map((raw) => {
            const out: Record<string, number> = {}
            const list = Array.isArray(raw) ? raw : []
            for (let i = 0; i + 1 < list.length; i += 2) {
              const value = Number(list[i + 1])
              if (Number.isFinite(value) && value !== 0) out[String(list[i])] = value
            }
            return withPending(out)
          }),
          Effect.catchAll(() => Effect.map(Ref.get(known), withPending))
        )
      }),
      reset: Effect.zipRight(
        Effect.zipRight(
          Ref.set(known, {}),
          Ref.update(unwritten, (q) => q.map((cost) => ({ ...cost, cost: 0 })))
        ),
        Effect.catchAll(resetScript([scopesKey], [hashPrefix]), (error) =>
          Effect.logWarning(`Redis budget store: the reset did not reach Redis (${error.message}); reset again later`)
        )
      )
    }
    return store
  })
