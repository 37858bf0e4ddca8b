/**
 * The router's own overhead.
 *
 * 1. Per strategy: a chat call through a router of three instant `LlmTest` deployments vs the same call made
 *    directly on one `LlmTest` service — sequentially, and 64 at a time. "Added" is the median over samples of
 *    (router − direct), in microseconds per call: over the samples run while the host ran this process at full
 *    speed (a probe between the arms tells; see `probeHost` in util.ts), and over all samples.
 * 2. A three-step fallback (two deployments failing transiently, then one that answers) through the router vs the
 *    same plan written with Effect's `ExecutionPlan` over prebuilt contexts (the fastest form of ExecutionPlan).
 *    The router runs with `circuit: false` here, so every call really takes all three steps, as the plan does.
 *
 * No forced `gc()` between samples, although the runner passes `--expose-gc`: a full collection before each sample
 * made the same Effect code several times slower (an 8 µs call measured 45 µs), so it would measure the collector's
 * aftermath, not the router.
 *
 * The library is measured as users run it: compiled by `tsc` (into node_modules/.cache/effect-liter-llm-bench, ~20 s
 * before the first sample), not transformed on the fly by tsx, whose `keepNames` wraps function literals in
 * `__name(...)` calls that cost per call and inflated the router's numbers. `BENCH_FROM_SOURCE=1` measures the
 * TypeScript sources through tsx instead.
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
import { cpus, loadavg } from "node:os"
import { performance } from "node:perf_hooks"
import type * as Chat from "../src/Chat.js"
import type * as LlmTestModule from "../src/LlmTest.js"
import { library } from "./compiled.js"
import { HostSpeed, median, table } from "./util.js"

/** The library's modules, compiled (the default) or from source: see `compiled.ts`. */
const load = async () => ({
  Deployment: await library<typeof import("../src/Deployment.js")>("Deployment"),
  LiterLlmError: await library<typeof import("../src/LiterLlmError.js")>("LiterLlmError"),
  LlmService: await library<typeof import("../src/LlmService.js")>("LlmService"),
  LlmTest: await library<typeof import("../src/LlmTest.js")>("LlmTest"),
  Router: await library<typeof import("../src/Router.js")>("Router"),
  Strategy: await library<typeof import("../src/Strategy.js")>("Strategy")
})

const { Deployment, LiterLlmError, LlmService, LlmTest, Router, Strategy } = await load()
type Strategy = import("../src/Strategy.js").Strategy
type LiterLlmError = import("../src/LiterLlmError.js").LiterLlmError
type Service = import("../src/LlmService.js").Service

const request: Chat.ChatCompletionRequest = { model: "bench", messages: [{ role: "user", content: "hi" }] }

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 45)
const WARMUP = 4
const SEQUENTIAL_CALLS = 1_000
const CONCURRENCY = 64
const CONCURRENT_CALLS = CONCURRENCY * 20

type Build = Effect.Effect<Service, unknown, Scope.Scope>

/** Time per call, in microseconds: on the wall clock, and in CPU time spent by this process. */
interface Timing {
  readonly wall: number
  readonly cpu: number
}

/** Times `calls` chat calls on a freshly built service, `concurrency` at a time. */
const timeCalls = (build: Build, calls: number, concurrency: number): Promise<Timing> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const service = yield* build
        const cpuStart = process.cpuUsage()
        const start = performance.now()
        yield* Effect.forEach(
          Array.from({ length: calls }),
          () => service.chat(request),
          concurrency === 1 ? { discard: true } : { concurrency, discard: true }
        )
        const wall = ((performance.now() - start) * 1000) / calls
        const cpu = process.cpuUsage(cpuStart)
        return { wall, cpu: (cpu.user + cpu.system) / calls }
      })
    ) as Effect.Effect<Timing>
  )

interface Comparison {
  /** Median CPU µs per call of the baseline and of the subject. */
  readonly base: number
  readonly subject: number
  /** Median of the per-sample differences in CPU µs: drift hits both arms of a sample alike. */
  readonly added: number
  /**
   * The same median over the samples whose both arms ran while the host ran this process at full speed (see
   * `probeHost`); `NaN` when fewer than five did.
   */
  readonly addedFullSpeed: number
  readonly fullSpeedSamples: number
  /** The same difference on the wall clock, which a busy shared machine inflates. */
  readonly addedWall: number
  /**
   * Fastest subject sample minus fastest baseline sample, in CPU µs: interference from other processes only ever
   * adds time, so the minimums estimate what a quiet machine would show.
   */
  readonly addedMin: number
}

/** The host's speed over the whole run: the full-speed figures are worked out once every probe is in. */
const host = new HostSpeed()

/**
 * Alternates the two arms sample by sample, so both see the same machine, with a host probe between the arms.
 * Returns a function that works out the comparison, to be called after the last measurement of the run.
 */
const compare = async (base: () => Promise<Timing>, subject: () => Promise<Timing>): Promise<() => Comparison> => {
  for (let i = 0; i < WARMUP; i++) {
    await base()
    await subject()
  }
  const bases: Array<number> = []
  const subjects: Array<number> = []
  const diffs: Array<number> = []
  const wallDiffs: Array<number> = []
  const probes: Array<readonly [number, number, number]> = []
  for (let i = 0; i < SAMPLES; i++) {
    const before = host.probe()
    const b = await base()
    const between = host.probe()
    const s = await subject()
    probes.push([before, between, host.probe()])
    bases.push(b.cpu)
    subjects.push(s.cpu)
    diffs.push(s.cpu - b.cpu)
    wallDiffs.push(s.wall - b.wall)
  }
  return () => {
    const fullSpeed = diffs.filter((_, i) => host.fullSpeed(...probes[i]!))
    return {
      base: median(bases),
      subject: median(subjects),
      added: median(diffs),
      addedFullSpeed: fullSpeed.length >= 5 ? median(fullSpeed) : NaN,
      fullSpeedSamples: fullSpeed.length,
      addedWall: median(wallDiffs),
      addedMin: Math.min(...subjects) - Math.min(...bases)
    }
  }
}

const direct: Build = Effect.map(LlmTest.make(), (test) => test.service)

/**
 * Deployments carry prices, as real ones do. Without them (`priced: false`) cost-based routing prices each request's
 * model, here one the price table does not know: `Pricing.lookup` misses cost hundreds of µs, so this row shows the
 * router's per-router memo of request-model prices at work.
 */
const routerOf = (strategy: Strategy, priced = true): Build =>
  Effect.map(
    Router.make({
      deployments: [1, 2, 3].map((n) =>
        Deployment.make({
          name: `d${n}`,
          layer: LlmTest.layer(),
          ...(priced ? { pricing: { inputPerMillion: n, outputPerMillion: 4 * n } } : {})
        })
      ),
      strategy
    }),
    (router) => router.service
  )

const strategies: ReadonlyArray<readonly [string, () => Strategy, boolean?]> = [
  ["roundRobin", () => Strategy.roundRobin()],
  ["fallback", () => Strategy.fallback()],
  ["latencyBased", () => Strategy.latencyBased()],
  ["costBased", () => Strategy.costBased()],
  ["costBased, no prices", () => Strategy.costBased(), false],
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
  const context = (options: LlmTestModule.Options) =>
    Effect.map(LlmTest.make(options), (test) => Context.make(LlmService.LlmService, test.service))
  const plan = ExecutionPlan.make(
    { provide: yield* context({ fail: unavailable }) },
    { provide: yield* context({ fail: unavailable }), while: LiterLlmError.isTransient },
    { provide: yield* context({}), while: LiterLlmError.isTransient }
  )
  // The plan's error type widens to `unknown` (its `while` accepts anything); the errors are the services' own.
  const chat = (req: Chat.ChatCompletionRequest) =>
    Effect.withExecutionPlan(LlmService.chat(req), plan) as Effect.Effect<Chat.ChatCompletionResponse, LiterLlmError>
  return LlmService.make({ chat })
})

const fmt = (micros: number) => micros.toFixed(2)
const verdict = (ok: boolean) => (ok ? "yes" : "**no**")

/**
 * One result row: baseline, subject, added CPU time at full speed and over all samples, the verdict (on the
 * full-speed figure when there is one), added minimum and added wall time.
 */
const cells = (c: Comparison, limit: number) => [
  fmt(c.base),
  fmt(c.subject),
  Number.isNaN(c.addedFullSpeed) ? "—" : `${fmt(c.addedFullSpeed)} (${c.fullSpeedSamples})`,
  fmt(c.added),
  verdict((Number.isNaN(c.addedFullSpeed) ? c.added : c.addedFullSpeed) <= limit),
  fmt(c.addedMin),
  fmt(c.addedWall)
]

const main = async () => {
  const sequentialRows: Array<() => ReadonlyArray<string>> = []
  const concurrentRows: Array<() => ReadonlyArray<string>> = []
  for (const [name, strategy, priced] of strategies) {
    const sequential = await compare(
      () => timeCalls(direct, SEQUENTIAL_CALLS, 1),
      () => timeCalls(routerOf(strategy(), priced), SEQUENTIAL_CALLS, 1)
    )
    const concurrent = await compare(
      () => timeCalls(direct, CONCURRENT_CALLS, CONCURRENCY),
      () => timeCalls(routerOf(strategy(), priced), CONCURRENT_CALLS, CONCURRENCY)
    )
    sequentialRows.push(() => [name, ...cells(sequential(), 5)])
    concurrentRows.push(() => [name, ...cells(concurrent(), 10)])
  }
  const headers = (limit: number) => [
    "strategy",
    "direct µs",
    "router µs",
    "added µs at full speed (samples)",
    "added µs, all samples",
    `≤ ${limit} µs`,
    "added µs (min)",
    "added µs (wall)"
  ]

  const fallback = await compare(
    () => timeCalls(fallbackPlan, SEQUENTIAL_CALLS, 1),
    () => timeCalls(fallbackRouter, SEQUENTIAL_CALLS, 1)
  )
  const fallback64 = await compare(
    () => timeCalls(fallbackPlan, CONCURRENT_CALLS, CONCURRENCY),
    () => timeCalls(fallbackRouter, CONCURRENT_CALLS, CONCURRENCY)
  )
  const fallbackTable = table(
    [
      "three-step fallback",
      "ExecutionPlan µs",
      "router µs",
      "router − plan µs at full speed (samples)",
      "router − plan µs, all samples",
      "router no slower",
      "(min)",
      "(wall)"
    ],
    [
      ["sequential", ...cells(fallback(), 0)],
      ["64 concurrent", ...cells(fallback64(), 0)]
    ]
  )

  process.stdout.write(
    `${process.env.BENCH_FROM_SOURCE === undefined ? "Compiled library (tsc)" : "Sources through tsx"}, ` +
      `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end. ` +
      `Median of ${SAMPLES} samples; a sample is ${SEQUENTIAL_CALLS} sequential calls, or ${CONCURRENT_CALLS} calls ` +
      `${CONCURRENCY} at a time. Times are CPU µs per call (process CPU time: steadier than the wall clock on a ` +
      `shared machine); "at full speed" takes the samples whose both arms ran while the host ran this process at full ` +
      `speed (${(100 * host.summary().fullSpeedShare).toFixed(0)}% of the probes in this run; see probeHost in ` +
      `bench/util.ts), and the verdict is on it where there are five such samples; "min" is the fastest router ` +
      `sample minus the fastest direct one; the wall-clock difference is shown for reference.\n\n` +
      `Router of three instant LlmTest deployments vs one LlmTest called directly — sequential:\n\n` +
      table(
        headers(5),
        sequentialRows.map((row) => row())
      ) +
      `\n${CONCURRENCY} concurrent:\n\n` +
      table(
        headers(10),
        concurrentRows.map((row) => row())
      ) +
      `\nFallback, two transient failures then success (router with circuit: false):\n\n${fallbackTable}`
  )
}

main().catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
