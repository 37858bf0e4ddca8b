/**
 * The router's own overhead.
 *
 * 1. Per strategy: a chat call through a router of three instant `LlmTest` deployments vs the same call made
 *    directly on one `LlmTest` service — sequentially, and 64 at a time. "Added" is the median over samples of
 *    (router − direct), in microseconds per call.
 * 2. A three-step fallback (two deployments failing transiently, then one that answers) through the router vs the
 *    same plan written with Effect's `ExecutionPlan` over prebuilt contexts (the fastest form of ExecutionPlan).
 *    The router runs with `circuit: false` here, so every call really takes all three steps, as the plan does.
 *
 * Every sample builds fresh services outside the timed region: `LlmTest` records each request it receives, so a
 * long-lived one gets slower with every call and would colour the numbers.
 *
 * Targets (issue 3): ≤ 5 µs added sequentially, ≤ 10 µs at 64 concurrent, fallback no slower than ExecutionPlan.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as ExecutionPlan from "effect/ExecutionPlan"
import type * as Scope from "effect/Scope"
import { cpus } from "node:os"
import { performance } from "node:perf_hooks"
import * as Deployment from "../src/Deployment.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import type * as Chat from "../src/Chat.js"
import { median, table } from "./util.js"

const request: Chat.ChatCompletionRequest = { model: "bench", messages: [{ role: "user", content: "hi" }] }

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 15)
const WARMUP = 3
const SEQUENTIAL_CALLS = 2_000
const CONCURRENCY = 64
const CONCURRENT_CALLS = CONCURRENCY * 50

type Build = Effect.Effect<LlmService.Service, unknown, Scope.Scope>

/** Microseconds per call of `calls` chat calls on a freshly built service, `concurrency` at a time. */
const timeCalls = (build: Build, calls: number, concurrency: number): Promise<number> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const service = yield* build
        const start = performance.now()
        yield* Effect.forEach(
          Array.from({ length: calls }),
          () => service.chat(request),
          concurrency === 1 ? { discard: true } : { concurrency, discard: true }
        )
        return ((performance.now() - start) * 1000) / calls
      })
    ) as Effect.Effect<number>
  )

interface Comparison {
  readonly base: number
  readonly subject: number
  /** Median of the per-sample differences: drift on a noisy machine hits both arms of a sample alike. */
  readonly added: number
}

/** Alternates the two arms sample by sample, so both see the same machine. */
const compare = async (base: () => Promise<number>, subject: () => Promise<number>): Promise<Comparison> => {
  for (let i = 0; i < WARMUP; i++) await Promise.all([await base(), await subject()])
  const bases: Array<number> = []
  const subjects: Array<number> = []
  const diffs: Array<number> = []
  for (let i = 0; i < SAMPLES; i++) {
    ;(globalThis as { gc?: () => void }).gc?.()
    const b = await base()
    ;(globalThis as { gc?: () => void }).gc?.()
    const s = await subject()
    bases.push(b)
    subjects.push(s)
    diffs.push(s - b)
  }
  return { base: median(bases), subject: median(subjects), added: median(diffs) }
}

const direct: Build = Effect.map(LlmTest.make(), (test) => test.service)

const routerOf = (strategy: Strategy.Strategy): Build =>
  Effect.map(
    Router.make({
      deployments: ["a", "b", "c"].map((name) => Deployment.make({ name, layer: LlmTest.layer() })),
      strategy
    }),
    (router) => router.service
  )

const strategies: ReadonlyArray<readonly [string, () => Strategy.Strategy]> = [
  ["roundRobin", () => Strategy.roundRobin()],
  ["fallback", () => Strategy.fallback()],
  ["latencyBased", () => Strategy.latencyBased()],
  ["costBased", () => Strategy.costBased()],
  ["weightedRandom", () => Strategy.weightedRandom()],
  ["leastBusy", () => Strategy.leastBusy()]
]

const unavailable = new LiterLlmError.ServiceUnavailable({ provider: "bench" })

const fallbackRouter: Build = Effect.map(
  Router.make({
    deployments: [
      Deployment.make({ name: "down-1", layer: LlmTest.layer({ fail: unavailable }) }),
      Deployment.make({ name: "down-2", layer: LlmTest.layer({ fail: unavailable }) }),
      Deployment.make({ name: "up", layer: LlmTest.layer() })
    ],
    strategy: Strategy.fallback(),
    circuit: false
  }),
  (router) => router.service
)

/** The same plan with ExecutionPlan: each step a prebuilt context, moving on only on transient errors. */
const fallbackPlan: Build = Effect.gen(function* () {
  const context = (options: LlmTest.Options) =>
    Effect.map(LlmTest.make(options), (test) => Context.make(LlmService.LlmService, test.service))
  const plan = ExecutionPlan.make(
    { provide: yield* context({ fail: unavailable }) },
    { provide: yield* context({ fail: unavailable }), while: LiterLlmError.isTransient },
    { provide: yield* context({}), while: LiterLlmError.isTransient }
  )
  // The plan's error type widens to `unknown` (its `while` accepts anything); the errors are the services' own.
  const chat = (req: Chat.ChatCompletionRequest) =>
    Effect.withExecutionPlan(LlmService.chat(req), plan) as Effect.Effect<
      Chat.ChatCompletionResponse,
      LiterLlmError.LiterLlmError
    >
  return LlmService.make({ chat })
})

const fmt = (micros: number) => micros.toFixed(2)
const verdict = (ok: boolean) => (ok ? "yes" : "**no**")

const main = async () => {
  const rows: Array<ReadonlyArray<string>> = []
  for (const [name, strategy] of strategies) {
    const sequential = await compare(
      () => timeCalls(direct, SEQUENTIAL_CALLS, 1),
      () => timeCalls(routerOf(strategy()), SEQUENTIAL_CALLS, 1)
    )
    const concurrent = await compare(
      () => timeCalls(direct, CONCURRENT_CALLS, CONCURRENCY),
      () => timeCalls(routerOf(strategy()), CONCURRENT_CALLS, CONCURRENCY)
    )
    rows.push([
      name,
      fmt(sequential.base),
      fmt(sequential.subject),
      fmt(sequential.added),
      verdict(sequential.added <= 5),
      fmt(concurrent.base),
      fmt(concurrent.subject),
      fmt(concurrent.added),
      verdict(concurrent.added <= 10)
    ])
  }
  const overhead = table(
    [
      "strategy",
      "direct µs (seq)",
      "router µs (seq)",
      "added µs (seq)",
      "≤ 5 µs",
      "direct µs (64)",
      "router µs (64)",
      "added µs (64)",
      "≤ 10 µs"
    ],
    rows
  )

  const fallback = await compare(
    () => timeCalls(fallbackPlan, SEQUENTIAL_CALLS, 1),
    () => timeCalls(fallbackRouter, SEQUENTIAL_CALLS, 1)
  )
  const fallback64 = await compare(
    () => timeCalls(fallbackPlan, CONCURRENT_CALLS, CONCURRENCY),
    () => timeCalls(fallbackRouter, CONCURRENT_CALLS, CONCURRENCY)
  )
  const fallbackTable = table(
    ["three-step fallback", "ExecutionPlan µs", "router µs", "router − plan µs", "router no slower"],
    [
      ["sequential", fmt(fallback.base), fmt(fallback.subject), fmt(fallback.added), verdict(fallback.added <= 0)],
      [
        "64 concurrent",
        fmt(fallback64.base),
        fmt(fallback64.subject),
        fmt(fallback64.added),
        verdict(fallback64.added <= 0)
      ]
    ]
  )

  process.stdout.write(
    `Median of ${SAMPLES} samples; ${SEQUENTIAL_CALLS} sequential calls or ${CONCURRENT_CALLS} calls 64 at a time per sample. ` +
      `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}.\n\n` +
      `Router overhead (router of three instant LlmTest deployments vs one LlmTest called directly):\n\n${overhead}\n` +
      `Fallback, two transient failures then success:\n\n${fallbackTable}`
  )
}

main().catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
