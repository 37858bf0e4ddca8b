/**
 * Checks across sections that a schema of each field cannot make: deployment names unique across the file, every
 * group a fallback or a key names exists, key names unique. They read the raw parsed file defensively, so they run
 * even when the schema finds other problems, and the file's author sees everything wrong in one go. Provider names
 * are checked against the registry here too, so a typo is a problem at its path rather than a failed start.
 */
import * as Provider from "../../providers/Provider.js"

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const entries = (value: unknown): ReadonlyArray<readonly [string, unknown]> =>
  isRecord(value) ? Object.entries(value) : []

const items = (value: unknown): ReadonlyArray<unknown> => (Array.isArray(value) ? value : [])

/** The provider names a deployment may give: the registry's, with aliases, and the three clients by name. */
const providerNames = new Set([
  "openai-compatible",
  ...Provider.builtins.flatMap((info) => [info.name, ...(info.aliases ?? [])])
])

/** `groups.gpt-4o[0].name`: a path as the problems print it. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((out, segment) => {
    if (typeof segment === "number") return `${out}[${segment}]`
    const text = String(segment)
    return out === "" ? text : `${out}.${text}`
  }, "")

/** Problems across sections, each `path: what is wrong`. */
export const crossChecks = (file: unknown): ReadonlyArray<string> => {
  if (!isRecord(file)) return []
  const problems: Array<string> = []
  const groups = entries(file.groups)
  if (isRecord(file.groups) && groups.length === 0) problems.push("groups: expected at least one group")
  const known = new Set(groups.map(([name]) => name))

  const seen = new Map<string, string>()
  for (const [group, list] of groups) {
    items(list).forEach((deployment, i) => {
      if (!isRecord(deployment)) return
      const provider = deployment.provider
      if (typeof provider === "string" && !providerNames.has(provider.toLowerCase())) {
        problems.push(
          `${formatPath(["groups", group, i, "provider"])}: unknown provider "${provider}"; use openai-compatible (with baseUrl), anthropic, gemini or a registry name such as openai, groq, ollama`
        )
      }
      if (provider === "openai-compatible" && deployment.baseUrl === undefined) {
        problems.push(`${formatPath(["groups", group, i, "baseUrl"])}: required for provider openai-compatible`)
      }
      if (typeof deployment.name !== "string") return
      const at = formatPath(["groups", group, i, "name"])
      const first = seen.get(deployment.name)
      if (first !== undefined) problems.push(`${at}: "${deployment.name}" is already the name of ${first}`)
      else seen.set(deployment.name, formatPath(["groups", group, i]))
    })
  }

  const unknownGroup = (at: string, name: unknown) => {
    if (typeof name === "string" && groups.length > 0 && !known.has(name)) {
      problems.push(`${at}: no group is named "${name}" (groups: ${[...known].join(", ")})`)
    }
  }
  const router = isRecord(file.router) ? file.router : {}
  for (const option of ["fallbacks", "contextWindowFallbacks", "contentPolicyFallbacks"]) {
    for (const [from, targets] of entries(router[option])) {
      unknownGroup(formatPath(["router", option, from]), from)
      items(targets).forEach((to, i) => unknownGroup(formatPath(["router", option, from, i]), to))
    }
  }

  const keyNames = new Map<string, number>()
  items(file.keys).forEach((key, i) => {
    if (!isRecord(key)) return
    items(key.groups).forEach((group, j) => unknownGroup(formatPath(["keys", i, "groups", j]), group))
    if (typeof key.name !== "string") return
    const first = keyNames.get(key.name)
    if (first !== undefined) problems.push(`keys[${i}].name: "${key.name}" is already the name of keys[${first}]`)
    else keyNames.set(key.name, i)
  })
  return problems
}
