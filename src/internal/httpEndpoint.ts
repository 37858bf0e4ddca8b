/**
 * Where a provider's requests go and what every one of them carries: an `Endpoint` (base URL, validated headers,
 * auth, timeout, size caps), built once per client so that nothing is checked again per request.
 *
 * Mapping rules:
 * - a bad configured header is `InvalidHeader`, found when the endpoint is built.
 * - the `ExtraHeaders` in context when the endpoint is built (a router deployment's `headers`, provided while the
 *   router builds the deployment's layer) join the configured headers, over them but never over the credentials:
 *   read once, so they cost nothing per request.
 *
 * The API key stays `Redacted` until the header value is written here; the endpoint remembers which headers hold it
 * (`secretHeaders`, redacted in spans by `send`) and carries the `scrub` that takes it out of errors.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as LiterLlmError from "../LiterLlmError.js"
import * as Body from "./body.js"
import * as ExtraHeaders from "./extraHeaders.js"
import * as Secrets from "./secrets.js"
import * as Validate from "./validate.js"

/**
 * How the API key is sent: `Authorization: Bearer <key>`, a named header (`x-api-key`, `api-key`), or not at all.
 *
 * @since 0.1.0
 * @category models
 */
export type Auth = "bearer" | "none" | { readonly header: string }

/**
 * Options of {@link makeEndpoint}.
 *
 * @since 0.1.0
 * @category models
 */
export interface EndpointOptions {
  /** Named in errors and used as the `provider` of every error. */
  readonly provider: string
  /** Prefix of every path, e.g. `https://api.openai.com/v1`. A trailing slash is ignored. */
  readonly baseUrl: string
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Default `"bearer"` when an `apiKey` is given. */
  readonly auth?: Auth | undefined
  /** Extra headers sent with every request (validated). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Query parameters added to every request (Azure's `api-version`). */
  readonly urlParams?: Readonly<Record<string, string>> | undefined
  /** Per-request timeout; none when undefined. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The largest successful JSON body read, in bytes (default {@link Body.defaultMaxBodySize}). */
  readonly maxBodySize?: number | undefined
  /** The largest server-sent event read, in characters (default `Sse.defaultMaxEventSize`). */
  readonly maxEventSize?: number | undefined
}

/**
 * A validated place to send requests to.
 *
 * @since 0.1.0
 * @category models
 */
export interface Endpoint {
  readonly provider: string
  readonly baseUrl: string
  readonly headers: Headers.Headers
  readonly urlParams: Readonly<Record<string, string>>
  readonly timeout: Duration.Duration | undefined
  /** Header names whose values are secret. */
  readonly secretHeaders: ReadonlyArray<string>
  /** The largest successful JSON body read, in bytes. */
  readonly maxBodySize: number
  /** The largest server-sent event read, in characters (`undefined`: the parser's default). */
  readonly maxEventSize: number | undefined
  /** Replaces the endpoint's API key in an error's message and cause (identity when there is no key). */
  readonly scrub: (error: LiterLlmError.LiterLlmError) => LiterLlmError.LiterLlmError
}

const SizeOptions = Schema.Struct({
  maxBodySize: Schema.optional(Validate.PositiveInt),
  maxEventSize: Schema.optional(Validate.PositiveInt)
})

const tokenChars = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const headerValueProblem = (value: string): string | undefined => {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c === 10 || c === 13) return "it contains a line break"
    if (c === 0) return "it contains a NUL character"
    if (c > 0xff) return "it contains a character outside ISO-8859-1 (HTTP header values must be bytes)"
  }
  if (value !== value.trim()) return "it has leading or trailing whitespace"
  return undefined
}

/**
 * Checks a header name and value; the error names the header and the reason, never the value.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateHeader = (name: string, value: string): LiterLlmError.InvalidHeader | undefined => {
  if (!tokenChars.test(name)) {
    return new LiterLlmError.InvalidHeader({
      name,
      reason: "the name is not a valid HTTP token",
      message: `header name "${name}" is not a valid HTTP token; use letters, digits and - only`
    })
  }
  const problem = headerValueProblem(value)
  if (problem !== undefined) {
    return new LiterLlmError.InvalidHeader({
      name,
      reason: problem,
      message: `the value of header "${name}" is invalid: ${problem}; fix the configured value`
    })
  }
  return undefined
}

/**
 * Builds an endpoint, validating headers and the API key's header.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeEndpoint = (
  options: EndpointOptions
): Effect.Effect<Endpoint, LiterLlmError.InvalidHeader | LiterLlmError.BadRequest> =>
  Effect.zipRight(
    Validate.options(`the ${options.provider} client`, SizeOptions, {
      maxBodySize: options.maxBodySize,
      maxEventSize: options.maxEventSize
    }),
    Effect.flatMap(ExtraHeaders.ExtraHeaders, (extra) =>
      // after the configured ones, so they win (names are compared in lower case); the key is added after both
      buildEndpoint(extra === ExtraHeaders.none ? options : { ...options, headers: { ...options.headers, ...extra } })
    )
  )

const buildEndpoint = (
  options: EndpointOptions
): Effect.Effect<Endpoint, LiterLlmError.InvalidHeader | LiterLlmError.BadRequest> =>
  Effect.suspend((): Effect.Effect<Endpoint, LiterLlmError.InvalidHeader | LiterLlmError.BadRequest> => {
    const baseUrl = options.baseUrl.replace(/\/+$/, "")
    try {
      new URL(baseUrl)
    } catch {
      return Effect.fail(
        new LiterLlmError.BadRequest({
          provider: options.provider,
          message: `the baseUrl configured for provider "${options.provider}" is not a valid URL; use an absolute URL such as https://api.example.com/v1`
        })
      )
    }
    const record: Record<string, string> = {}
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      const error = validateHeader(name, value)
      if (error !== undefined) return Effect.fail(error)
      record[name.toLowerCase()] = value
    }
    const secretHeaders: Array<string> = []
    const auth = options.auth ?? "bearer"
    if (options.apiKey !== undefined && auth !== "none") {
      const name = auth === "bearer" ? "authorization" : auth.header.toLowerCase()
      const value = auth === "bearer" ? `Bearer ${Redacted.value(options.apiKey)}` : Redacted.value(options.apiKey)
      const error = validateHeader(name, value)
      if (error !== undefined) {
        return Effect.fail(
          new LiterLlmError.InvalidHeader({
            name,
            reason: `the API key cannot be sent: ${error.reason}`,
            message: `the API key for provider "${options.provider}" cannot be sent in header "${name}": ${error.reason}; check the key for stray characters`
          })
        )
      }
      record[name] = value
      secretHeaders.push(name)
    }
    return Effect.succeed({
      provider: options.provider,
      baseUrl,
      headers: Headers.fromInput(record),
      urlParams: options.urlParams ?? {},
      timeout: options.timeout === undefined ? undefined : Duration.decode(options.timeout),
      secretHeaders,
      maxBodySize: options.maxBodySize ?? Body.defaultMaxBodySize,
      maxEventSize: options.maxEventSize,
      scrub: Secrets.scrubSecret(auth === "none" ? undefined : options.apiKey)
    })
  })
