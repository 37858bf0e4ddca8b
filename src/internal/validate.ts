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

const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optional(Schema.NullOr(schema))

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

const ChatFields = Schema.Struct({
  model: Schema.String,
  messages: Schema.Array(Schema.Unknown),
  max_tokens: optional(NonNegativeInt),
  max_completion_tokens: optional(NonNegativeInt),
  temperature: optional(Finite),
  top_p: optional(Finite),
  presence_penalty: optional(Finite),
  frequency_penalty: optional(Finite),
  n: optional(PositiveInt),
  top_logprobs: optional(NonNegativeInt),
  seed: optional(Schema.Number.pipe(Schema.int({ message: () => "expected a whole number" })))
})

const EmbeddingFields = Schema.Struct({
  model: Schema.String,
  input: Schema.Union(Schema.String, Schema.Array(Schema.Unknown)),
  dimensions: Schema.optional(PositiveInt)
})

const decodeChat = Schema.decodeUnknownEither(ChatFields, { errors: "first" })
const decodeEmbedding = Schema.decodeUnknownEither(EmbeddingFields, { errors: "first" })

const describe = (error: ParseResult.ParseError): string => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (issue === undefined) return "invalid"
  const path = issue.path.map(String).join(".")
  return path === "" ? issue.message : `${path}: ${issue.message}`
}

const invalid = (what: string, error: ParseResult.ParseError) =>
  new LiterLlmError.BadRequest({
    message: `invalid ${what} (${describe(error)}); nothing was sent — fix the field and call again`
  })

/**
 * The problem with a chat request's fields, or `undefined` when there is none.
 */
export const chatProblem = (request: unknown): LiterLlmError.BadRequest | undefined => {
  const result = decodeChat(request)
  return Either.isLeft(result) ? invalid("chat request", result.left) : undefined
}

/**
 * The problem with an embeddings request's fields, or `undefined` when there is none.
 */
export const embeddingProblem = (request: unknown): LiterLlmError.BadRequest | undefined => {
  const result = decodeEmbedding(request)
  return Either.isLeft(result) ? invalid("embeddings request", result.left) : undefined
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
  typeof value === "number" ? String(value) : (JSON.stringify(value) ?? "undefined")
