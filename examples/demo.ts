/**
 * `npm run demo` — one request load, six routing strategies, one table.
 *
 *   npm run demo                  four HTTP servers on loopback: the router measured through the network stack
 *   npm run demo -- --simulated   the same fleet as LlmTest layers in simulated time: exact, reproducible, instant
 *   npm run demo -- --live        a handful of requests over a real provider (needs its API key in the environment)
 *   npm run demo -- --groups      model groups: a context-window fallback and a per-request `only`, route by route
 *
 * Options: --requests N (per strategy), --concurrency N, --seed N.
 */
import * as Effect from "effect/Effect"
import { performance } from "node:perf_hooks"
import type { Load, Outcome } from "./demo/compare.js"
import * as Fleets from "./demo/fleets.js"
import * as Groups from "./demo/groups.js"
import * as Modes from "./demo/modes.js"
import { renderHighlights, renderOutcomes } from "./demo/table.js"

const flag = (name: string) => process.argv.includes(`--${name}`)
const option = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  const value = i === -1 ? NaN : Number(process.argv[i + 1])
  return Number.isFinite(value) && value > 0 ? value : fallback
}

const legend = [
  "Columns: share of the requests each deployment answered; latency percentiles as callers saw them (failovers",
  "included); total cost of the answers at each deployment's prices; failovers (a request moved on after a",
  "transient failure); circuit-breaker trips; requests that failed for the caller, by error."
]

const print = (header: ReadonlyArray<string>, outcomes: ReadonlyArray<Outcome>, started: number) => {
  const firstError = outcomes.find((o) => o.firstError !== undefined)?.firstError
  console.log(
    [
      ...header,
      "",
      renderOutcomes(outcomes),
      "",
      ...renderHighlights(outcomes),
      "",
      ...legend,
      ...(firstError === undefined ? [] : ["", `First error a caller saw: ${firstError}`]),
      "",
      `(${((performance.now() - started) / 1000).toFixed(1)} s)`
    ].join("\n")
  )
}

const describe = (fleet: Fleets.Fleet<any>, load: Load) => [
  "effect-liter-llm — six routing strategies, one load",
  "",
  `Fleet:  ${fleet.title}`,
  ...fleet.notes.map((note) => `          ${note}`),
  `Load:   ${load.requests} requests per strategy, ${load.concurrency} in flight; the same requests for every strategy`,
  `Router: failover on; per-call timeout ${fleet.router.timeout}; circuit opens at ≥ 20% failures over ≥ 20 calls,`,
  `        rests ${fleet.router.cooldown} (doubling per repeated trip), then lets one probe through`
]

/** `--live`: the models to use, from `--models a,b` or the first provider whose API key is set; else undefined. */
const liveModels = (): ReadonlyArray<string> | undefined => {
  const i = process.argv.indexOf("--models")
  if (i !== -1 && process.argv[i + 1] !== undefined) return process.argv[i + 1]!.split(",").filter((m) => m !== "")
  return Fleets.livePresets.find((preset) => (process.env[preset.env] ?? "") !== "")?.models
}

const main = async () => {
  const started = performance.now()
  const seed = option("seed", 42)
  if (flag("groups")) {
    const steps = await Effect.runPromise(Groups.run)
    console.log([...Groups.render(steps), "", `(${((performance.now() - started) / 1000).toFixed(1)} s)`].join("\n"))
    return
  }
  if (flag("live")) {
    const models = liveModels()
    if (models === undefined) {
      console.error(
        [
          "--live routes real requests, so it needs a provider API key in the environment. Set one of:",
          ...Fleets.livePresets.map((p) => `  ${p.env.padEnd(18)} routes over ${p.models.join(" and ")}`),
          'or name models with --models "provider/model,provider/model" (their key variable must be set).',
          "Nothing was sent."
        ].join("\n")
      )
      process.exitCode = 2
      return
    }
    const load: Load = { requests: option("requests", 4), concurrency: option("concurrency", 2) }
    const outcomes = await Modes.live(models, load, seed)
    print(
      [
        ...describe(Fleets.live(models), load),
        "Time:   real, over the internet: a handful of short requests (max_tokens 16) per strategy."
      ],
      outcomes,
      started
    )
    return
  }
  if (flag("simulated")) {
    const load: Load = { requests: option("requests", 2000), concurrency: option("concurrency", 32) }
    const outcomes = Modes.simulated(load, seed)
    print(
      [
        ...describe(Fleets.simulated, load),
        "Time:   simulated. Latencies are Effect.sleep calls; the run swaps Effect's Clock and Scheduler for a",
        "        discrete-event simulation that jumps to the next wake-up whenever every fiber is waiting, so the",
        `        numbers are exact and repeat run after run (seed ${seed}).`
      ],
      outcomes,
      started
    )
    return
  }
  const load: Load = { requests: option("requests", 250), concurrency: option("concurrency", 16) }
  const outcomes = await Modes.loopback(load, seed)
  print(
    [
      ...describe(Fleets.loopback(), load),
      "Time:   real. Each strategy gets freshly started servers; expect a few ms of noise between runs.",
      "        `npm run demo -- --simulated` runs the same fleet in exact, simulated time."
    ],
    outcomes,
    started
  )
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
