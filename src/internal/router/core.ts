/**
 * Builds a router's core: the options checked, the groups resolved, every deployment's layer built once, the store
 * taken from the context (else a memory store of its own), and the strategy compiled.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Deployment from "../../Deployment.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type * as Router from "../../Router.js"
import * as RouterStore from "../../RouterStore.js"
import type { Core } from "./attempt.js"
import * as Groups from "./groups.js"
import * as Members from "./members.js"
import * as RouterOptions from "./options.js"
import * as Order from "./order.js"

/** The core of a router built from `options`, in the current scope. */
export const make = <D extends Deployment.Deployment<any, any>>(
  options: Router.Options<D>
): Effect.Effect<Core, LiterLlmError.BadRequest | Deployment.Error<D>, Deployment.Context<D> | Scope.Scope> =>
  Effect.gen(function* () {
    const config = yield* RouterOptions.check(options)
    const groups = yield* Groups.build(options)
    const members = yield* Members.build(options.deployments, config.weights, groups.grouped)
    const store = yield* Effect.flatMap(
      Effect.serviceOption(RouterStore.RouterStore),
      Option.match({ onNone: () => RouterStore.makeMemory, onSome: Effect.succeed })
    )
    return {
      members,
      names: members.map((m) => m.name),
      config,
      store,
      order: Order.compile(options.strategy, members, config.rules.circuit !== undefined, config.rules.staleAfter),
      healthChecked: Members.anyHealth(members),
      groups
    }
  })
