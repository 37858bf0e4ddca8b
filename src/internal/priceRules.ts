/**
 * genai-prices' model match rules as we use them: a rule compiled once into a predicate over a lower-cased name, and
 * the names a rule spells out exactly (which `priceIndex.ts` puts in a map instead of testing them one by one).
 *
 * @internal
 */
import type { MatchLogic } from "@pydantic/genai-prices"

/** A compiled match rule. */
export type Test = (name: string) => boolean

// A match rule as a predicate over a lower-cased name, with its regular expressions compiled once.
export const compile = (logic: MatchLogic): Test => {
  if ("or" in logic) {
    const inner = logic.or.map(compile)
    return (name) => inner.some((test) => test(name))
  }
  if ("and" in logic) {
    const inner = logic.and.map(compile)
    return (name) => inner.every((test) => test(name))
  }
  if ("equals" in logic) {
    const value = logic.equals.toLowerCase()
    return (name) => name === value
  }
  if ("starts_with" in logic) {
    const value = logic.starts_with.toLowerCase()
    return (name) => name.startsWith(value)
  }
  if ("ends_with" in logic) {
    const value = logic.ends_with.toLowerCase()
    return (name) => name.endsWith(value)
  }
  if ("contains" in logic) {
    const value = logic.contains.toLowerCase()
    return (name) => name.includes(value)
  }
  if ("regex" in logic) {
    const pattern = new RegExp(logic.regex)
    return (name) => pattern.test(name)
  }
  return () => false
}

// The names a rule matches exactly, or undefined when it also matches names it does not spell out.
export const exactNames = (logic: MatchLogic): ReadonlyArray<string> | undefined => {
  if ("equals" in logic) return [logic.equals.toLowerCase()]
  if ("or" in logic) {
    const names: Array<string> = []
    for (const inner of logic.or) {
      const more = exactNames(inner)
      if (more === undefined) return undefined
      names.push(...more)
    }
    return names
  }
  return undefined
}
