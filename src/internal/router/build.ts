/**
 * Building a router: validate the options (every problem is a `BadRequest` naming the field and the fix), build each
 * deployment's layer once in the router's scope, look for a `DeploymentHealth` in what it built, and normalize the
 * options into the millis-and-booleans `Config` the hot path reads.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Deployment from "../../Deployment.js"
import type * as Router from "../../Router.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import * as LlmService from "../../LlmService.js"
import * as Pricing from "../../Pricing.js"
import { DeploymentHealth } from "../health.js"
import * as Candidates from "./candidates.js"
import type * as Circuit from "./circuit.js"
import type { Config, Engine } from "./engine.js"
import * as State from "./state.js"

/** The circuit options as users write them. */
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

/** The router options as users write them (documented on `Router.Options`, the one place they are declared). */
export type RawOptions = Router.Options<Deployment.Deployment<any, any>>

const bad = (message: string) => Effect.fail(new LiterLlmError.BadRequest({ provider: "router", message }))

const millisOf = (input: Duration.DurationInput | undefined): number | undefined =>
  input === undefined ? undefined : Duration.toMillis(Duration.decode(input))

const isValidWeight = (w: number) => Number.isFinite(w) && w >= 0

/** Checks everything that can be checked before building a layer. */
export const validate = (options: RawOptions): Effect.Effect<ReadonlyArray<number>, LiterLlmError.BadRequest> => {
  const { deployments, strategy } = options
  if (deployments.length === 0) {
    return bad("a router needs at least one deployment; pass deployments: [Deployment.make({ name, layer }), …]")
  }
  const names = new Set<string>()
  for (const d of deployments) {
    if (names.has(d.name)) return bad(`two deployments are named "${d.name}"; give each deployment a unique name`)
    names.add(d.name)
    if (d.maxConcurrency !== undefined && !(d.maxConcurrency >= 1)) {
      return bad(`deployment "${d.name}" has maxConcurrency ${d.maxConcurrency}; use a number of at least 1`)
    }
  }
  const explicit = strategy._tag === "WeightedRandom" ? strategy.weights : undefined
  if (explicit !== undefined && explicit.length !== deployments.length) {
    return bad(
      `weightedRandom got ${explicit.length} weight(s) for ${deployments.length} deployment(s); give exactly one weight per deployment, in order`
    )
  }
  const weights = explicit ?? deployments.map((d) => d.weight ?? 1)
  for (let i = 0; i < weights.length; i++) {
    if (!isValidWeight(weights[i])) {
      return bad(
        `the weight of deployment "${deployments[i].name}" is ${weights[i]}; weights must be finite numbers of 0 or more`
      )
    }
  }
  if (strategy._tag === "WeightedRandom" && weights.reduce((a, b) => a + b, 0) === 0) {
    return bad("the weights sum to zero, so no deployment could ever be picked; give at least one a positive weight")
  }
  if (strategy._tag === "LatencyBased" && !(strategy.alpha > 0 && strategy.alpha <= 1)) {
    return bad(`latencyBased alpha is ${strategy.alpha}; use a number in (0, 1], e.g. 0.3`)
  }
  if (options.maxAttempts !== undefined && !(Number.isInteger(options.maxAttempts) && options.maxAttempts >= 1)) {
    return bad(`maxAttempts is ${options.maxAttempts}; use a whole number of at least 1`)
  }
  const circuit = options.circuit
  if (circuit !== undefined && circuit !== false) {
    if (circuit.failures !== undefined && !(Number.isInteger(circuit.failures) && circuit.failures >= 1)) {
      return bad(`circuit.failures is ${circuit.failures}; use a whole number of at least 1`)
    }
    if (circuit.failureRate !== undefined && !(circuit.failureRate > 0 && circuit.failureRate <= 1)) {
      return bad(`circuit.failureRate is ${circuit.failureRate}; use a fraction in (0, 1], e.g. 0.5`)
    }
    if (circuit.backoff !== undefined && !(circuit.backoff >= 1 && Number.isFinite(circuit.backoff))) {
      return bad(`circuit.backoff is ${circuit.backoff}; use a finite number of at least 1`)
    }
  }
  return Effect.succeed(weights)
}

const circuitPolicy = (circuit: false | CircuitOptions | undefined): Circuit.Policy | undefined => {
  if (circuit === false) return undefined
  const c = circuit ?? {}
  const cooldown = millisOf(c.cooldown) ?? 10_000
  return {
    consecutiveFailures: c.failures ?? 5,
    failureRate: c.failureRate,
    minRequests: c.minRequests ?? 10,
    window: millisOf(c.window) ?? 60_000,
    cooldown,
    maxCooldown: Math.max(cooldown, millisOf(c.maxCooldown) ?? 300_000),
    factor: c.backoff ?? 2
  }
}

/** Validates, builds every deployment once in the current scope, and assembles the engine. */
export const build = (options: RawOptions): Effect.Effect<Engine, any, any> =>
  Effect.gen(function* () {
    const weights = yield* validate(options)
    const metas: Array<State.Meta> = []
    for (let index = 0; index < options.deployments.length; index++) {
      const d = options.deployments[index]
      const context = yield* Layer.build(d.layer)
      const health = Context.getOption(context, DeploymentHealth)
      metas.push({
        index,
        name: d.name,
        service: Context.get(context, LlmService.LlmService),
        model: d.model,
        pricing: d.pricing ?? (d.model === undefined ? undefined : Option.getOrUndefined(Pricing.lookup(d.model))),
        weight: weights[index],
        priority: d.priority ?? 0,
        tags: d.tags ?? [],
        maxConcurrency: d.maxConcurrency ?? Number.POSITIVE_INFINITY,
        health: Option.getOrUndefined(health)
      })
    }
    const strategy = options.strategy
    const settings: State.Settings = {
      circuit: circuitPolicy(options.circuit),
      alpha: strategy._tag === "LatencyBased" ? strategy.alpha : 0.3,
      staleAfter: strategy._tag === "LatencyBased" ? Duration.toMillis(strategy.reprobeAfter) : Number.POSITIVE_INFINITY
    }
    const failover = options.failover ?? true
    const config: Config = {
      failover,
      maxAttempts: options.maxAttempts ?? Number.POSITIVE_INFINITY,
      timeout: millisOf(options.timeout),
      deadline: millisOf(options.deadline),
      retry: options.retry,
      waitForAvailable: options.waitForAvailable ?? false,
      firstChunkTimeout: millisOf(options.firstChunkTimeout),
      hedgeDelay: failover ? millisOf(options.hedge?.delay) : undefined,
      needsDraw: strategy._tag === "WeightedRandom",
      needsCost: strategy._tag === "CostBased",
      hasHealth: metas.some((m) => m.health !== undefined)
    }
    return {
      metas,
      settings,
      config,
      state: State.initial(metas.length),
      order: Candidates.compile(strategy, metas, settings, weights)
    } satisfies Engine
  }) as Effect.Effect<Engine, any, Scope.Scope>
