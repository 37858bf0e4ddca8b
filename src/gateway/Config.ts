/**
 * The gateway's config file: YAML or JSON of one shape, decoded with Schema.
 *
 * ```yaml
 * router: { strategy: latency, timeout: 30 seconds, fallbacks: { gpt-4o: [claude-sonnet] } }
 * groups:
 *   gpt-4o:
 *     - { name: openai-eu, provider: openai, model: gpt-4o-2024-11-20, apiKey: env:OPENAI_API_KEY }
 * middleware: { cache: { capacity: 1000, ttl: 5 minutes }, budget: { globalLimit: 100 } }
 * masterKey: env:ELL_MASTER_KEY
 * keys:
 *   - { name: team-a, key: env:TEAM_A_KEY, groups: [gpt-4o], rpm: 60, tpm: 100000, budget: 10, expires: 2027-01-01 }
 * redis: { url: env:REDIS_URL, prefix: "ell:" }
 * ```
 *
 * Decisions:
 * - Every problem at once: the schema runs with `errors: "all"` and the checks across sections (unique deployment
 *   names, fallbacks and keys naming real groups) run beside it, so a file is fixed in one round, not one error at a
 *   time. Each problem is `path: what is wrong` (`groups.gpt-4o[0].apiKey: env var OPENAI_KEY is not set`).
 * - Secrets are `env:NAME` references only, read through Effect's `Config` (the environment, or any
 *   `ConfigProvider`) into `Redacted` values: a file can be committed, and a missing variable fails the start
 *   rather than the first request. A problem never echoes a secret.
 * - Unknown keys are problems: a misspelt `ratelimit:` must not silently mean "no limit".
 * - `.json` files are read as JSON (exact positions in syntax errors), everything else as YAML 1.2, where dates
 *   such as `2027-01-01` stay strings and are decoded here.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { readFile } from "node:fs/promises"
import * as Yaml from "yaml"
import { crossChecks, formatPath } from "./internal/checks.js"
import * as FileSchema from "./internal/schema.js"

/**
 * A decoded config file; secrets are `Redacted`, durations `Duration`s, `expires` a `Date`.
 *
 * @since 0.2.0
 * @category models
 */
export type Config = Schema.Schema.Type<typeof FileSchema.File>

/**
 * One deployment of a group, decoded.
 *
 * @since 0.2.0
 * @category models
 */
export type DeploymentConfig = Schema.Schema.Type<typeof FileSchema.DeploymentSection>

/**
 * One virtual key, decoded.
 *
 * @since 0.2.0
 * @category models
 */
export type KeyConfig = Schema.Schema.Type<typeof FileSchema.KeySection>

/**
 * The schema of the file, for tools that want to check or generate one.
 *
 * @since 0.2.0
 * @category schemas
 */
export const schema = FileSchema.File

/**
 * A config that cannot be used: every problem found, each `path: what is wrong`.
 *
 * @since 0.2.0
 * @category errors
 */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly problems: ReadonlyArray<string>
  readonly message: string
}> {}

const failWith = (source: string, problems: ReadonlyArray<string>) =>
  new ConfigError({
    problems,
    message: `${source}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${problems.map((p) => `  ${p}`).join("\n")}`
  })

/**
 * The schema's issues as `path: message`. A union (`cache: true | {…}`, `circuit: false | {…}`) reports each branch
 * that did not match; where a deeper problem explains the value, the branch's "Expected true" is noise and is left out.
 */
const describe = (error: ParseResult.ParseError): ReadonlyArray<string> => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message
  }))
  const explained = (path: string) =>
    issues.some((other) => other.path.length > path.length && other.path.startsWith(path))
  return issues
    .filter((issue) => !(issue.message.startsWith("Expected ") && explained(issue.path)))
    .map((issue) => (issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`))
}

/**
 * Decodes an already parsed file (the object from YAML or JSON). Fails with every problem.
 *
 * @since 0.2.0
 * @category decoding
 */
export const decode = (input: unknown, source = "config"): Effect.Effect<Config, ConfigError> =>
  Effect.gen(function* () {
    const checked = crossChecks(input)
    const decoded = yield* Effect.either(Schema.decodeUnknown(FileSchema.File)(input, { errors: "all" }))
    const problems = Either.match(decoded, { onLeft: describe, onRight: () => [] })
    const all = [...new Set([...problems, ...checked])]
    if (all.length > 0 || Either.isLeft(decoded)) return yield* Effect.fail(failWith(source, all))
    return decoded.right
  })

/**
 * Parses YAML (or JSON, with `format: "json"`) and decodes it.
 *
 * @since 0.2.0
 * @category decoding
 */
export const parse = (
  text: string,
  options: { readonly format?: "yaml" | "json" | undefined; readonly source?: string | undefined } = {}
): Effect.Effect<Config, ConfigError> => {
  const source = options.source ?? "config"
  return Effect.try({
    try: () => (options.format === "json" ? JSON.parse(text) : Yaml.parse(text, { prettyErrors: true })) as unknown,
    catch: (error) =>
      failWith(source, [`not valid ${options.format === "json" ? "JSON" : "YAML"}: ${(error as Error).message}`])
  }).pipe(Effect.flatMap((input) => decode(input ?? {}, source)))
}

/**
 * Reads a file and decodes it: `.json` as JSON, anything else as YAML.
 *
 * @since 0.2.0
 * @category decoding
 */
export const load = (path: string): Effect.Effect<Config, ConfigError> =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (error) => failWith(path, [`cannot read the file: ${(error as Error).message}`])
  }).pipe(
    Effect.flatMap((text) =>
      parse(text, { format: path.toLowerCase().endsWith(".json") ? "json" : "yaml", source: path })
    )
  )
