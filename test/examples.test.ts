import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { spawnSync } from "node:child_process"
import type { Outcome } from "../examples/demo/compare.js"
import { strategies } from "../examples/demo/compare.js"
import { livePresets } from "../examples/demo/fleets.js"
import * as Groups from "../examples/demo/groups.js"
import * as Modes from "../examples/demo/modes.js"
import { runSimulated } from "../examples/demo/simulatedTime.js"
import { renderOutcomes } from "../examples/demo/table.js"

const answeredTotal = (o: Outcome) => o.answered.reduce((sum, [, n]) => sum + n, 0)
const errorTotal = (o: Outcome) => o.errors.reduce((sum, [, n]) => sum + n, 0)

/** The invariants every row of the demo's table must satisfy, whatever the fleet. */
const expectTableAddsUp = (outcomes: ReadonlyArray<Outcome>, requests: number) => {
  expect(outcomes.map((o) => o.strategy)).toEqual(strategies.map(([name]) => name))
  for (const o of outcomes) {
    expect(o.requests).toBe(requests)
    // Every request is answered by exactly one deployment or fails for the caller: nothing lost, nothing twice.
    expect(answeredTotal(o) + errorTotal(o)).toBe(requests)
    expect(o.p50Millis).toBeLessThanOrEqual(o.p95Millis)
    expect(o.costUsd).toBeGreaterThan(0)
    expect(o.failovers).toBeGreaterThanOrEqual(0)
    expect(o.circuitTrips).toBeGreaterThanOrEqual(0)
  }
  const table = renderOutcomes(outcomes)
  const lines = table.split("\n")
  expect(lines).toHaveLength(2 + outcomes.length)
  for (const o of outcomes) expect(table).toContain(o.strategy)
}

describe("runSimulated", () => {
  it("jumps virtual time to each wake-up and runs concurrent sleeps side by side", () => {
    const exit = runSimulated(
      Effect.gen(function* () {
        const start = yield* Clock.currentTimeMillis
        yield* Effect.all([Effect.sleep("3 seconds"), Effect.sleep("2 seconds")], { concurrency: "unbounded" })
        yield* Effect.sleep("500 millis")
        return (yield* Clock.currentTimeMillis) - start
      })
    )
    expect(exit).toEqual(Exit.succeed(3500))
  })

  it("reports a deadlock instead of hanging", () => {
    const exit = runSimulated(Effect.never)
    expect(Exit.isFailure(exit) ? String(Cause.squash(exit.cause)) : "succeeded").toContain("deadlocked")
  })
})

describe("demo --simulated", () => {
  const load = { requests: 100, concurrency: 8 }
  const outcomes = Modes.simulated(load, 7)

  it("accounts for every request of every strategy", () => {
    expectTableAddsUp(outcomes, load.requests)
  })

  it("repeats exactly with the same seed", () => {
    expect(Modes.simulated(load, 7)).toEqual(outcomes)
  })

  it("shows what each strategy is for", () => {
    const by = (name: string) => outcomes.find((o) => o.strategy === name)!
    const share = (o: Outcome, deployment: string) => o.answered.find(([d]) => d === deployment)![1] / o.requests
    // Cost-based is the cheapest strategy and never pays for the expensive deployment.
    for (const o of outcomes) expect(by("costBased").costUsd).toBeLessThanOrEqual(o.costUsd)
    expect(share(by("costBased"), "fast")).toBe(0)
    // Latency-based sends most traffic to the fast deployment; fallback starts at priority 0 (flaky).
    expect(share(by("latencyBased"), "fast")).toBeGreaterThan(0.5)
    expect(share(by("fallback"), "flaky")).toBeGreaterThan(0.5)
    // flaky fails a quarter of its calls: routers that use it must fail over, and its circuit trips.
    expect(by("fallback").failovers).toBeGreaterThan(0)
    expect(by("fallback").circuitTrips).toBeGreaterThan(0)
  })
})

describe("demo over loopback HTTP", () => {
  // Real servers on 127.0.0.1 with every scripted latency scaled to zero, so nothing waits on a real timer.
  it.live("accounts for every request through real servers", () =>
    Effect.gen(function* () {
      const load = { requests: 40, concurrency: 4 }
      const outcomes = yield* Effect.promise(() => Modes.loopback(load, 7, 0))
      expectTableAddsUp(outcomes, load.requests)
    })
  )
})

describe("demo --groups", () => {
  it.live("routes by group over real servers: a context-window fallback, a per-request only, an unknown model", () =>
    Effect.gen(function* () {
      const steps = yield* Groups.run
      const facts = steps.map((s) =>
        s.route === undefined
          ? [s.outcome.startsWith("refused: NotFound") && s.outcome.includes('"gpt-4o-mini", "gpt-4o"')]
          : [s.route.deployment, s.route.group, s.route.attempts.map((a) => a.error ?? "answered"), s.upstreamModel]
      )
      expect(facts).toEqual([
        ["mini-eu", "gpt-4o-mini", ["answered"], "gpt-4o-mini-2024-07-18"],
        ["big", "gpt-4o", ["ContextWindowExceeded", "answered"], "gpt-4o-2024-11-20"],
        ["mini-us", "gpt-4o-mini", ["answered"], "gpt-4o-mini-2024-07-18"],
        [true]
      ])
      expect(Groups.render(steps).join("\n")).toContain("answered by big in group gpt-4o")
    })
  )
})

describe("demo --live", () => {
  it.effect("without an API key names the variables to set and exits non-zero, sending nothing", () =>
    Effect.sync(() => {
      const env: Record<string, string> = {}
      for (const [key, value] of Object.entries(process.env)) {
        if (value !== undefined && !livePresets.some((preset) => preset.env === key)) env[key] = value
      }
      const run = spawnSync(process.execPath, ["--import", "tsx", "examples/demo.ts", "--live"], {
        env,
        encoding: "utf8",
        timeout: 60_000
      })
      expect(run.status).toBe(2)
      for (const preset of livePresets) expect(run.stderr).toContain(preset.env)
      expect(run.stderr).toContain("Nothing was sent")
      expect(run.stdout).toBe("")
    })
  )
})
