/**
 * The router's own cost, measured through its public layer.
 *
 * - Per strategy: a chat call through a router of three instant `LlmTest` deployments vs the same call on one
 *   `LlmTest` called directly, sequentially and 64 at a time. Targets (issue 13): at most 10 µs added per call
 *   sequentially, 20 µs at 64 concurrent.
 * - A three-step fallback (two deployments failing transiently, the third answering) through the router vs the same
 *   plan written with Effect's `ExecutionPlan`, its steps given prebuilt contexts (its fastest form). The router runs
 *   with `circuit: false`, so every call really takes all three steps. Target: the router is faster.
 *
 * Every round builds its services afresh, untimed (an `LlmTest` keeps every request it sees), then times its calls
 * in CPU time.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as ExecutionPlan from "effect/ExecutionPlan"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Chat from "../src/Chat.js"
import type * as LiterLlmErrorTypes from "../src/LiterLlmError.js"
import type * as LlmServiceTypes from "../src/LlmService.js"
import type * as StrategyTypes from "../src/Strategy.js"
import { compiled, Lib } from "./library.js"
import { type Arm, compare, perOp } from "./measure.js"
import { type Row, setting, table } from "./report.js"

const { Deployment, LiterLlmError, LlmService, LlmTest, Router, Strategy } = Lib

const request: Chat.ChatCompletionRequest = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }
const SEQUENTIAL = 1_000
const CONCURRENCY = 64
const CONCURRENT = CONCURRENCY * 20

type Build = Effect.Effect<LlmServiceTypes.Service, unknown, Scope.Scope>

const serviceOf = (layer: Layer.Layer<LlmServiceTypes.LlmService, unknown>): Build =>
  Effect.map(Layer.build(layer), Context.get(LlmService.LlmService))

/** One round of one arm: builds the service (untimed), then times `calls` chat calls, `concurrency` at a time. */
const round =
  (build: Build, calls: number, concurrency: number): Arm =>
  () =>
    Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(build, (service) =>
          perOp(
            "cpu",
            calls,
            Effect.forEach(
              Array.from({ length: calls }),
              () => service.chat(request),
              concurrency === 1 ? { discard: true } : { concurrency, discard: true }
            )
          )
        )
      )
    )

const direct = serviceOf(LlmTest.layer())

/** Three instant deployments with prices, as real ones have (cost-based routing reads them). */
const routerOf = (strategy: () => StrategyTypes.Strategy): Build =>
  Effect.suspend(() =>
    serviceOf(
      Router.layer({
        deployments: [1, 2, 3].map((n) =>
          Deployment.make({
            name: `d${n}`,
            layer: LlmTest.layer(),
            pricing: { inputPerMillion: n, outputPerMillion: 4 * n }
          })
        ),
        strategy: strategy()
      })
    )
  )

const strategies: ReadonlyArray<readonly [string, () => StrategyTypes.Strategy]> = [
  ["roundRobin", () => Strategy.roundRobin()],
  ["fallback", () => Strategy.fallback()],
  ["latencyBased", () => Strategy.latencyBased()],
  ["costBased", () => Strategy.costBased()],
  ["weightedRandom", () => Strategy.weightedRandom()],
  ["leastBusy", () => Strategy.leastBusy()]
]

const unavailable = new LiterLlmError.ServiceUnavailable({ provider: "bench", message: "down for the benchmark" })

const fallbackRouter = serviceOf(
  Router.layer({
    deployments: [
      Deployment.make({ name: "down-1", layer: LlmTest.layer({ fail: unavailable }) }),
      Deployment.make({ name: "down-2", layer: LlmTest.layer({ fail: unavailable }) }),
      Deployment.make({ name: "up", layer: LlmTest.layer() })
    ],
    strategy: Strategy.fallback(),
    circuit: false
  })
)

/** The same three steps as an `ExecutionPlan`, each step a context built beforehand, moving on on transient errors. */
const fallbackPlan: Build = Effect.gen(function* () {
  const context = (layer: Layer.Layer<LlmServiceTypes.LlmService>) =>
    Effect.map(serviceOf(layer), (service) => Context.make(LlmService.LlmService, service))
  const plan = ExecutionPlan.make(
    { provide: yield* context(LlmTest.layer({ fail: unavailable })) },
    { provide: yield* context(LlmTest.layer({ fail: unavailable })), while: LiterLlmError.isTransient },
    { provide: yield* context(LlmTest.layer()), while: LiterLlmError.isTransient }
  )
  // The plan's error type widens to `unknown` (its `while` is typed for any input); the errors are the services'.
  const chat = (req: Chat.ChatCompletionRequest) =>
    Effect.withExecutionPlan(LlmService.chat(req), plan) as Effect.Effect<
      Chat.ChatCompletionResponse,
      LiterLlmErrorTypes.LiterLlmError
    >
  return LlmService.make({ chat })
})

const main = async () => {
  const sequential: Array<Row> = []
  const concurrent: Array<Row> = []
  for (const [name, strategy] of strategies) {
    const router = routerOf(strategy)
    sequential.push({
      name,
      samples: await compare(round(direct, SEQUENTIAL, 1), round(router, SEQUENTIAL, 1)),
      target: { _tag: "Added", max: 10 }
    })
    concurrent.push({
      name,
      samples: await compare(round(direct, CONCURRENT, CONCURRENCY), round(router, CONCURRENT, CONCURRENCY)),
      target: { _tag: "Added", max: 20 }
    })
  }
  const fallback: Array<Row> = [
    {
      name: "sequential",
      samples: await compare(round(fallbackPlan, SEQUENTIAL, 1), round(fallbackRouter, SEQUENTIAL, 1)),
      target: { _tag: "Faster", times: 1 }
    },
    {
      name: `${CONCURRENCY} concurrent`,
      samples: await compare(
        round(fallbackPlan, CONCURRENT, CONCURRENCY),
        round(fallbackRouter, CONCURRENT, CONCURRENCY)
      ),
      target: { _tag: "Faster", times: 1 }
    }
  ]
  const labels = { baseline: "direct", subject: "router", unit: "µs/call" }
  process.stdout.write(
    setting(
      `CPU µs per chat call, ${compiled ? "library compiled by tsc" : "sources through tsx"}; a round is ` +
        `${SEQUENTIAL} sequential calls or ${CONCURRENT} calls ${CONCURRENCY} at a time.`
    ) +
      `\nRouter of three instant LlmTest deployments vs one LlmTest called directly, sequential:\n\n` +
      table(sequential, labels) +
      `\nThe same, ${CONCURRENCY} concurrent:\n\n` +
      table(concurrent, labels) +
      `\nThree-step fallback (two transient failures, then an answer), router vs ExecutionPlan:\n\n` +
      table(fallback, { baseline: "ExecutionPlan", subject: "router", unit: "µs/call" })
  )
}

main().catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
