/**
 * Input checks shared by every entry point: the numeric fields of a request, and the options of a layer.
 *
 * Requests are plain objects a caller builds (often from untyped JSON), so the types alone do not keep a `NaN`
 * `max_tokens` or a `null` message list out. Every component that reads such a field (a provider before it sends,
 * the budget and rate limit before they reserve, the router before it picks) checks the request here first and
 * fails with a `BadRequest` that names the field — never sends `null` upstream for a `NaN`, never admits a request
 * whose estimate is not a number.
 *
 * Options go through Schema so that every layer words its complaints the same way; a layer whose option is out of
 * range fails to build, naming the option — never a silent "no limit".
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as LiterLlmError from "../LiterLlmError.js"

/** A finite number (no `NaN`, no infinity). */
export const Finite = Schema.Number.pipe(Schema.finite({ message: () => "expected a finite number" }))
/** An integer ≥ 0. */
export const NonNegativeInt = Schema.Number.pipe(
  Schema.int({ message: () => "expected a whole number" }),
  Schema.nonNegative({ message: () => "expected a number ≥ 0" })
)
/** An integer ≥ 1. */
export const PositiveInt = Schema.Number.pipe(
  Schema.int({ message: () => "expected a whole number" }),
  Schema.positive({ message: () => "expected a number ≥ 1" })
)
/** A finite number ≥ 0. */
export const NonNegative = Finite.pipe(Schema.nonNegative({ message: () => "expected a number ≥ 0" }))

export type Rule = "finite" | "int" | "nonNegativeInt" | "positiveInt"

// Checked by hand rather than by Schema: this runs on every call at several layers, and a Schema decode of the
// request costs microseconds where these comparisons cost nanoseconds. The wording matches the option schemas above.
export const ruleProblem = (rule: Rule, value: unknown): string | undefined => {
  if (typeof value !== "number") return rule === "finite" ? "expected a finite number" : "expected a whole number"
  switch (rule) {
    case "finite":
      return Number.isFinite(value) ? undefined : "expected a finite number"
    case "int":
      return Number.isSafeInteger(value) ? undefined : "expected a whole number"
    case "nonNegativeInt":
      return !Number.isSafeInteger(value) ? "expected a whole number" : value < 0 ? "expected a number ≥ 0" : undefined
    case "positiveInt":
      return !Number.isSafeInteger(value) ? "expected a whole number" : value < 1 ? "expected a number ≥ 1" : undefined
  }
}

const chatRules: ReadonlyArray<readonly [string, Rule]> = [
  ["max_tokens", "nonNegativeInt"],
  ["max_completion_tokens", "nonNegativeInt"],
  ["temperature", "finite"],
  ["top_p", "finite"],
  ["presence_penalty", "finite"],
  ["frequency_penalty", "finite"],
  ["n", "positiveInt"],
  ["top_logprobs", "nonNegativeInt"],
  ["seed", "int"]
]

export const invalid = (what: string, field: string, problem: string, value: unknown) =>
  new LiterLlmError.BadRequest({
    message: `invalid ${what}: ${field}: ${problem}, got ${show(value)}; nothing was sent — fix the field and call again`
  })

const shape = (what: string, request: unknown, list: string): LiterLlmError.BadRequest | undefined => {
  if (typeof request !== "object" || request === null) return invalid(what, "request", "expected an object", request)
  const fields = request as Record<string, unknown>
  if (typeof fields.model !== "string") return invalid(what, "model", "expected a string", fields.model)
  const items = fields[list]
  if (list === "messages" ? !Array.isArray(items) : typeof items !== "string" && !Array.isArray(items)) {
    return invalid(what, list, list === "messages" ? "expected a list" : "expected a string or a list", items)
  }
  return undefined
}

/**
 * The problem with a chat request's fields, or `undefined` when there is none.
 */
export const chatProblem = (request: unknown): LiterLlmError.BadRequest | undefined => {
  const problem = shape("chat request", request, "messages")
  if (problem !== undefined) return problem
  const fields = request as Record<string, unknown>
  for (const [field, rule] of chatRules) {
    const value = fields[field]
    if (value === undefined || value === null) continue
    const complaint = ruleProblem(rule, value)
    if (complaint !== undefined) return invalid("chat request", field, complaint, value)
  }
  return undefined
}

/**
 * The problem with an embeddings request's fields, or `undefined` when there is none.
 */
export const embeddingProblem = (request: unknown): LiterLlmError.BadRequest | undefined => {
  const problem = shape("embeddings request", request, "input")
  if (problem !== undefined) return problem
  const dimensions = (request as Record<string, unknown>).dimensions
  const complaint = dimensions == null ? undefined : ruleProblem("positiveInt", dimensions)
  return complaint === undefined ? undefined : invalid("embeddings request", "dimensions", complaint, dimensions)
}

/**
 * Fails with a `BadRequest` naming the field when a chat request's fields are out of range.
 */
export const chat = (request: unknown): Effect.Effect<void, LiterLlmError.BadRequest> => {
  const problem = chatProblem(request)
  return problem === undefined ? Effect.void : Effect.fail(problem)
}

/**
 * Fails with a `BadRequest` naming the field when an embeddings request's fields are out of range.
 */
export const embedding = (request: unknown): Effect.Effect<void, LiterLlmError.BadRequest> => {
  const problem = embeddingProblem(request)
  return problem === undefined ? Effect.void : Effect.fail(problem)
}

/**
 * Checks a layer's options against a schema of the fields it constrains; fails with a `BadRequest` naming the
 * component and the option (`RateLimit.layer: option rpm: expected a number ≥ 1, got 0`).
 */
export const options = <A, I>(
  component: string,
  schema: Schema.Schema<A, I>,
  value: unknown
): Effect.Effect<void, LiterLlmError.BadRequest> => {
  const result = Schema.decodeUnknownEither(schema, { errors: "first" })(value)
  if (Either.isRight(result)) return Effect.void
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(result.left)
  const path = issue === undefined ? "" : issue.path.map(String).join(".")
  const got = issue === undefined ? "" : `, got ${show(pick(value, issue.path))}`
  return Effect.fail(
    new LiterLlmError.BadRequest({
      message: `${component}: option ${path === "" ? "" : `${path}: `}${issue?.message ?? "invalid"}${got}; fix the option where the layer is built`
    })
  )
}

const pick = (value: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>(
    (at, key) => (typeof at === "object" && at !== null ? (at as Record<PropertyKey, unknown>)[key] : undefined),
    value
  )

const show = (value: unknown): string =>
  typeof value === "number" || typeof value === "bigint" ? String(value) : (JSON.stringify(value) ?? "undefined")
