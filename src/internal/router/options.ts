/**
 * The router's options, checked and normalized once when the router is built: every problem is a `BadRequest` naming
 * the option (through `Validate.options`, so the wording matches every other layer), and what the request path reads
 * is millis and booleans.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Deployment from "../../Deployment.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as Router from "../../Router.js"
import type * as RouterStore from "../../RouterStore.js"
import * as Validate from "../validate.js"
import * as Params from "./params.js"

/**
 * The circuit-breaker policy (public as `Router.CircuitOptions`). A deployment's circuit opens after `failures`
 * consecutive transient failures (default 5), or — when `failureRate` is set — once at least `minRequests` (default
 * 10) calls within `window` (default 1 minute) failed at that rate. It stays open max(`cooldown` (default 10 s), Retry-After), multiplied by `backoff`
 * (default 2) for each consecutive trip, up to `maxCooldown` (default 5 minutes); then one probe is let through.
 */
export interface CircuitOptions {
  /** Consecutive transient failures that open the circuit (default 5). */
  readonly failures?: number | undefined
  /** Also open when this fraction (0..1] of the calls in `window` failed… */
  readonly failureRate?: number | undefined
  /** …once the window holds at least this many calls (default 10). */
  readonly minRequests?: number | undefined
  /** The rolling window of `failureRate` (default 1 minute). */
  readonly window?: Duration.DurationInput | undefined
  /** How long the first trip keeps the circuit open (default 10 seconds); at least the Retry-After. */
  readonly cooldown?: Duration.DurationInput | undefined
  /** The longest cooldown, however many consecutive trips (default 5 minutes). */
  readonly maxCooldown?: Duration.DurationInput | undefined
  /** The cooldown's growth per consecutive trip (default 2). */
  readonly backoff?: number | undefined
}

/** Options as the request path reads them. */
export interface Config {
  readonly failover: boolean
  readonly maxAttempts: number
  readonly timeout: number | undefined
  readonly deadline: number | undefined
  readonly retry: Schedule.Schedule<unknown, LiterLlmError.LiterLlmError> | undefined
  readonly waitForAvailable: boolean
  readonly firstChunkTimeout: number | undefined
  readonly hedgeDelay: number | undefined
  /** How long a circuit stays open after `QuotaExceeded`, in millis. */
  readonly quotaCooldown: number
  readonly rules: RouterStore.Rules
  readonly weights: ReadonlyArray<number>
  /** The strategy draws from `Random` (weighted random). */
  readonly needsDraw: boolean
  /** The strategy sizes the request (cost-based). */
  readonly needsCost: boolean
}

/**
 * A duration in millis, keeping what `Duration.decode` would silently turn into zero (a negative or NaN number, a
 * negative string) visible as a negative or NaN, so the schema below can refuse it.
 */
const millisOf = (input: Duration.DurationInput | undefined): number | undefined => {
  if (input === undefined) return undefined
  if (typeof input === "number") return input
  if (typeof input === "string" && input.trim().startsWith("-")) return -1
  return Option.match(Duration.decodeUnknown(input), { onNone: () => Number.NaN, onSome: Duration.toMillis })
}

const Positive = Schema.Number.pipe(Schema.positive({ message: () => "expected a duration > 0" }))
const NonNegativeMillis = Schema.Number.pipe(Schema.nonNegative({ message: () => "expected a duration ≥ 0" }))
const Weight = Schema.Number.pipe(
  Schema.finite({ message: () => "weights must be finite numbers of 0 or more" }),
  Schema.nonNegative({ message: () => "weights must be finite numbers of 0 or more" })
)
const Fraction = (what: string) =>
  Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(1), Schema.annotations({ message: () => what }))
const opt = <A, I>(schema: Schema.Schema<A, I>) => Schema.optional(schema)

const Checked = Schema.Struct({
  maxAttempts: opt(Validate.PositiveInt),
  timeout: opt(Positive),
  deadline: opt(Positive),
  firstChunkTimeout: opt(Positive),
  hedgeDelay: opt(NonNegativeMillis),
  quotaCooldown: opt(NonNegativeMillis),
  alpha: opt(Fraction("expected a number in (0, 1], e.g. 0.3")),
  reprobeAfter: opt(NonNegativeMillis),
  weights: Schema.Array(Weight),
  maxConcurrency: Schema.Array(Schema.UndefinedOr(Validate.PositiveInt)),
  circuit: opt(
    Schema.Struct({
      failures: opt(Validate.PositiveInt),
      failureRate: opt(Fraction("expected a fraction in (0, 1], e.g. 0.5")),
      minRequests: opt(Validate.PositiveInt),
      window: opt(Positive),
      cooldown: opt(NonNegativeMillis),
      maxCooldown: opt(NonNegativeMillis),
      backoff: opt(
        Validate.Finite.pipe(Schema.greaterThanOrEqualTo(1, { message: () => "expected a finite number ≥ 1" }))
      )
    })
  )
})

const bad = (message: string) => Effect.fail(new LiterLlmError.BadRequest({ provider: "router", message }))

/** Checks the options; on success, the normalized `Config`. */
export const check = (
  options: Router.Options<Deployment.Deployment<any, any>>
): Effect.Effect<Config, LiterLlmError.BadRequest> =>
  Effect.gen(function* () {
    const { deployments, strategy } = options
    if (deployments.length === 0) {
      return yield* bad(
        "a router needs at least one deployment; pass deployments: [Deployment.make({ name, layer }), …]"
      )
    }
    const names = new Set<string>()
    for (const d of deployments) {
      if (names.has(d.name)) return yield* bad(`two deployments are named "${d.name}"; give each a unique name`)
      names.add(d.name)
      yield* Params.check(d)
    }
    const explicit = strategy._tag === "WeightedRandom" ? strategy.weights : undefined
    if (explicit !== undefined && explicit.length !== deployments.length) {
      return yield* bad(
        `weightedRandom got ${explicit.length} weight(s) for ${deployments.length} deployment(s); give exactly one weight per deployment, in order`
      )
    }
    const weights = explicit ?? deployments.map((d) => d.weight ?? 1)
    const circuit = options.circuit === false ? undefined : options.circuit
    const latency = strategy._tag === "LatencyBased" ? strategy : undefined
    const normalized = {
      maxAttempts: options.maxAttempts,
      timeout: millisOf(options.timeout),
      deadline: millisOf(options.deadline),
      firstChunkTimeout: millisOf(options.firstChunkTimeout),
      hedgeDelay: millisOf(options.hedge?.delay),
      quotaCooldown: millisOf(options.quotaCooldown),
      alpha: latency?.alpha,
      reprobeAfter: latency === undefined ? undefined : Duration.toMillis(latency.reprobeAfter),
      weights,
      maxConcurrency: deployments.map((d) => d.maxConcurrency),
      circuit:
        circuit === undefined
          ? undefined
          : {
              ...circuit,
              window: millisOf(circuit.window),
              cooldown: millisOf(circuit.cooldown),
              maxCooldown: millisOf(circuit.maxCooldown)
            }
    }
    yield* Validate.options("Router", Checked, normalized)
    if (strategy._tag === "WeightedRandom" && weights.reduce((a, b) => a + b, 0) === 0) {
      return yield* bad("the weights sum to zero, so no deployment could ever be picked; give one a positive weight")
    }
    const cooldown = normalized.circuit?.cooldown ?? 10_000
    const failover = options.failover ?? true
    return {
      failover,
      maxAttempts: options.maxAttempts ?? Number.POSITIVE_INFINITY,
      timeout: normalized.timeout,
      deadline: normalized.deadline,
      retry: options.retry,
      waitForAvailable: options.waitForAvailable ?? false,
      firstChunkTimeout: normalized.firstChunkTimeout,
      hedgeDelay: failover ? normalized.hedgeDelay : undefined,
      quotaCooldown: normalized.quotaCooldown ?? 3_600_000,
      weights,
      needsDraw: strategy._tag === "WeightedRandom",
      needsCost: strategy._tag === "CostBased",
      rules: {
        alpha: latency?.alpha ?? 0.3,
        staleAfter: normalized.reprobeAfter ?? Number.POSITIVE_INFINITY,
        circuit:
          options.circuit === false
            ? undefined
            : {
                consecutiveFailures: circuit?.failures ?? 5,
                failureRate: circuit?.failureRate,
                minRequests: circuit?.minRequests ?? 10,
                window: normalized.circuit?.window ?? 60_000,
                cooldown,
                maxCooldown: Math.max(cooldown, normalized.circuit?.maxCooldown ?? 300_000),
                factor: circuit?.backoff ?? 2
              }
      }
    }
  })
