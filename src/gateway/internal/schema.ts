/**
 * The gateway file's schema. Keys are camelCase, durations are Effect duration strings (or milliseconds), money is
 * USD, and every secret is an `env:NAME` reference resolved while decoding: a secret written inline, or a variable
 * that is not set, is a problem at its path like any other. Structs refuse unknown keys, so a misspelt option is
 * reported instead of silently meaning "off".
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { PricingSchema } from "../../internal/middleware/options.js"
import { Finite, NonNegative, NonNegativeInt, PositiveInt } from "../../internal/validate.js"

const envName = /^env:([A-Za-z_][A-Za-z0-9_]*)$/

/**
 * A secret: `env:NAME` in the file, a `Redacted` once decoded. The value is read through Effect's `Config` (the
 * environment by default, any `ConfigProvider` in tests); a blank value counts as unset. Messages never echo what
 * was written, since a mistake here is usually a pasted key.
 */
export const Secret = Schema.transformOrFail(
  Schema.String.annotations({ message: () => "expected an env:NAME reference" }),
  Schema.RedactedFromSelf(Schema.String),
  {
    strict: true,
    decode: (reference, _, ast) => {
      const match = envName.exec(reference.trim())
      if (match === null) {
        return ParseResult.fail(
          new ParseResult.Type(ast, "(hidden)", "expected an env:NAME reference; secrets are never written inline")
        )
      }
      const name = match[1]!
      return Config.option(Config.redacted(name)).pipe(
        Effect.orElseSucceed(() => Option.none<Redacted.Redacted<string>>()),
        Effect.flatMap(
          Option.match({
            onNone: () => ParseResult.fail(new ParseResult.Type(ast, reference, `env var ${name} is not set`)),
            onSome: (value) =>
              Redacted.value(value).trim() === ""
                ? ParseResult.fail(new ParseResult.Type(ast, reference, `env var ${name} is empty`))
                : ParseResult.succeed(value)
          })
        )
      )
    },
    encode: (_, __, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, "(hidden)", "secrets are not encoded"))
  }
)

/** A duration: `"30 seconds"` or milliseconds, finite and above zero. */
export const PositiveDuration = Schema.transformOrFail(
  Schema.Union(Schema.String, Schema.Number).annotations({ message: () => `expected a duration such as "30 seconds"` }),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) =>
      Option.match(Duration.decodeUnknown(typeof input === "string" ? input.trim() : input), {
        onNone: () => ParseResult.fail(new ParseResult.Type(ast, input, `expected a duration such as "30 seconds"`)),
        onSome: (duration) =>
          Duration.isFinite(duration) && Duration.toMillis(duration) > 0
            ? ParseResult.succeed(duration)
            : ParseResult.fail(new ParseResult.Type(ast, input, "expected a finite duration above zero"))
      }),
    encode: (duration) => ParseResult.succeed(Duration.toMillis(duration))
  }
)

/** A calendar date or timestamp (`2027-01-01`, `2027-01-01T12:00:00Z`). */
export const Instant = Schema.transformOrFail(
  Schema.String.annotations({ message: () => "expected a date such as 2027-01-01" }),
  Schema.DateFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      const date = new Date(input)
      return Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(input)
        ? ParseResult.fail(new ParseResult.Type(ast, input, "expected a date such as 2027-01-01"))
        : ParseResult.succeed(date)
    },
    encode: (date) => ParseResult.succeed(date.toISOString())
  }
)

const closed = <Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Schema.Struct(fields).annotations({ parseOptions: { onExcessProperty: "error" } })
const opt = <A, I, R>(schema: Schema.Schema<A, I, R>) => Schema.optionalWith(schema, { exact: true })
const Name = Schema.String.pipe(Schema.nonEmptyString({ message: () => "expected a non-empty name" }))
const GroupList = Schema.Array(Name)
const GroupMap = Schema.Record({ key: Schema.String, value: GroupList })

/** The strategies by their file names. */
export const StrategyName = Schema.Literal("roundRobin", "fallback", "latency", "cost", "weighted", "leastBusy")

const Circuit = closed({
  failures: opt(PositiveInt),
  failureRate: opt(Finite.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(1))),
  minRequests: opt(PositiveInt),
  window: opt(PositiveDuration),
  cooldown: opt(PositiveDuration),
  maxCooldown: opt(PositiveDuration),
  backoff: opt(Finite.pipe(Schema.greaterThanOrEqualTo(1)))
})

/** `router:` — the strategy and the other `Router.layer` options by their names. */
export const RouterSection = closed({
  strategy: opt(StrategyName),
  alpha: opt(Finite.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(1))),
  failover: opt(Schema.Boolean),
  maxAttempts: opt(PositiveInt),
  timeout: opt(PositiveDuration),
  deadline: opt(PositiveDuration),
  firstChunkTimeout: opt(PositiveDuration),
  waitForAvailable: opt(Schema.Boolean),
  circuit: opt(Schema.Union(Schema.Literal(false), Circuit)),
  hedge: opt(closed({ delay: PositiveDuration })),
  retry: opt(closed({ times: PositiveInt, delay: opt(PositiveDuration) })),
  fallbacks: opt(GroupMap),
  contextWindowFallbacks: opt(GroupMap),
  contentPolicyFallbacks: opt(GroupMap)
})

/** One deployment of a group. */
export const DeploymentSection = closed({
  name: Name,
  provider: Name,
  model: opt(Name),
  baseUrl: opt(Schema.String.pipe(Schema.pattern(/^https?:\/\/\S+$/, { message: () => "expected an http(s) URL" }))),
  apiKey: opt(Secret),
  weight: opt(NonNegative),
  priority: opt(Finite),
  tags: opt(Schema.Array(Schema.String)),
  params: opt(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  caps: opt(Schema.Record({ key: Schema.String, value: NonNegative })),
  dropParams: opt(Schema.Array(Schema.String)),
  headers: opt(Schema.Record({ key: Schema.String, value: Schema.String })),
  maxConcurrency: opt(PositiveInt),
  pricing: opt(PricingSchema),
  timeout: opt(PositiveDuration),
  rpm: opt(PositiveInt),
  tpm: opt(PositiveInt)
})

const Switch = <A, I, R>(schema: Schema.Schema<A, I, R>) => Schema.Union(Schema.Literal(true), schema)

/** `middleware:` — around the whole router, in `LlmClient`'s order. */
export const MiddlewareSection = closed({
  cache: opt(Switch(closed({ capacity: opt(PositiveInt), ttl: opt(PositiveDuration) }))),
  budget: opt(
    closed({
      globalLimit: opt(NonNegative),
      modelLimits: opt(Schema.Record({ key: Schema.String, value: NonNegative })),
      enforcement: opt(Schema.Literal("hard", "soft"))
    })
  ),
  rateLimit: opt(
    closed({ rpm: opt(PositiveInt), tpm: opt(PositiveInt), window: opt(PositiveDuration), wait: opt(Schema.Boolean) })
  ),
  healthCheck: opt(
    Switch(
      closed({
        interval: opt(PositiveDuration),
        unhealthyThreshold: opt(PositiveInt),
        healthyThreshold: opt(PositiveInt),
        timeout: opt(PositiveDuration),
        probeModel: opt(Name)
      })
    )
  )
})

/** One virtual key. */
export const KeySection = closed({
  name: Name,
  key: Secret,
  groups: opt(GroupList),
  rpm: opt(PositiveInt),
  tpm: opt(PositiveInt),
  budget: opt(NonNegative),
  expires: opt(Instant)
})

/** `redis:` — shared state for several workers or hosts. */
export const RedisSection = closed({ url: Secret, prefix: opt(Schema.String), timeout: opt(PositiveDuration) })

/** `server:` — defaults for what the command line can override. */
export const ServerSection = closed({
  host: opt(Name),
  port: opt(NonNegativeInt.pipe(Schema.lessThanOrEqualTo(65535, { message: () => "expected a port ≤ 65535" }))),
  maxBodySize: opt(PositiveInt),
  heartbeat: opt(PositiveDuration),
  shutdownTimeout: opt(PositiveDuration),
  publicMetrics: opt(Schema.Boolean)
})

/** The whole file. */
export const File = closed({
  router: opt(RouterSection),
  groups: Schema.Record({ key: Schema.String, value: Schema.NonEmptyArray(DeploymentSection) }),
  middleware: opt(MiddlewareSection),
  masterKey: opt(Secret),
  keys: opt(Schema.Array(KeySection)),
  redis: opt(RedisSection),
  server: opt(ServerSection)
})
