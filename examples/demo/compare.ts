/**
 * The heart of the demo: build a router over a fleet with one strategy, send it a stream of requests, and sum up
 * what happened — who answered, how fast, at what cost, and how often the router had to step in.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import type { Chat, Deployment, LiterLlmError } from "../../src/index.js"
import { LlmService, Pricing, Router, Strategy } from "../../src/index.js"
import type { Fleet } from "./fleets.js"
import { percentile } from "./table.js"

/** The strategies the demo compares, in the order it prints them. */
export const strategies: ReadonlyArray<readonly [name: string, strategy: Strategy.Strategy]> = [
  ["roundRobin", Strategy.roundRobin()],
  ["fallback", Strategy.fallback()],
  ["latencyBased", Strategy.latencyBased()],
  ["costBased", Strategy.costBased()],
  ["weightedRandom", Strategy.weightedRandom()],
  ["leastBusy", Strategy.leastBusy()]
]

/** How hard to drive the router. */
export interface Load {
  /** Requests sent per strategy. */
  readonly requests: number
  /** Requests in flight at once. */
  readonly concurrency: number
  /** The i-th request (default {@link requestNumber}). */
  readonly request?: ((i: number) => Chat.ChatCompletionRequest) | undefined
}

/** What one strategy achieved over the whole load. */
export interface Outcome {
  readonly strategy: string
  readonly requests: number
  /** Answers per deployment name, in the fleet's order. */
  readonly answered: ReadonlyArray<readonly [deployment: string, answers: number]>
  readonly p50Millis: number
  readonly p95Millis: number
  /** Sum of every answer's cost, from its usage and the answering deployment's pricing. */
  readonly costUsd: number
  /** Times a request moved on to another deployment after a transient failure. */
  readonly failovers: number
  /** Times a deployment's circuit breaker opened. */
  readonly circuitTrips: number
  /** Requests that failed for the caller, by error tag. */
  readonly errors: ReadonlyArray<readonly [tag: string, count: number]>
  /** The message of the first error a caller saw, if any: the place to start when a run goes wrong. */
  readonly firstError: string | undefined
}

/**
 * The i-th request of the load: prompts and output limits vary, so cost-based routing has something to weigh.
 * Deterministic, so every strategy sees the same requests.
 */
export const requestNumber = (i: number): Chat.ChatCompletionRequest => ({
  model: "demo",
  max_tokens: 128 + ((i * 97) % 384),
  messages: [
    { role: "system", content: "You are a concise assistant." },
    { role: "user", content: `Question ${i}: ${"tell me more about routing ".repeat(1 + ((i * 31) % 40))}` }
  ]
})

/**
 * Runs the load through a fresh router with `strategy` over a fresh start of the fleet, and sums up the result.
 * Everything it starts (servers, the router's deployments) stops when it returns.
 */
export const runStrategy = <R>(
  fleet: Fleet<R>,
  name: string,
  strategy: Strategy.Strategy,
  load: Load
): Effect.Effect<Outcome, unknown, R> =>
  Effect.scoped(
    Effect.gen(function* () {
      const spent = yield* Ref.make(0)
      const deployments = yield* fleet.deployments
      const router = yield* Router.make({
        deployments: deployments.map((d) => metered(d, spent)),
        strategy,
        // A call slower than this is abandoned, and the request fails over.
        timeout: fleet.router.timeout,
        // Trip a deployment failing a fifth of its calls; rest it for `cooldown` (doubling per trip), then probe.
        circuit: { failureRate: 0.2, minRequests: 20, window: "30 seconds", cooldown: fleet.router.cooldown }
      })

      const latencies: Array<number> = []
      const errors = new Map<string, number>()
      let firstError: LiterLlmError.LiterLlmError | undefined

      yield* Effect.forEach(
        Array.from({ length: load.requests }, (_, i) => (load.request ?? requestNumber)(i)),
        (request) =>
          router.service.chat(request).pipe(
            Effect.timed,
            Effect.match({
              onFailure: (error) => {
                firstError ??= error
                errors.set(error._tag, (errors.get(error._tag) ?? 0) + 1)
              },
              onSuccess: ([took]) => latencies.push(Duration.toMillis(took))
            })
          ),
        { concurrency: load.concurrency, discard: true }
      )

      const stats = yield* router.stats
      latencies.sort((a, b) => a - b)
      return {
        strategy: name,
        requests: load.requests,
        answered: stats.deployments.map((d) => [d.name, d.successes] as const),
        p50Millis: percentile(latencies, 0.5),
        p95Millis: percentile(latencies, 0.95),
        costUsd: yield* Ref.get(spent),
        failovers: stats.failovers,
        circuitTrips: stats.deployments.reduce((sum, d) => sum + d.trips, 0),
        errors: [...errors],
        firstError: firstError === undefined ? undefined : describeError(firstError)
      } satisfies Outcome
    })
  )

/**
 * Wraps a deployment so every answer it gives adds its cost to `meter` — a deployment is just a layer, so this is a
 * four-line middleware. Metering at the deployment, not at the caller, credits each answer to whoever gave it.
 */
const metered = <E, R>(
  deployment: Deployment.Deployment<E, R>,
  meter: Ref.Ref<number>
): Deployment.Deployment<E, R> => {
  const pricing = deployment.pricing
  if (pricing === undefined) return deployment
  const layer = Layer.effect(
    LlmService.LlmService,
    Effect.map(LlmService.LlmService, (service) => ({
      ...service,
      chat: (request: Chat.ChatCompletionRequest) =>
        Effect.tap(service.chat(request), (response) =>
          Ref.update(meter, (usd) => usd + costOf(pricing, response.usage))
        )
    }))
  ).pipe(Layer.provide(deployment.layer))
  return { ...deployment, layer }
}

/** An error with what it wraps: `AllDeploymentsFailed` lists each deployment's own error. */
const describeError = (error: LiterLlmError.LiterLlmError): string =>
  error._tag === "AllDeploymentsFailed"
    ? `${error.message}\n${error.attempts.map((a) => `  ${a.deployment}: ${a.error._tag}: ${a.error.message}`).join("\n")}`
    : `${error._tag}: ${error.message}`

const costOf = (pricing: Pricing.ModelPricing, usage: Chat.Usage | null | undefined): number =>
  usage == null
    ? 0
    : Pricing.costOf(pricing, { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens })
