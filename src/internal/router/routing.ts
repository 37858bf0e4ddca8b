/**
 * Per-request routing: settings carried by a `Context.Reference`, so they reach the router from anywhere above it
 * (through any middleware) without an option threaded through every call. The router reads them once per call and
 * checks them against its own deployments: a name it does not have, or tags no deployment carries, is a
 * `BadRequest` for that call — a typo must not silently route everywhere.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as LiterLlmError from "../../LiterLlmError.js"
import type { Groups } from "./groups.js"
import type { Member } from "./members.js"

/** Routing settings for the calls inside an effect. */
export interface Settings {
  /** Only these deployments (by name) may take the request. */
  readonly only?: ReadonlyArray<string> | undefined
  /** These deployments (by name) may not. */
  readonly exclude?: ReadonlyArray<string> | undefined
  /** These deployments are tried first, in this order; the strategy orders the rest. */
  readonly order?: ReadonlyArray<string> | undefined
  /** Only deployments carrying every one of these tags (else those with the router's `defaultTags`). */
  readonly tags?: ReadonlyArray<string> | undefined
  /** The most calls the request may start; replaces the router's `maxAttempts`. */
  readonly maxAttempts?: number | undefined
  /** Time limit of each call; replaces the router's `timeout`. */
  readonly timeout?: Duration.DurationInput | undefined
}

const none: Settings = {}

/** The settings in effect; none unless provided. */
export class Routing extends Context.Reference<Routing>()("effect-liter-llm/Router/Routing", {
  defaultValue: (): Settings => none
}) {}

/** Whether `settings` are the default (nothing to apply). */
export const isNone = (settings: Settings): boolean => settings === none

/**
 * A deployment's call without the settings: they name this router's deployments, so a router serving as one of its
 * deployments must not read them (its names are others). The first router on the way takes them.
 */
export const isolated = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(effect, Routing, none)

/** {@link isolated}, for a stream. */
export const isolatedStream = <A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.provideService(stream, Routing, none)

/** Settings checked against a router. */
export interface Steer {
  /** Per member: passes `only` and `exclude`. */
  readonly allowed: ReadonlyArray<boolean>
  readonly tags: ReadonlyArray<string> | undefined
  readonly prefer: ReadonlyArray<number>
  readonly maxAttempts: number | undefined
  readonly timeout: number | undefined
}

const bad = (message: string) =>
  Either.left(new LiterLlmError.BadRequest({ provider: "router", message: `Router.withRouting: ${message}` }))

const listOf = (names: ReadonlyArray<string>) => names.map((n) => `"${n}"`).join(", ")

const hasAll = (member: Member, tags: ReadonlyArray<string>) => tags.every((t) => member.tags.includes(t))

/** Checks `settings` against the router's members. */
export const compile = (
  members: ReadonlyArray<Member>,
  groups: Groups,
  settings: Settings
): Either.Either<Steer, LiterLlmError.BadRequest> => {
  const byName = new Map(members.map((m) => [m.name, m.index]))
  for (const key of ["only", "exclude", "order"] as const) {
    const names = settings[key]
    if (names === undefined) continue
    if (!Array.isArray(names)) return bad(`${key} must be a list of deployment names`)
    const unknown = names.filter((n) => !byName.has(n))
    if (unknown.length > 0) {
      return bad(`${key} names no deployment of this router: ${listOf(unknown)}; it has ${listOf([...byName.keys()])}`)
    }
  }
  const { maxAttempts, tags } = settings
  if (maxAttempts !== undefined && !(Number.isSafeInteger(maxAttempts) && maxAttempts >= 1)) {
    return bad(`maxAttempts must be a whole number ≥ 1, got ${String(maxAttempts)}`)
  }
  let timeout: number | undefined
  if (settings.timeout !== undefined) {
    const decoded = Duration.decodeUnknown(settings.timeout)
    timeout = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
    const negative = typeof settings.timeout === "string" && settings.timeout.trim().startsWith("-")
    if (!(timeout > 0) || negative || (typeof settings.timeout === "number" && !(settings.timeout > 0))) {
      return bad(`timeout must be a duration > 0, got ${String(settings.timeout)}`)
    }
  }
  if (tags !== undefined) {
    if (!Array.isArray(tags)) return bad("tags must be a list of strings")
    const fallback = groups.defaultTags
    if (tags.length > 0 && !members.some((m) => hasAll(m, tags)) && fallback.length === 0) {
      return bad(`no deployment has all of tags ${listOf(tags)}, and the router has no defaultTags`)
    }
  }
  const only = settings.only === undefined ? undefined : new Set(settings.only)
  const exclude = new Set(settings.exclude ?? [])
  return Either.right({
    allowed: members.map((m) => (only === undefined || only.has(m.name)) && !exclude.has(m.name)),
    tags: tags === undefined || tags.length === 0 ? undefined : tags,
    prefer: (settings.order ?? []).map((n) => byName.get(n)!),
    maxAttempts,
    timeout
  })
}

/**
 * The candidates of group `g` for a request: all of its members without settings (`undefined` when that is every
 * deployment, so a router of one group orders exactly as one without groups), else those the settings allow.
 */
export const candidates = (
  members: ReadonlyArray<Member>,
  groups: Groups,
  steer: Steer | undefined,
  g: number
): ReadonlyArray<number> | undefined => {
  const base = groups.members[g]
  if (steer === undefined) return base.length === members.length ? undefined : base
  const allowed = base.filter((i) => steer.allowed[i])
  if (steer.tags === undefined) return allowed
  const tagged = allowed.filter((i) => hasAll(members[i], steer.tags!))
  if (tagged.length > 0 || groups.defaultTags.length === 0) return tagged
  return allowed.filter((i) => hasAll(members[i], groups.defaultTags))
}

/** Why a request has no candidate at all, for its `BadRequest`. */
export const nothingLeft = (groups: Groups, settings: Settings, group: number): LiterLlmError.BadRequest => {
  const parts = [
    settings.only === undefined ? undefined : `only ${listOf(settings.only)}`,
    settings.exclude === undefined ? undefined : `exclude ${listOf(settings.exclude)}`,
    settings.tags === undefined ? undefined : `tags ${listOf(settings.tags)}`
  ].filter((p) => p !== undefined)
  const where = groups.grouped ? ` serving model "${groups.names[group]}" (or its fallbacks)` : ""
  return new LiterLlmError.BadRequest({
    provider: "router",
    message: `Router.withRouting: ${parts.join(" and ")} leave(s) no deployment${where}; widen the settings`
  })
}

/** Merges nested settings: the inner ones win, field by field. */
export const merge = (outer: Settings, inner: Settings): Settings => (isNone(outer) ? inner : { ...outer, ...inner })
