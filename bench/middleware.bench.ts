/**
 * What the managed client costs, measured through `LlmClient.layer` over an instant `LlmTest` deployment.
 *
 * - Cache misses: every piece alone, then the whole stack (cache, budget, rate limit, hooks, telemetry, health
 *   check), vs the same `LlmTest` called directly, in CPU time. Every request of a round is distinct, so the cache
 *   misses every time and each piece does its full work. Target (issue 13): the whole stack adds at most 50 µs.
 * - Cache hits: the same request again through a cache over a deployment that answers in 1 ms, vs calling that
 *   deployment, in wall time. Target: a hit at least 20× faster.
 *
 * Every round builds its client afresh, untimed, and gets requests built before its clock starts.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Chat from "../src/Chat.js"
import type * as LlmClientTypes from "../src/LlmClient.js"
import type * as LlmServiceTypes from "../src/LlmService.js"
import { compiled, Lib } from "./library.js"
import { type Arm, type Clock, compare, perOp } from "./measure.js"
import { type Row, setting, table } from "./report.js"

const { LlmClient, LlmService, LlmTest } = Lib

const CALLS = 1_000
const SLOW_CALLS = 20

let batch = 0
/** `CALLS` requests no earlier round has sent: a new batch number in every question. */
const freshRequests = (): ReadonlyArray<Chat.ChatCompletionRequest> => {
  const b = batch++
  return Array.from({ length: CALLS }, (_, i) => ({
    model: "gpt-4o-mini",
    messages: [
      { role: "system", content: "You are a terse assistant." },
      { role: "user", content: `Question ${b}-${i}: what is ${i} plus ${b}?` }
    ],
    max_tokens: 64,
    temperature: 0
  }))
}

type Build = Effect.Effect<LlmServiceTypes.Service, unknown, Scope.Scope>

const serviceOf = (layer: Layer.Layer<LlmServiceTypes.LlmService, unknown>): Build =>
  Effect.map(Layer.build(layer), Context.get(LlmService.LlmService))

/**
 * One round of one arm: builds the service and the requests (untimed), then times the calls in sequence on `clock`.
 * With `prime`, one untimed call first puts the answer in the cache.
 */
const round =
  (build: Build, requests: () => ReadonlyArray<Chat.ChatCompletionRequest>, clock: Clock, prime = false): Arm =>
  () =>
    Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const service = yield* build
          const batch = requests()
          if (prime) yield* service.chat(batch[0]!)
          return yield* perOp(
            clock,
            batch.length,
            Effect.forEach(batch, (request) => service.chat(request), { discard: true })
          )
        })
      )
    )

/** Every piece on; limits far above anything a benchmark reaches. */
const everything = {
  cache: {},
  budget: { globalLimit: 1_000_000 },
  rateLimit: { rpm: 1_000_000_000, tpm: 1_000_000_000_000 },
  hooks: [{ onRequest: () => Effect.void, onResponse: () => Effect.void }],
  telemetry: true,
  healthCheck: { interval: "30 seconds" }
} satisfies Omit<LlmClientTypes.Options, "layer">

type Pieces = Partial<typeof everything>

const client = (deployment: Layer.Layer<LlmServiceTypes.LlmService>, pieces: Pieces): Build =>
  serviceOf(LlmClient.layer({ layer: deployment, ...pieces }))

const misses: ReadonlyArray<readonly [string, Pieces]> = [
  ["cache alone", { cache: everything.cache }],
  ["budget alone", { budget: everything.budget }],
  ["rate limit alone", { rateLimit: everything.rateLimit }],
  ["hooks alone (one hook, two no-op callbacks)", { hooks: everything.hooks }],
  ["telemetry alone", { telemetry: everything.telemetry }],
  ["health check alone", { healthCheck: everything.healthCheck }],
  ["whole stack", everything]
]

const main = async () => {
  const instant = LlmTest.layer()
  const direct = round(serviceOf(instant), freshRequests, "cpu")
  const missRows: Array<Row> = []
  for (const [name, pieces] of misses) {
    missRows.push({
      name,
      samples: await compare(direct, round(client(instant, pieces), freshRequests, "cpu")),
      target: name === "whole stack" ? { _tag: "Added", max: 50 } : { _tag: "None" }
    })
  }

  const slow = LlmTest.layer({ latency: "1 millis" })
  const one = freshRequests()[0]!
  const same = (n: number) => () => Array.from({ length: n }, () => one)
  const slowDirect = round(serviceOf(slow), same(SLOW_CALLS), "wall")
  const hitRows: Array<Row> = []
  for (const [name, pieces] of [
    ["hit, cache alone", { cache: everything.cache }],
    ["hit, whole stack", everything]
  ] as const) {
    hitRows.push({
      name,
      samples: await compare(slowDirect, round(client(slow, pieces), same(CALLS), "wall", true)),
      target: { _tag: "Faster", times: 20 }
    })
  }

  process.stdout.write(
    setting(
      `Chat calls through LlmClient.layer over LlmTest, ${compiled ? "library compiled by tsc" : "sources through tsx"}; ` +
        `a round is ${CALLS} sequential calls (${SLOW_CALLS} to the 1 ms deployment).`
    ) +
      `\nCache misses (every request new), CPU µs per call, vs the instant LlmTest called directly:\n\n` +
      table(missRows, { baseline: "direct", subject: "client", unit: "µs/call" }) +
      `\nCache hits, wall µs per call, vs a deployment answering in 1 ms (LlmTest with latency "1 millis"):\n\n` +
      table(hitRows, { baseline: "1 ms deployment", subject: "client", unit: "µs/call" })
  )
}

main().catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
