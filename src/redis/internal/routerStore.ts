/**
 * `RouterStore` on Redis: routers in many processes share circuits, latency averages, counters and the round-robin
 * turn, at no Redis round trip on a routed request's path (one in a while for a half-open probe).
 *
 * Decisions:
 * - **A local copy, synced in the background.** Requests decide on the copy and apply their events to it at once (as
 *   the memory store does); every `refresh` (default 100 ms, so other processes' changes arrive well within a
 *   second) one script writes this process's pending events and reads every known deployment back. Under load that
 *   is one round trip per hundreds of requests.
 * - **`evolve` in TypeScript, compare-and-set in Lua.** The transitions are defined once, in `RouterStore.evolve`;
 *   rewriting them in Lua would be a second definition to keep equal. A sync writes the states its events lead to,
 *   each only if its key's version is still the one read; on a conflict the events are applied again to the fresher
 *   state, so concurrent processes never lose each other's updates. A batch retried after a timeout is recognized by
 *   its sequence number and not applied twice.
 * - **The probe is exact.** A request about to become a circuit's half-open probe first takes a lease (SET NX PX on
 *   the deployment's probe key); if another process holds it, the decision is made again with that circuit marked
 *   probing. The lease is released with the probe's outcome (a success closes the circuit for everyone at their next
 *   sync), or expires after `probeLease` if its process died. The key, not the stored flag, says who probes.
 * - **Redis time for shared instants.** Stored instants (cooldown ends, window starts, sample times) are Redis
 *   `TIME`; the copy holds them in the local `Clock`'s time, translated by an offset measured at a sync and kept for
 *   a minute of Redis time (so a `TestClock` that jumps does not drag it along), then measured again.
 * - **Redis down: serve from the copy.** A failed sync leaves the events pending and tries again at the next tick;
 *   the connection logs the outage once and `status` shows it. A lease that cannot be taken counts as taken.
 * - **In-flight counts are per process** (so `maxConcurrency` and least-busy are too): a shared count would keep a
 *   dead process's calls counted for as long as the key lives.
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as RouterStore from "../../RouterStore.js"
import type { Connection } from "./connection.js"
import * as Scripts from "./routerScripts.js"
import * as State from "./routerState.js"

/** Settings of the Redis router store, in millis. */
export interface Settings {
  /** How often the copy is synced with Redis. */
  readonly refresh: number
  /** How long a probe lease lasts when its process never releases it. */
  readonly probeLease: number
  /** The TTL of every key, renewed at each write. */
  readonly ttl: number
}

export const defaults: Settings = { refresh: 100, probeLease: 60_000, ttl: 86_400_000 }

/** How long an offset between Redis time and the local clock is kept before it is measured again. */
const reanchorAfter = 60_000
/** The most events kept for Redis during an outage; older ones are dropped (the copy has them). */
const maxPending = 200_000
/** Conflicting writes retried within one sync. */
const conflictRetries = 3

/** A built store: the service, a sync to run at once, and how many events wait for Redis (for tests). */
export interface Built {
  readonly service: RouterStore.Service
  readonly sync: Effect.Effect<void>
  readonly pending: Effect.Effect<number>
}

/** An offset between Redis time and the local clock, and the Redis time it was measured at. */
interface Anchor {
  readonly offset: number
  readonly at: number
  /** The round trip it was measured over (local millis). */
  readonly rtt: number
}

type Decision<A> =
  | { readonly _tag: "Done"; readonly value: A; readonly probes: ReadonlyArray<string> }
  | { readonly _tag: "Claim"; readonly name: string }

/** The Redis router store on `connection`, syncing until the scope closes. */
export const make = (connection: Connection, settings: Settings = defaults): Effect.Effect<Built, never, Scope.Scope> =>
  Effect.gen(function* () {
    const local = yield* Ref.make(State.empty)
    /** Probe leases taken whose outcome has not been written yet: deployment → lease. */
    const held = yield* Ref.make<ReadonlyMap<string, string>>(new Map())
    /** A batch sent and not known to be applied: it is sent again, same number and events, until it is. */
    const outstanding = yield* Ref.make<{ readonly seq: number; readonly count: number } | undefined>(undefined)
    const sequence = yield* Ref.make(0)
    const anchor = yield* Ref.make<Anchor | undefined>(undefined)
    const logged = yield* Ref.make<ReadonlySet<string>>(new Set())
    const lock = yield* Effect.makeSemaphore(1)
    const token =
      (yield* Random.nextIntBetween(0, 2 ** 31)).toString(36) + (yield* Clock.currentTimeMillis).toString(36)
    const leases = yield* Ref.make(0)

    const encodeName = (name: string) => encodeURIComponent(name)
    const stateKey = (name: string) => connection.key("router", "d", encodeName(name))
    const probeKey = (name: string) => connection.key("router", "p", encodeName(name))
    const metaKey = connection.key("router", "meta")
    const seqKey = connection.key("router", "seq", token)
    const runSync = connection.script("routerSync", Scripts.sync)
    const runRelease = connection.script("routerRelease", Scripts.release)

    const warnOnce = (key: string, message: string) =>
      Effect.flatMap(
        Ref.modify(logged, (seen): [boolean, ReadonlySet<string>] =>
          seen.has(key) ? [false, seen] : [true, new Set(seen).add(key)]
        ),
        (fresh) => (fresh ? Effect.logWarning(message) : Effect.void)
      )

    /**
     * The offset to use, given one just measured at Redis time `redisNow` over a round trip of `rtt` local millis.
     * A measurement is off by at most half its round trip, so a later one with a shorter round trip that agrees
     * within both errors replaces it; one that disagrees more (a `TestClock` that jumped) waits for the minute.
     */
    const offsetFor = (measured: number, rtt: number, redisNow: number) =>
      Ref.modify(anchor, (a): [number, Anchor | undefined] => {
        const fresh = { offset: measured, at: redisNow, rtt }
        if (a === undefined || redisNow - a.at >= reanchorAfter || redisNow < a.at) return [measured, fresh]
        const agrees = Math.abs(measured - a.offset) <= (a.rtt + rtt) / 2 + 1
        return rtt < a.rtt && agrees ? [measured, { ...fresh, at: a.at }] : [a.offset, a]
      })

    /** A sync's reply as the new base; a malformed reply is logged and left out, a malformed state counts as new. */
    const parse = (raw: unknown, names: ReadonlyArray<string>, offset: (redisNow: number) => Effect.Effect<number>) =>
      Effect.gen(function* () {
        const reply = Scripts.readSync(raw, names.length)
        if (reply === undefined) {
          yield* warnOnce("reply", "Redis router store: a sync got a malformed reply; keeping the local copy")
          return { status: -1, read: undefined }
        }
        const shift = yield* offset(reply.redisNow)
        const base = yield* Effect.forEach(reply.deployments, ({ probe, text, version }, i) => {
          const stored = text === "" ? undefined : State.decode(text)
          const entry = { version, state: stored ?? State.shift(RouterStore.initial, shift), probing: probe }
          if (text === "" || stored !== undefined) return Effect.succeed(entry)
          const message = `Redis router store: the stored state of deployment "${names[i]}" is malformed; treating it as new`
          return Effect.as(warnOnce(`state:${names[i]}`, message), entry)
        })
        const read: State.Read = { base, turn: reply.turn, failovers: reply.failovers, offset: shift }
        return { status: reply.status, read }
      })

    /** One attempt at writing the first `count` pending events (none: only read). */
    const exchange = (seq: number | undefined, count: number) =>
      Effect.gen(function* () {
        const l = yield* Ref.get(local)
        const writes = State.writesOf(l, count)
        const taken = yield* Ref.get(held)
        const releasing = new Set<string>()
        for (const e of Chunk.take(l.pending, count)) if (e._tag === "Settled" && e.probe) releasing.add(e.deployment)
        const keys = [metaKey, seqKey, ...l.names.flatMap((name) => [stateKey(name), probeKey(name)])]
        const args: Array<string | number> = [settings.ttl, seq ?? "", writes.turns, writes.failovers]
        l.names.forEach((name, i) => {
          const next = writes.states[i]
          args.push(next === undefined ? "" : l.base[i].version, next === undefined ? "" : State.encode(next))
          args.push(releasing.has(name) ? (taken.get(name) ?? "") : "")
        })
        const before = yield* Clock.currentTimeMillis
        const reply = yield* runSync(keys, args)
        const after = yield* Clock.currentTimeMillis
        const parsed = yield* parse(reply, l.names, (redisNow) =>
          offsetFor(Math.round(redisNow - (before + after) / 2), after - before, redisNow)
        )
        if (parsed.read === undefined) return "failed" as const
        const read = parsed.read
        if (parsed.status === 0) {
          yield* Ref.update(local, (now) => State.rebase(now, read, 0))
          return "conflict" as const
        }
        yield* Ref.update(local, (now) => State.rebase(now, read, count))
        yield* Ref.update(held, (m) => {
          const rest = new Map(m)
          for (const name of releasing) if (rest.get(name) === taken.get(name)) rest.delete(name)
          return rest
        })
        return "done" as const
      })

    const trim = Effect.flatMap(
      Ref.modify(local, (l): [boolean, State.Local] =>
        Chunk.size(l.pending) <= maxPending
          ? [false, l]
          : [true, { ...l, pending: Chunk.drop(l.pending, Chunk.size(l.pending) - maxPending) }]
      ),
      (dropped) =>
        dropped
          ? Effect.zipRight(
              Ref.set(outstanding, undefined),
              warnOnce(
                "trim",
                "Redis router store: Redis has been away long; the oldest local events will not reach it"
              )
            )
          : Effect.void
    )

    /** Writes what is pending and reads every known deployment back; on failure the copy serves on. */
    const sync: Effect.Effect<void> = lock.withPermits(1)(
      Effect.gen(function* () {
        yield* trim
        // Events hold local instants, written in Redis time: the offset must be known before the first write.
        if ((yield* Ref.get(anchor)) === undefined && (yield* exchange(undefined, 0)) === "failed") return
        let batch = yield* Ref.get(outstanding)
        if (batch === undefined) {
          const count = Chunk.size((yield* Ref.get(local)).pending)
          if (count > 0) {
            batch = { seq: yield* Ref.updateAndGet(sequence, (n) => n + 1), count }
            yield* Ref.set(outstanding, batch)
          }
        }
        for (let i = 0; i <= conflictRetries; i++) {
          const result = yield* exchange(batch?.seq, batch?.count ?? 0)
          if (result === "done") return yield* Ref.set(outstanding, undefined)
          if (result === "failed") return
        }
      }).pipe(Effect.catchAll(() => Effect.void))
    )

    /** Takes the probe lease of `name`: true when taken (or when Redis cannot say: the copy decides then). */
    const claim = (name: string, lease: string) =>
      connection
        .run((redis) => redis.set(probeKey(name), lease, "PX", settings.probeLease, "NX"))
        .pipe(
          Effect.map((reply) => reply === "OK"),
          Effect.orElseSucceed(() => true)
        )

    const releaseUnused = (name: string, lease: string) =>
      Effect.zipRight(
        runRelease([probeKey(name)], [lease]).pipe(Effect.ignore),
        Ref.update(local, (l) => State.markProbing(l, name, false))
      )

    /** Registers `names`; a process seeing a deployment for the first time syncs first, to decide on shared state. */
    const known = (names: ReadonlyArray<string>) =>
      Effect.flatMap(
        Ref.modify(local, (l): [boolean, State.Local] => {
          const registered = State.register(l, names)
          return [registered !== l, registered]
        }),
        (fresh) => (fresh ? sync : Effect.void)
      )

    const modify = <A>(
      names: ReadonlyArray<string>,
      decide: (snapshot: RouterStore.Snapshot) => readonly [A, ReadonlyArray<RouterStore.Event>]
    ): Effect.Effect<A> =>
      Effect.gen(function* () {
        yield* known(names)
        const claimed = new Map<string, string>()
        // Each turn either finishes or marks one more circuit probing, so it ends within names.length + 1 turns.
        for (let turn = 0; ; turn++) {
          const decision = yield* Ref.modify(local, (l): [Decision<A>, State.Local] => {
            const snapshot = State.view(l, names)
            const [value, events] = decide(claimed.size === 0 ? snapshot : State.freeFor(snapshot, names, claimed))
            const wanted = State.probesOf(events).find((name) => !claimed.has(name))
            // The circuit shows probing while the lease is asked for, so no other call here asks too.
            if (wanted !== undefined && turn <= names.length)
              return [{ _tag: "Claim", name: wanted }, State.markProbing(l, wanted, true)]
            return [{ _tag: "Done", value, probes: State.probesOf(events) }, State.apply(l, events)]
          })
          if (decision._tag === "Done") {
            for (const [name, lease] of claimed) {
              if (decision.probes.includes(name)) yield* Ref.update(held, (m) => new Map(m).set(name, lease))
              else yield* releaseUnused(name, lease)
            }
            return decision.value
          }
          const lease = `${token}:${yield* Ref.updateAndGet(leases, (n) => n + 1)}`
          // Taken: decide again with the lease; held elsewhere: decide again with the circuit left probing.
          if (yield* claim(decision.name, lease)) claimed.set(decision.name, lease)
        }
      })

    const service = RouterStore.RouterStore.of({
      modify,
      write: (events) => Ref.update(local, (l) => State.apply(l, events)),
      snapshot: (names) =>
        Effect.zipRight(
          known(names),
          Effect.map(Ref.get(local), (l) => State.view(l, names))
        ),
      status: Effect.map(connection.status, (s) => ({
        kind: "redis" as const,
        state: s.state,
        since: s.since,
        outages: s.outages
      }))
    })
    yield* Effect.forkScoped(Effect.repeat(sync, Schedule.spaced(Duration.millis(settings.refresh))))
    // What is pending when the scope closes is written if Redis answers (within the connection's timeout).
    yield* Effect.addFinalizer(() => sync)
    return { service, sync, pending: Effect.map(Ref.get(local), (l) => Chunk.size(l.pending)) }
  })
