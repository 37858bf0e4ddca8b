/**
 * Admission: which candidate a request may go to next, decided against the store in one step (its first choice, the
 * next one after a failure, a retry on the same one), whether the call budget allows another call, and which model
 * group the walk enters when its current one has nobody left.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import type * as RouterStore from "../../RouterStore.js"
import type { Admission, Blocked, Core, InFlight, Request, Slot, Walk } from "./attempt.js"
import * as Groups from "./groups.js"
import * as Members from "./members.js"
import * as Order from "./order.js"
import * as Routing from "./routing.js"

const circuitOn = (core: Core) => core.config.rules.circuit !== undefined

/** The time now, by the request's clock (call it where the time is needed, inside a running effect). */
export const nowOf = (request: InFlight) => request.clock.unsafeCurrentTimeMillis()

const admitted = (core: Core, slot: Slot, failover: boolean, turn: boolean): RouterStore.Event => ({
  _tag: "Admitted",
  deployment: core.names[slot.index],
  probe: slot.probe,
  failover,
  turn
})

/** Nobody left to ask (the walk has run through its order). */
export const none: Blocked = { reopen: undefined, full: 0 }

interface Chosen {
  readonly slot: Slot
  readonly order: ReadonlyArray<number>
  readonly pos: number
}

/** A request on its way: what a call does, and the request's own routing. */
export interface Routed<A> extends Request<A> {
  readonly cost: Order.CostInput | undefined
  readonly steer: Routing.Steer | undefined
}

/** Orders the candidates and admits the request to the first admissible one, in one store step. */
export const choose = <A>(request: Routed<A>, input: Order.Input): Effect.Effect<Admission> => {
  const { core, steer } = request
  const decided = core.store.modify(
    core.names,
    (snapshot): readonly [Either.Either<Chosen, Blocked>, ReadonlyArray<RouterStore.Event>] => {
      const strategic = core.order(snapshot, input)
      const ordered = steer === undefined ? strategic : Order.prefer(strategic, steer.prefer)
      const order = input.unhealthy === undefined ? ordered : Order.demoteUnhealthy(ordered, input.unhealthy)
      const first = Order.firstAdmissible(core.members, snapshot, order, 0, circuitOn(core), input.now)
      if (first === undefined) {
        const full = order.filter((i) => snapshot.deployments[i].inFlight >= core.members[i].maxConcurrency).length
        const blocked: Blocked = { reopen: Order.earliestReopen(snapshot, input.now), full }
        return [Either.left(blocked), []]
      }
      const slot = { index: order[first.pos], probe: first.probe }
      return [Either.right({ slot, order, pos: first.pos }), [admitted(core, slot, false, true)]]
    }
  )
  return Effect.flatMap(decided, (chosen): Effect.Effect<Admission> => {
    if (Either.isLeft(chosen)) return Effect.succeed(Either.left(chosen.left))
    const { order, pos, slot } = chosen.right
    return Effect.as(
      Ref.update(request.walk, (w) => ({ ...w, order, pos, tries: w.tries + 1 })),
      Either.right(slot)
    )
  })
}

/** Admits the request to the next admissible candidate after the one tried last, counting a failover. */
export const admitNext = <A>(request: Request<A>): Effect.Effect<Admission> => {
  const { core } = request
  const admit = (now: number, walk: Walk) =>
    core.store.modify(core.names, (snapshot) => {
      const found = Order.firstAdmissible(core.members, snapshot, walk.order, walk.pos + 1, circuitOn(core), now)
      if (found === undefined) return [undefined, []] as const
      const slot = { index: walk.order[found.pos], probe: found.probe }
      return [{ slot, pos: found.pos }, [admitted(core, slot, true, false)]] as const
    })
  return Effect.flatMap(Ref.get(request.walk), (walk) =>
    Effect.flatMap(admit(nowOf(request), walk), (next): Effect.Effect<Admission> => {
      if (next === undefined) return Effect.succeed(Either.left(none))
      return Effect.as(
        Ref.update(request.walk, (w) => ({ ...w, pos: next.pos, tries: w.tries + 1 })),
        Either.right(next.slot)
      )
    })
  )
}

/** A retry on the same deployment: the caller's own schedule, so it is not subject to admission again. */
export const readmit = <A>(request: Request<A>, slot: Slot): Effect.Effect<Admission> =>
  Effect.zipRight(
    Effect.zipRight(
      request.core.store.write([admitted(request.core, { index: slot.index, probe: false }, false, false)]),
      Ref.update(request.walk, (w) => ({ ...w, tries: w.tries + 1 }))
    ),
    Effect.succeed(Either.right({ index: slot.index, probe: false }))
  )

/** Whether another call may start now: under `maxAttempts`, and `wait` millis from now before the deadline. */
export const budgetLeft = <A>(request: Request<A>, wait: number) =>
  Effect.map(
    Ref.get(request.walk),
    (walk) => walk.tries < request.maxAttempts && nowOf(request) + wait < request.deadlineAt
  )

/** The candidates of the next group of the plan that has any (the walk moves there), or undefined if none is left. */
export const nextGroup = <A>(request: Routed<A>) =>
  Ref.modify(request.walk, (w): readonly [{ readonly within: ReadonlyArray<number> | undefined } | undefined, Walk] => {
    const { groups, members } = request.core
    let { pending, visited } = w
    while (pending.length > 0) {
      const group = pending[0]
      visited = [...visited, group]
      pending = Groups.enqueue(groups, pending.slice(1), group, visited)
      const within = Routing.candidates(members, groups, request.steer, group)
      if (within === undefined || within.length > 0) return [{ within }, { ...w, group, pending, visited }]
    }
    return [undefined, { ...w, pending, visited }]
  })

/** Both reasons nobody could be admitted: the earliest reopening, and every full deployment. */
export const both = (a: Blocked, b: Blocked): Blocked => {
  if (a === noCandidates) return b
  const reopen = a.reopen === undefined ? b.reopen : b.reopen === undefined ? a.reopen : Math.min(a.reopen, b.reopen)
  return { reopen, full: a.full + b.full }
}

/** No group of the plan had a candidate for the request's routing settings. */
export const noCandidates: Blocked = { reopen: undefined, full: 0 }

/** What an ordering needs for this request: a draw for weighted random, health where deployments report it. */
export const inputOf = <A>(request: Routed<A>, now: number, within: ReadonlyArray<number> | undefined) => {
  const { config, members } = request.core
  const { cost } = request
  if (!config.needsDraw && !request.core.healthChecked) {
    return Effect.succeed<Order.Input>({ now, draw: 0, cost, unhealthy: undefined, within })
  }
  return Effect.zipWith(
    config.needsDraw ? Random.next : Effect.succeed(0),
    request.core.healthChecked ? Members.unhealthy(members) : Effect.succeed(undefined),
    (draw, unhealthy): Order.Input => ({ now, draw, cost, unhealthy, within })
  )
}
