/**
 * The HTTP plumbing every provider client shares: an `Endpoint` (base URL, validated headers, auth, timeout), JSON
 * requests decoded with a schema, and streaming requests turned into server-sent events — with every failure mapped
 * to a `LiterLlmError`, never a platform error, a `ParseError` or a defect.
 *
 * Mapping rules:
 * - a non-2xx answer goes through `LiterLlmError.fromResponse` with its real status, headers and body;
 * - a connection that cannot be made or breaks (refused, reset, DNS, a body cut short) is `Network` — unless a
 *   stream had already delivered an event, then it is `Streaming` (part of the answer reached the caller, so it must
 *   not be retried silently);
 * - the per-request timeout is `Timeout` (for streams: until the response headers, then between two events);
 * - a body that is not JSON or not the expected shape is `Serialization` naming the offending path;
 * - a bad configured header is `InvalidHeader`, found when the endpoint is built.
 * - the `ExtraHeaders` in context when the endpoint is built (a router deployment's `headers`, provided while the
 *   router builds the deployment's layer) join the configured headers, over them but never over the credentials:
 *   read once, so they cost nothing per request.
 * - a successful body past `maxBodySize` (default 64 MiB) is `Serialization`, found while reading: the read stops and
 *   the connection closes, and since the same request would get the same body it is not transient (no failover);
 *   an error body is read up to {@link maxErrorBodyBytes} only, and one server-sent event up to `maxEventSize`.
 *
 * API keys are `Redacted` until the moment the header is written, their header names are added to the platform's
 * redacted header names (so spans show `<redacted>`), and no error message quotes a header value or a query string.
 * Errors of `json` and `sse` pass through the endpoint's `scrub`, which replaces the key should an upstream echo it
 * back in a body; a provider that builds errors from event payloads itself maps its whole stream through `scrub`
 * too.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as LiterLlmError from "../LiterLlmError.js"
import * as Body from "./body.js"
import * as ExtraHeaders from "./extraHeaders.js"
import * as Secrets from "./secrets.js"
import * as Sse from "./sse.js"
import * as Stall from "./stall.js"
import * as StreamError from "./streamError.js"
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
  /** The largest successful JSON body read, in bytes (default {@link defaultMaxBodySize}). */
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

/**
 * Re-exported from the modules that define them, for the providers and tests that reach them through this one.
 *
 * @since 0.1.0
 */
export { defaultMaxBodySize, maxErrorBodyBytes } from "./body.js"
export { minScrubbedKeyLength, scrubSecret } from "./secrets.js"

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

/** The URL without its query string: safe to put in a message. */
const describe = (method: string, url: string) => `${method} ${url.split("?")[0]}`

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

/** The message of a transport failure plus the system error code beneath it (fetch says only "fetch failed"). */
const causeDetail = (cause: unknown): string | undefined => {
  if (!(cause instanceof Error)) return undefined
  const inner = (cause as { readonly cause?: unknown }).cause
  const code =
    inner !== null && typeof inner === "object" && "code" in inner && typeof inner.code === "string"
      ? inner.code
      : undefined
  const extra = code ?? (inner instanceof Error ? inner.message : undefined)
  return extra === undefined || cause.message.includes(extra) ? cause.message : `${cause.message} (${extra})`
}

export const transportError = (
  endpoint: Endpoint,
  error: HttpClientError.HttpClientError
): LiterLlmError.Network | LiterLlmError.Serialization | LiterLlmError.BadRequest => {
  const where = describe(error.request.method, error.request.url)
  const detail = causeDetail(error.cause) ?? error.description
  const suffix = detail === undefined ? "" : `: ${detail}`
  if (error._tag === "RequestError") {
    switch (error.reason) {
      case "Encode":
        return new LiterLlmError.Serialization({
          provider: endpoint.provider,
          cause: error.cause,
          message: `the request body for provider "${endpoint.provider}" could not be encoded${suffix}`
        })
      case "InvalidUrl":
        return new LiterLlmError.BadRequest({
          provider: endpoint.provider,
          message: `the URL for ${where} is invalid; check the baseUrl of provider "${endpoint.provider}"`
        })
      case "Transport":
        return new LiterLlmError.Network({
          provider: endpoint.provider,
          cause: error.cause,
          message: `could not reach provider "${endpoint.provider}" (${where})${suffix}; check the baseUrl and the network, then retry`
        })
    }
  }
  return new LiterLlmError.Network({
    provider: endpoint.provider,
    status: error.response.status,
    cause: error.cause,
    message: `the connection to provider "${endpoint.provider}" broke while reading the response of ${where}${suffix}; retry`
  })
}

export const timeoutError = (endpoint: Endpoint, what: string) =>
  new LiterLlmError.Timeout({
    provider: endpoint.provider,
    message: `provider "${endpoint.provider}" did not answer ${what} within ${Duration.format(
      endpoint.timeout ?? Duration.zero
    )}; retry, or raise the timeout`
  })

/**
 * What to send: a method, a path under the base URL, an optional JSON body and extra headers.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestSpec {
  readonly method: "GET" | "POST"
  /** Appended to the base URL: `/chat/completions`. */
  readonly path: string
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly urlParams?: Readonly<Record<string, string>> | undefined
}

/**
 * Builds the platform request for a spec on an endpoint. A body JSON cannot represent (a `BigInt` or a cycle in
 * `extra_body`) is `Serialization`, not an exception thrown at the caller.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRequest = (
  endpoint: Endpoint,
  spec: RequestSpec,
  accept: string
): Either.Either<HttpClientRequest.HttpClientRequest, LiterLlmError.Serialization> => {
  let text: string | undefined
  if (spec.body !== undefined) {
    try {
      text = JSON.stringify(spec.body)
    } catch (cause) {
      return Either.left(
        new LiterLlmError.Serialization({
          provider: endpoint.provider,
          message: `the request for ${spec.method} ${spec.path} cannot be sent to provider "${endpoint.provider}": its body is not representable as JSON (${
            cause instanceof Error ? cause.message : String(cause)
          }); remove BigInt values and cycles from the request (e.g. from extra_body)`
        })
      )
    }
  }
  let request = HttpClientRequest.make(spec.method)(endpoint.baseUrl + spec.path, {
    headers: endpoint.headers,
    urlParams: spec.urlParams === undefined ? endpoint.urlParams : { ...endpoint.urlParams, ...spec.urlParams }
  })
  request = HttpClientRequest.setHeader(request, "accept", accept)
  if (spec.headers !== undefined) request = HttpClientRequest.setHeaders(request, spec.headers)
  if (text !== undefined) request = HttpClientRequest.bodyText(request, text, "application/json")
  return Either.right(request)
}

/** The error of a successful body past the endpoint's cap: not transient, since another try gets the same body. */
const bodyTooLarge = (endpoint: Endpoint, where: string, declared: number | undefined) =>
  new LiterLlmError.Serialization({
    provider: endpoint.provider,
    message: `the response of ${where} from provider "${endpoint.provider}" ${
      declared === undefined ? "grew past" : `declared ${declared} bytes, more than`
    } maxBodySize (${endpoint.maxBodySize} bytes); reading stopped to bound memory (raise maxBodySize if this is expected)`
  })

/**
 * Reads a successful body as text within the endpoint's `maxBodySize`. A `content-length` over the cap fails before
 * reading; a body that grows past it fails as soon as it does.
 */
export const readBody = (
  endpoint: Endpoint,
  response: HttpClientResponse.HttpClientResponse,
  where: string
): Effect.Effect<string, LiterLlmError.LiterLlmError> => {
  const declared = Number(response.headers["content-length"] ?? Number.NaN)
  // A declared size within the cap is read whole: HTTP framing ends the body there (a longer one is a protocol error
  // the client raises), and reading it in one piece is several times cheaper than a stream of chunks.
  if (Number.isFinite(declared) && declared <= endpoint.maxBodySize) {
    return Effect.mapError(response.text, (error) => transportError(endpoint, error))
  }
  // a declared size over the cap still goes through readUpTo, which stops at the first chunk and closes the socket
  const cap = Number.isFinite(declared) ? 0 : endpoint.maxBodySize
  return Body.readUpTo(response, cap).pipe(
    Effect.mapError((error) => transportError(endpoint, error)),
    Effect.flatMap(({ bytes, over }) =>
      over
        ? Effect.fail(bodyTooLarge(endpoint, where, cap === 0 ? declared : undefined))
        : Effect.succeed(new TextDecoder().decode(bytes))
    )
  )
}

/** Sends the request; non-2xx answers become their error variant. */
export const send = <R = never>(
  client: HttpClient.HttpClient.With<HttpClientError.HttpClientError, R>,
  endpoint: Endpoint,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<HttpClientResponse.HttpClientResponse, LiterLlmError.LiterLlmError, R> =>
  Secrets.withSecretsRedacted(endpoint.secretHeaders, client.execute(request)).pipe(
    Effect.mapError((error) => transportError(endpoint, error)),
    Effect.flatMap((response) =>
      response.status >= 200 && response.status < 300
        ? Effect.succeed(response)
        : Body.readErrorBody(response).pipe(
            Effect.flatMap((body) =>
              LiterLlmError.fromResponse({
                status: response.status,
                headers: response.headers,
                body,
                provider: endpoint.provider
              })
            ),
            Effect.flatMap(Effect.fail)
          )
    )
  )

/**
 * A 200 answer that does not decode may be an error object sent with the wrong status (some OpenAI-compatible
 * servers and proxies do): mapped like the same error inside a stream, rather than reported as a body we could not
 * read. Looked at only after decoding failed, so an answer that decodes is never second-guessed.
 */
const errorInBody = (text: string, provider: string): Effect.Effect<never, LiterLlmError.LiterLlmError> | undefined =>
  Either.match(parseJson(text, provider, "the response"), {
    onLeft: () => undefined,
    onRight: (json) => {
      const mapped = StreamError.fromEvent(provider, "", json)
      return mapped === undefined ? undefined : Effect.flatMap(mapped, Effect.fail)
    }
  })

/**
 * Sends a request and decodes the JSON answer with `schema`, within the endpoint's timeout.
 *
 * @since 0.1.0
 * @category requests
 */
export const json = <A, I, R>(
  client: HttpClient.HttpClient,
  endpoint: Endpoint,
  spec: RequestSpec,
  schema: Schema.Schema<A, I, R>
): Effect.Effect<A, LiterLlmError.LiterLlmError, R> => {
  const built = makeRequest(endpoint, spec, "application/json")
  if (Either.isLeft(built)) return Effect.fail(endpoint.scrub(built.left))
  const effect = send(client, endpoint, built.right).pipe(
    Effect.flatMap((response) => readBody(endpoint, response, `${spec.method} ${spec.path}`)),
    Effect.flatMap((text) =>
      decodeJson(schema, text, endpoint.provider, `the response of ${spec.path}`).pipe(
        Effect.catchTag("Serialization", (error) => errorInBody(text, endpoint.provider) ?? Effect.fail(error))
      )
    )
  )
  const timed =
    endpoint.timeout === undefined
      ? effect
      : Effect.timeoutFail(effect, {
          duration: endpoint.timeout,
          onTimeout: () => timeoutError(endpoint, `${spec.method} ${spec.path}`)
        })
  return Effect.mapError(timed, endpoint.scrub)
}

/**
 * Options of {@link sse}.
 *
 * @since 0.1.0
 * @category models
 */
export interface SseOptions {
  /** Cap on one event (default 1 MiB). */
  readonly maxEventSize?: number | undefined
  /** Splits the body into events; default `Sse.decode`. For providers whose streams stray from the SSE rules. */
  readonly decode?: typeof Sse.decode | undefined
}

/**
 * Sends a request and streams the server-sent events of the answer. Non-2xx answers fail before any event. The
 * endpoint's timeout bounds the wait for the response headers and then each gap between events. A transport failure
 * before the first event is `Network` (transient), after it `Streaming`. Interrupting the consumer aborts the
 * request, closing the connection.
 *
 * @since 0.1.0
 * @category requests
 */
export const sse = (
  client: HttpClient.HttpClient,
  endpoint: Endpoint,
  spec: RequestSpec,
  options: SseOptions = {}
): Stream.Stream<Sse.Event, LiterLlmError.LiterLlmError> =>
  Stream.suspend(() => {
    let delivered = false
    let stall: Stall.Stall | undefined
    const built = makeRequest(endpoint, spec, "text/event-stream")
    if (Either.isLeft(built)) return Stream.fail(endpoint.scrub(built.left))
    const request = built.right
    const what = `${spec.method} ${spec.path}`
    const stalled = (): LiterLlmError.LiterLlmError =>
      delivered
        ? new LiterLlmError.Streaming({
            provider: endpoint.provider,
            message: `the stream from provider "${endpoint.provider}" stalled for ${Duration.format(
              endpoint.timeout!
            )} after it started; the partial answer is incomplete`
          })
        : timeoutError(endpoint, what)
    const events = Stream.unwrapScoped(
      Effect.gen(function* () {
        // The request lives in a scope of its own (a child of the stream's), so that the idle deadline can end it
        // without a timeout around every pull (see stall.ts); the stream's end or interruption closes it too.
        const requestScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
        const sent = send(HttpClient.withScope(client), endpoint, request).pipe(Scope.extend(requestScope))
        const response = yield* endpoint.timeout === undefined
          ? sent
          : Effect.timeoutFail(sent, {
              duration: endpoint.timeout,
              onTimeout: () => timeoutError(endpoint, `${what} (waiting for the response headers)`)
            })
        if (endpoint.timeout !== undefined) stall = yield* Stall.watch(endpoint.timeout, requestScope)
        return response.stream.pipe(
          Stream.mapError((error): LiterLlmError.LiterLlmError => {
            if (stall?.stalled() === true) return stalled()
            const mapped = transportError(endpoint, error)
            return delivered && mapped._tag === "Network"
              ? new LiterLlmError.Streaming({
                  provider: endpoint.provider,
                  cause: mapped.cause,
                  message: `the stream from provider "${endpoint.provider}" broke after it started${
                    error.description === undefined && causeDetail(error.cause) === undefined
                      ? ""
                      : ` (${error.description ?? causeDetail(error.cause)})`
                  }; the partial answer is incomplete`
                })
              : mapped
          }),
          (options.decode ?? Sse.decode)({
            maxEventSize: options.maxEventSize ?? endpoint.maxEventSize,
            provider: endpoint.provider
          }),
          // An abort that a client reports as a clean end must not pass for the end of the answer.
          Stream.concat(Stream.suspend(() => (stall?.stalled() === true ? Stream.fail(stalled()) : Stream.empty)))
        )
      })
    )
    return events.pipe(
      // once per chunk of events (an upstream read), not per event
      Stream.mapChunks((events) => {
        delivered = true
        stall?.touch()
        return events
      }),
      Stream.mapError(endpoint.scrub)
    )
  })
