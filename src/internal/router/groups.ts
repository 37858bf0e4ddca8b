/**
 * Model groups: which deployments serve which public model name, and where a request goes when its group cannot
 * answer. Built and checked once with the router; a request's plan is then plain index arithmetic.
 *
 * Decisions:
 * - A router has groups when any deployment names one; then every deployment must, so no request can silently land
 *   on a deployment nobody meant for that model. A router without groups is one anonymous group of all deployments,
 *   and the request's `model` is not looked at (as before groups existed).
 * - Fallback maps name groups; an unknown name, a blank one, or a cycle fails the build. Cycles are refused even
 *   though a request visits each group once, because a cycle is almost always a typo and would hide the real order.
 * - Fallbacks are followed breadth first: the request's own group, then its fallbacks in the listed order, then
 *   theirs. The user's list for the requested model is the strongest statement of intent, so it comes first.
 * - `contextWindowFallbacks` / `contentPolicyFallbacks` replace what is left of the plan with their groups: once a
 *   prompt is too long for one model, the ordinary fallbacks of that model are unlikely to take it either.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Deployment from "../../Deployment.js"
import * as LiterLlmError from "../../LiterLlmError.js"

/** Fallbacks by group name: a group's fallback groups, in order. */
export type FallbackMap = Readonly<Record<string, ReadonlyArray<string>>>

/** The options that shape groups. */
export interface GroupOptions {
  readonly deployments: ReadonlyArray<Deployment.Deployment<any, any>>
  readonly fallbacks?: FallbackMap | undefined
  readonly contextWindowFallbacks?: FallbackMap | undefined
  readonly contentPolicyFallbacks?: FallbackMap | undefined
  readonly defaultTags?: ReadonlyArray<string> | undefined
  readonly failover?: boolean | undefined
}

/** The groups of a built router; group 0 is the anonymous group of a router without groups. */
export interface Groups {
  readonly grouped: boolean
  readonly names: ReadonlyArray<string>
  readonly index: ReadonlyMap<string, number>
  /** Member indexes of each group, in list order. */
  readonly members: ReadonlyArray<ReadonlyArray<number>>
  /** The group of each member. */
  readonly of: ReadonlyArray<number>
  readonly fallbacks: ReadonlyArray<ReadonlyArray<number>>
  readonly contextWindow: ReadonlyArray<ReadonlyArray<number> | undefined>
  readonly contentPolicy: ReadonlyArray<ReadonlyArray<number> | undefined>
  /** Tags standing in for a request's tags when no deployment of a group has them (empty: none). */
  readonly defaultTags: ReadonlyArray<string>
  /** Some group has context-window or content-policy fallbacks. */
  readonly redirecting: boolean
}

const bad = (message: string) => new LiterLlmError.BadRequest({ provider: "router", message })

const quoted = (names: Iterable<string>) =>
  Array.from(names)
    .map((n) => `"${n}"`)
    .join(", ")

/** The first cycle of a fallback map as "a → b → a", if any. */
const cycleOf = (map: FallbackMap): string | undefined => {
  const done = new Set<string>()
  const visit = (group: string, path: ReadonlyArray<string>): string | undefined => {
    const at = path.indexOf(group)
    if (at >= 0) return [...path.slice(at), group].join(" → ")
    if (done.has(group)) return undefined
    for (const next of map[group] ?? []) {
      const found = visit(next, [...path, group])
      if (found !== undefined) return found
    }
    done.add(group)
    return undefined
  }
  for (const group of Object.keys(map)) {
    const found = visit(group, [])
    if (found !== undefined) return found
  }
  return undefined
}

/** Builds and checks the groups of a router's deployments. */
export const build = (options: GroupOptions): Effect.Effect<Groups, LiterLlmError.BadRequest> =>
  Effect.suspend(() => {
    const { deployments } = options
    const maps = [
      ["fallbacks", options.fallbacks],
      ["contextWindowFallbacks", options.contextWindowFallbacks],
      ["contentPolicyFallbacks", options.contentPolicyFallbacks]
    ] as const
    const named = deployments.filter((d) => d.group !== undefined)
    const grouped = named.length > 0
    const blank = named.find((d) => typeof d.group !== "string" || d.group.trim() === "")
    if (blank !== undefined) {
      return Effect.fail(bad(`deployment "${blank.name}" has a blank group; a group is the public model name to serve`))
    }
    if (grouped && named.length < deployments.length) {
      const without = deployments.filter((d) => d.group === undefined).map((d) => d.name)
      return Effect.fail(
        bad(
          `deployment(s) ${quoted(without)} have no group while others do; give every deployment a group (the model name it serves), or none`
        )
      )
    }
    const names: Array<string> = grouped ? [] : [""]
    const index = new Map<string, number>()
    const members: Array<Array<number>> = grouped ? [] : [deployments.map((_, i) => i)]
    const of = deployments.map((d, i) => {
      if (!grouped) return 0
      const group = d.group as string
      let g = index.get(group)
      if (g === undefined) {
        g = names.push(group) - 1
        index.set(group, g)
        members.push([])
      }
      members[g].push(i)
      return g
    })
    const resolved: Array<Array<ReadonlyArray<number> | undefined>> = []
    for (const [option, map] of maps) {
      const byGroup: Array<ReadonlyArray<number> | undefined> = names.map(() => undefined)
      resolved.push(byGroup)
      // An empty map asks for nothing, so it is fine anywhere (a config file may carry `fallbacks: {}`).
      if (map === undefined || Object.keys(map).length === 0) continue
      if (!grouped) {
        return Effect.fail(
          bad(`${option} names model groups, but no deployment has a group; set Deployment.make({ group }) first`)
        )
      }
      if (options.failover === false) {
        return Effect.fail(bad(`${option} moves requests between deployments, which failover: false turns off`))
      }
      for (const [from, to] of Object.entries(map)) {
        if (!Array.isArray(to)) return Effect.fail(bad(`${option}["${from}"] must be a list of group names`))
        const unknown = [from, ...to].filter((g) => typeof g !== "string" || !index.has(g))
        if (unknown.length > 0) {
          return Effect.fail(
            bad(`${option} names unknown group(s) ${quoted(unknown)}; the groups are ${quoted(names)}`)
          )
        }
        byGroup[index.get(from)!] = to.map((g) => index.get(g)!)
      }
      const cycle = cycleOf(map)
      if (cycle !== undefined)
        return Effect.fail(bad(`${option} has a cycle: ${cycle}; a fallback must lead elsewhere`))
    }
    const defaultTags = options.defaultTags ?? []
    if (defaultTags.length > 0 && !deployments.some((d) => defaultTags.every((t) => d.tags?.includes(t)))) {
      return Effect.fail(
        bad(`no deployment has all of defaultTags ${quoted(defaultTags)}; tag one, or drop the option`)
      )
    }
    return Effect.succeed({
      grouped,
      names,
      index,
      members,
      of,
      fallbacks: resolved[0].map((f) => f ?? []),
      contextWindow: resolved[1],
      contentPolicy: resolved[2],
      defaultTags,
      redirecting: options.contextWindowFallbacks !== undefined || options.contentPolicyFallbacks !== undefined
    })
  })

/** The group a request's model asks for, or `NotFound` naming the groups there are. */
export const find = (groups: Groups, model: string | undefined): Either.Either<number, LiterLlmError.NotFound> => {
  if (!groups.grouped) return Either.right(0)
  const g = model === undefined ? undefined : groups.index.get(model)
  if (g !== undefined) return Either.right(g)
  return Either.left(
    new LiterLlmError.NotFound({
      provider: "router",
      message: `no deployment serves model ${model === undefined ? "(none given)" : `"${model}"`}; this router serves ${quoted(groups.names)}`
    })
  )
}

/** The groups to visit after `visited`, breadth first: what is `pending`, then the fallbacks of `group`. */
export const enqueue = (
  groups: Groups,
  pending: ReadonlyArray<number>,
  group: number,
  visited: ReadonlyArray<number>
): ReadonlyArray<number> => {
  const more = groups.fallbacks[group].filter((g) => !visited.includes(g) && !pending.includes(g))
  return more.length === 0 ? pending : [...pending, ...more]
}
