import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import { request, scripted } from "./Router.kit.js"

const strategies = [
  () => Strategy.roundRobin(),
  () => Strategy.fallback(),
  () => Strategy.latencyBased(),
  () => Strategy.costBased(),
  () => Strategy.weightedRandom(),
  () => Strategy.leastBusy()
]

const step = FastCheck.record({ latency: FastCheck.integer({ min: 0, max: 50 }), fail: FastCheck.boolean() })
const script = FastCheck.array(step, { minLength: 1, maxLength: 6 })

describe("Router invariants", () => {
  it.effect.prop(
    "whatever the deployments do and whoever is interrupted, every request ends once and the books balance",
    [
      FastCheck.array(script, { minLength: 1, maxLength: 3 }),
      FastCheck.integer({ min: 0, max: strategies.length - 1 }),
      FastCheck.array(FastCheck.boolean(), { minLength: 1, maxLength: 24 }),
      FastCheck.boolean(),
      FastCheck.integer()
    ],
    ([scripts, strategy, interrupts, hedge, seed]) =>
      Effect.gen(function* () {
        const ds = yield* Effect.forEach(scripts, (steps, i) =>
          scripted(
            `d${i}`,
            steps.map((s) => ({
              latency: s.latency,
              ...(s.fail ? { error: new LiterLlmError.ServiceUnavailable() } : {})
            })),
            { pricing: { inputPerMillion: i + 1, outputPerMillion: i + 1 } }
          )
        )
        const router = yield* Router.make({
          deployments: ds.map((d) => d.deployment),
          strategy: strategies[strategy](),
          circuit: { failures: 2, cooldown: "20 millis" },
          timeout: "40 millis",
          ...(hedge ? { hedge: { delay: "10 millis" } } : {})
        })
        let ended = 0
        const fibers = yield* Effect.forEach(interrupts, () =>
          Effect.fork(
            Effect.ensuring(
              router.service.chat(request),
              Effect.sync(() => ended++)
            )
          )
        )
        yield* TestClock.adjust("15 millis")
        yield* Effect.forEach(fibers, (fiber, i) => (interrupts[i] ? Fiber.interrupt(fiber) : Effect.void))
        yield* TestClock.adjust("1 second")
        const exits = yield* Effect.forEach(fibers, Fiber.await)
        expect(ended).toBe(interrupts.length)
        for (const exit of exits) {
          if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
            expect(LiterLlmError.isLiterLlmError(exit.cause.error)).toBe(true)
          }
        }
        const stats = yield* router.stats
        for (const d of stats.deployments) {
          expect(d.inFlight).toBe(0)
          expect(d.requests).toBe(d.successes + d.failures + d.interruptions)
          expect(d.circuit === "half-open" || d.circuit === "open" || d.circuit === "closed").toBe(true)
        }
        const successes = exits.filter(Exit.isSuccess).length
        // A success is one deployment's success (a hedge's loser is interrupted, not counted as a success).
        expect(stats.deployments.reduce((n, d) => n + d.successes, 0)).toBe(successes)
      }).pipe(Effect.scoped, Effect.withRandom(Random.make(seed))),
    { fastCheck: { numRuns: 60 } }
  )
})
