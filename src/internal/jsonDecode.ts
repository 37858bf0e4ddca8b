/**
 * JSON text into typed values: parsing and schema decoding for response bodies and stream events alike.
 *
 * Mapping rule: a body that is not JSON or not the expected shape is `Serialization` naming the offending path.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import * as LiterLlmError from "../LiterLlmError.js"

/**
 * Formats a schema failure as a dotted path to the first offending field plus the formatter's explanation.
 *
 * @since 0.1.0
 * @category errors
 */
export const serializationError = (
  provider: string,
  what: string,
  error: ParseResult.ParseError
): LiterLlmError.Serialization => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const first = issues[0]
  const path =
    first === undefined
      ? undefined
      : first.path.reduce<string>(
          (acc, key) =>
            typeof key === "number" ? `${acc}[${key}]` : acc === "" ? String(key) : `${acc}.${String(key)}`,
          ""
        ) || "(root)"
  const detail = first === undefined ? ParseResult.TreeFormatter.formatErrorSync(error) : first.message
  return new LiterLlmError.Serialization({
    provider,
    path,
    cause: error,
    message: `${what} from provider "${provider}" did not match the expected shape at ${path ?? "(root)"}: ${detail}`
  })
}

/**
 * Parses JSON text; a failure is `Serialization` quoting the start of the text.
 *
 * @since 0.1.0
 * @category decoding
 */
export const parseJson = (
  text: string,
  provider: string,
  what: string
): Either.Either<unknown, LiterLlmError.Serialization> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (cause) {
    const preview = text.length > 120 ? `${text.slice(0, 120)}…` : text
    return Either.left(
      new LiterLlmError.Serialization({
        provider,
        cause,
        message: `${what} from provider "${provider}" is not valid JSON (${
          cause instanceof Error ? cause.message : String(cause)
        }): ${JSON.stringify(preview)}`
      })
    )
  }
}

/**
 * Fields a schema does not name are kept, not dropped: providers add fields all the time (Perplexity's `citations`,
 * Azure's content-filter results, `system_fingerprint`, …), and a caller who knows them should find them on the
 * response at run time even though the types do not list them.
 */
const keepUnknownFields: SchemaAST.ParseOptions = { onExcessProperty: "preserve" }

/**
 * Decodes a parsed JSON value with a schema, synchronously; a failure is `Serialization` naming the path.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknownEither = <A, I>(
  schema: Schema.Schema<A, I, never>
): ((json: unknown, provider: string, what: string) => Either.Either<A, LiterLlmError.Serialization>) => {
  const decode = ParseResult.decodeUnknownEither(schema, keepUnknownFields)
  return (json, provider, what) =>
    Either.mapLeft(decode(json), (issue) => serializationError(provider, what, new ParseResult.ParseError({ issue })))
}

/**
 * A decoder of JSON text built once for a schema, for per-event use in streams: parsing and decoding run
 * synchronously, with no Effect per event; every failure is `Serialization`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const jsonDecoder = <A, I>(
  schema: Schema.Schema<A, I, never>
): ((text: string, provider: string, what: string) => Either.Either<A, LiterLlmError.Serialization>) => {
  const decode = decodeUnknownEither(schema)
  return (text, provider, what) =>
    Either.flatMap(parseJson(text, provider, what), (json) => decode(json, provider, what))
}

/**
 * Parses JSON text and decodes it with a schema; every failure is `Serialization`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeJson = <A, I, R>(
  schema: Schema.Schema<A, I, R>,
  text: string,
  provider: string,
  what: string
): Effect.Effect<A, LiterLlmError.Serialization, R> =>
  Either.match(parseJson(text, provider, what), {
    onLeft: Effect.fail,
    onRight: (json) =>
      Effect.mapError(Schema.decodeUnknown(schema, keepUnknownFields)(json), (error) =>
        serializationError(provider, what, error)
      )
  })
