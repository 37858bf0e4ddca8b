/**
 * Middleware overhead: what the managed client (`LlmClient` with every piece on) adds per call on top of an instant
 * `LlmTest` deployment, each piece alone (to show where the time goes), and how much faster a cache hit is than a
 * call to a deployment that answers in 1 ms.
 *
 * Targets (issue 5): at most 15 µs median added per call by the full stack on a 2-core machine; a cache hit at
 * least 20x faster than a call to a 1 ms deployment.
 *
 * The library is measured compiled by tsc, as users run it (see compiled.ts; `BENCH_FROM_SOURCE=1` for the sources).
 *
 * Run: `npm run bench -- middleware` (or `node --import tsx --expose-gc bench/middleware.bench.ts`).
 */
import * as Context from "effect/Context"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { cpus } from "node:os"
import type * as Chat from "../src/Chat.js"
import type * as HooksModule from "../src/Hooks.js"
import type * as LlmServiceModule from "../src/LlmService.js"
import { library } from "./compiled.js"
import { HostSpeed, measure, median, table } from "./util.js"

// The library as users run it: compiled by tsc, not transformed by tsx (see compiled.ts).
const Budget = await library<typeof import("../src/Budget.js")>("Budget")
const HealthCheck = await library<typeof import("../src/HealthCheck.js")>("HealthCheck")
const LlmCache = await library<typeof import("../src/LlmCache.js")>("LlmCache")
const LlmClient = await library<typeof import("../src/LlmClient.js")>("LlmClient")
const LlmService = await library<typeof import("../src/LlmService.js")>("LlmService")
const LlmTest = await library<typeof import("../src/LlmTest.js")>("LlmTest")
const RateLimit = await library<typeof import("../src/RateLimit.js")>("RateLimit")
const Telemetry = await library<typeof import("../src/Telemetry.js")>("Telemetry")
const Hooks = await library<typeof HooksModule>("Hooks")
declare namespace LlmService {
  type Service = LlmServiceModule.Service
  type LlmService = LlmServiceModule.LlmService
}
declare namespace Hooks {
  type Hook = HooksModule.Hook
}

const OPS = 2_000
const BATCHES = 12 // rounds at least, the first WARMUP untimed
const WARMUP = 3
const MAX_ROUNDS = 120
const MIN_FULL_SPEED = 9 // rounds at full speed wanted per variant (see HostSpeed)
const MIN_REPORTED = 5 // fewer than this, and no full-speed figure is given
const PARTS = 4 // probes within a timed batch (see `overhead`)
const pricing = { inputPerMillion: 0.15, outputPerMillion: 0.6, cachedInputPerMillion: 0.075 }

/**
 * The requests of batch `b`: distinct from every other batch's, so a cache built for a variant misses on every call and
 * each piece does its full work. Built just before the batch, outside the timed region, and dropped after it, as an
 * application's requests are: requests built up front and kept for the whole run (48,000 of them) made every major
 * collection mark them, and charged that to whichever variant filled the old generation fastest (the caches).
 */
const slice = (b: number, ops = OPS, context = ""): ReadonlyArray<Chat.ChatCompletionRequest> =>
  Array.from({ length: ops }, (_, i) => ({
    model: "gpt-4o-mini",
    messages: [
      { role: "system" as const, content: "You are a terse assistant." + context },
      { role: "user" as const, content: `Question ${b}-${i}: what is ${i} plus ${b}?` }
    ],
    max_tokens: 64,
    temperature: 0
  }))

/** About 16 KB of text, the size of a system prompt with some retrieved documents in it. */
const longContext = " Here is a document you may quote from.".repeat(420)

const scope = Effect.runSync(Scope.make())

/**
 * An instant deployment answering like `LlmTest` (same response shape, usage on every answer). `LlmTest` itself
 * appends every request to a log it copies on each call, which at the tens of thousands of calls a benchmark makes
 * costs more than everything measured here; this one keeps nothing.
 */
const instant: Layer.Layer<LlmService.LlmService> = LlmService.layer({
  provider: "bench",
  chat: (request) =>
    Effect.map(Clock.currentTimeMillis, (now) => ({
      id: "chatcmpl-bench",
      object: "chat.completion",
      created: Math.floor(now / 1000),
      model: request.model,
      choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 20, completion_tokens: 1, total_tokens: 21 }
    })),
  listModels: Effect.succeed({ object: "list", data: [{ id: "gpt-4o-mini", object: "model", owned_by: "bench" }] })
})

/** Builds a layer once and keeps it alive for the whole run. */
const serviceOf = <E>(layer: Layer.Layer<LlmService.LlmService, E>): Promise<LlmService.Service> =>
  Effect.runPromise(Effect.map(Layer.buildWithScope(layer, scope), Context.get(LlmService.LlmService)))

/** A middleware over an instant fake deployment. */
const over = <E>(piece: Layer.Layer<LlmService.LlmService, E, LlmService.LlmService>) =>
  serviceOf(Layer.provide(piece, instant))

/** Batches for one variant: `next()` builds the next batch's requests, `run` sends them. */
const batches = (service: LlmService.Service, requests: (b: number) => ReadonlyArray<Chat.ChatCompletionRequest>) => {
  let b = 0
  return {
    next: () => requests(b++),
    run: (requests: ReadonlyArray<Chat.ChatCompletionRequest>) =>
      Effect.runPromise(Effect.forEach(requests, (request) => service.chat(request), { discard: true }))
  }
}

const huge = { rpm: 1_000_000_000, tpm: 1_000_000_000_000 }
const noopHooks: ReadonlyArray<Hooks.Hook> = [{ onRequest: () => Effect.void, onResponse: () => Effect.void }]

const fullOptions = {
  layer: instant,
  cache: {},
  healthCheck: { interval: "30 seconds" },
  rateLimit: huge,
  budget: { globalLimit: 1_000_000, prices: { "gpt-4o-mini": pricing } },
  hooks: noopHooks,
  telemetry: { deployment: "bench", provider: "openai", pricing }
} as const

interface Overhead {
  readonly name: string
  /** Rounds in which this variant's batch ran at full speed. */
  readonly rounds: number
  readonly allRounds: number
  readonly medianMicros: number
  readonly addedMicros: number
  readonly addedAllRounds: number
}

/**
 * The CPU time per call of each variant and what it adds to the first (the bare service), over interleaved rounds.
 *
 * CPU time of the process, not wall time: on a shared machine other processes steal the CPU, which wall time would
 * count. Interleaved rounds (every variant once per round) rather than one variant after another, so load changes
 * reach every variant alike; the overhead of a variant is the median over rounds of its difference to the bare
 * service in the same round. The host itself also runs this process at two speeds (see `probeHost`), which CPU time
 * does not see: each timed batch is bracketed and cut in four by probes, and the figures that count are over the batches run at full
 * speed: a variant's median over its full-speed batches, less the bare service's over its own. (Not paired by round:
 * with the host slow two thirds of the time, a round in which both ran at full speed is rare, and the drift pairing
 * guards against is what the probes already filter out.) Rounds go on until every variant has MIN_FULL_SPEED
 * full-speed batches (or MAX_ROUNDS is reached); the paired medians over all rounds are reported beside them.
 */
const overhead = async (
  variants: ReadonlyArray<readonly [string, () => Promise<LlmService.Service>]>,
  requests: (b: number) => ReadonlyArray<Chat.ChatCompletionRequest>,
  host: HostSpeed
): Promise<ReadonlyArray<Overhead>> => {
  const built = await Promise.all(
    variants.map(async ([name, make]) => ({ name, batches: batches(await make(), requests) }))
  )
  const perOp: Array<Array<number>> = built.map(() => [])
  const probes: Array<Array<ReadonlyArray<number>>> = built.map(() => [])
  const fullSpeedRounds = (v: number) =>
    perOp[v]!.flatMap((_, round) => (host.fullSpeed(...probes[v]![round]!) ? [round] : []))
  for (let round = 0; round < MAX_ROUNDS; round++) {
    for (let v = 0; v < built.length; v++) {
      // An untimed batch first: it pays the collection of the garbage the variant before left behind, which would
      // otherwise be charged to this one. Each variant still pays for its own garbage in the timed batch.
      const variant = built[v]!.batches
      await variant.run(variant.next())
      const batch = variant.next()
      // Timed in PARTS parts with a probe between each, so that a slow phase starting or ending inside the batch is
      // seen; the CPU time is that of the parts, and the batch keeps its size (a collection every ~1,500 calls here).
      const taken = [host.probe()]
      let cpu = 0
      const part = Math.ceil(batch.length / PARTS)
      for (let from = 0; from < batch.length; from += part) {
        const start = process.cpuUsage()
        await variant.run(batch.slice(from, from + part))
        const used = process.cpuUsage(start)
        cpu += used.user + used.system
        taken.push(host.probe())
      }
      if (round >= WARMUP) {
        perOp[v]!.push(cpu / batch.length)
        probes[v]!.push(taken)
      }
    }
    if (round + 1 >= BATCHES && built.every((_, v) => fullSpeedRounds(v).length >= MIN_FULL_SPEED)) break
  }
  const bareRounds = fullSpeedRounds(0)
  const bare = bareRounds.length >= MIN_REPORTED ? median(bareRounds.map((r) => perOp[0]![r]!)) : NaN
  return built.map((b, v) => {
    const rounds = fullSpeedRounds(v)
    const enough = rounds.length >= MIN_REPORTED
    return {
      name: b.name,
      rounds: rounds.length,
      allRounds: perOp[v]!.length,
      medianMicros: enough ? median(rounds.map((r) => perOp[v]![r]!)) : NaN,
      addedMicros: enough ? median(rounds.map((r) => perOp[v]![r]!)) - bare : NaN,
      addedAllRounds: median(perOp[v]!.map((t, round) => t - perOp[0]![round]!))
    }
  })
}

const shown = (n: number) => (Number.isNaN(n) ? "too few full-speed batches" : n)

/** The overhead table. */
const overheadTable = (samples: ReadonlyArray<Overhead>): string =>
  table(
    [
      "variant",
      "CPU µs/call (median, full speed)",
      "added vs bare at full speed (CPU µs, difference of medians)",
      "added vs bare, all rounds (median of paired rounds)",
      "calls/s per core",
      "full-speed batches"
    ],
    samples.map((s) => [
      s.name,
      shown(s.medianMicros),
      shown(s.addedMicros),
      s.addedAllRounds,
      Number.isNaN(s.medianMicros) ? "—" : Math.round(1_000_000 / s.medianMicros),
      `${s.rounds} of ${s.allRounds}`
    ])
  )

const main = async () => {
  const variants: ReadonlyArray<readonly [string, () => Promise<LlmService.Service>]> = [
    ["bare instant service", () => serviceOf(instant)],
    ["LlmClient, no pieces", () => serviceOf(LlmClient.layer({ layer: instant }))],
    ["Telemetry only", () => over(Telemetry.layer({ deployment: "bench", pricing }))],
    ["Hooks only (2 no-op hooks)", () => over(Hooks.layer(noopHooks))],
    ["Budget only", () => over(Budget.layer({ globalLimit: 1_000_000, prices: { "gpt-4o-mini": pricing } }))],
    ["RateLimit only", () => over(RateLimit.layer(huge))],
    ["HealthCheck only", () => over(HealthCheck.layer({ interval: "30 seconds" }))],
    ["LlmCache only (all misses)", () => over(LlmCache.layer({}))],
    // For scale, not part of the library: what Effect's own span costs around the same service, without the stack
    // capture Effect.withSpan does by default (with it, several times more).
    [
      "for scale: Effect.withSpan around the bare service",
      async () => {
        const bare = await serviceOf(instant)
        return LlmService.make({
          chat: (request) => Effect.withSpan(bare.chat(request), "chat", { kind: "client", captureStackTrace: false })
        })
      }
    ],
    ["full LlmClient without cache", () => serviceOf(LlmClient.layer({ ...fullOptions, cache: undefined }))],
    ["full LlmClient (all misses)", () => serviceOf(LlmClient.layer(fullOptions))]
  ]
  // Cache hit vs a 1 ms deployment: sequential calls of one request, in wall time (the deployment's millisecond is
  // spent waiting, not computing). Measured first, on a fresh heap: the overhead rounds below leave tens of
  // thousands of rate-limit window entries, cache entries and spans' garbage behind, which slows every later call.
  const one = slice(-1, 1)[0]!
  const slow = await serviceOf(LlmTest.layer({ latency: "1 millis" })) // few calls: its request log stays small
  const cachedAlone = await over(LlmCache.layer({}))
  const cachedClient = await serviceOf(LlmClient.layer(fullOptions))
  await Effect.runPromise(Effect.all([cachedAlone.chat(one), cachedClient.chat(one)]))
  const repeat = (service: LlmService.Service, n: number) => () =>
    Effect.runPromise(Effect.repeatN(service.chat(one), n - 1))
  const slowSample = await measure("1 ms deployment", repeat(slow, 200), { opsPerBatch: 200, samples: 5, warmup: 1 })
  const hitAlone = await measure("cache hit (LlmCache alone)", repeat(cachedAlone, OPS), { opsPerBatch: OPS })
  const hitClient = await measure("cache hit (full LlmClient)", repeat(cachedClient, OPS), { opsPerBatch: OPS })
  process.stdout.write(
    table(
      ["variant", "µs/call (median)", "speed-up vs 1 ms deployment"],
      [slowSample, hitAlone, hitClient].map((s) => [
        s.name,
        s.medianMicros,
        `${(slowSample.medianMicros / s.medianMicros).toFixed(1)}x`
      ])
    )
  )
  process.stdout.write("\n")
  const host = new HostSpeed()
  const samples = await overhead(variants, (b) => slice(b), host)
  process.stdout.write(overheadTable(samples))
  // Long prompts: what grows with the size of a request is the cache's key (the rest reads lengths and fields).
  const long = await overhead(
    [
      ["bare instant service, 16 KB prompts", () => serviceOf(instant)],
      ["LlmCache only (all misses), 16 KB prompts", () => over(LlmCache.layer({}))],
      ["full LlmClient (all misses), 16 KB prompts", () => serviceOf(LlmClient.layer(fullOptions))]
    ],
    (b) => slice(b, OPS / 4, longContext),
    host
  )
  process.stdout.write("\n" + overheadTable(long))
  const speed = host.summary()
  process.stdout.write(
    `\nHost speed: ${(100 * speed.fullSpeedShare).toFixed(0)}% of the probes ran at full speed ` +
      `(${host.fastest.toFixed(0)} µs, tolerance ${host.tolerance}×); the others took a median ${speed.slowdown.toFixed(2)}× as long.\n`
  )

  const full = samples.find((s) => s.name === "full LlmClient (all misses)")!
  const atFullSpeed = Number.isNaN(full.addedMicros)
    ? "too few batches ran at full speed for a figure (rerun)"
    : `${full.addedMicros.toFixed(2)} µs/call at full speed`
  process.stdout.write(
    `\n${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}. ` +
      `Full stack adds ${atFullSpeed} (target ≤ 15; ${full.addedAllRounds.toFixed(2)} over all rounds as ` +
      `measured); ` +
      `cache hit through the full client is ${(slowSample.medianMicros / hitClient.medianMicros).toFixed(0)}x faster ` +
      `than a 1 ms deployment (target ≥ 20).\n`
  )
  await Effect.runPromise(Scope.close(scope, Exit.void))
}

main().catch((error) => {
  process.stderr.write(String(error) + "\n")
  process.exit(1)
})
