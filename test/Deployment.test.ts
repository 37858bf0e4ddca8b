import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as Deployment from "../src/Deployment.js"
import * as HealthCheck from "../src/HealthCheck.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmTest from "../src/LlmTest.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import { DeploymentHealth, type HealthState } from "../src/internal/health.js"
import { replyOf, request } from "./Router.kit.js"

const health = (status: HealthState["status"]) =>
  Layer.succeed(DeploymentHealth, {
    state: Effect.succeed({ status, consecutiveFailures: 0, consecutiveSuccesses: 0, lastProbeAt: undefined })
  })

describe("Deployment", () => {
  it("make keeps the metadata as given", () => {
    const layer = LlmTest.layer()
    const d = Deployment.make({ name: "a", layer, model: "gpt-4o-mini", weight: 2, priority: 1, tags: ["eu"] })
    expect([d.name, d.layer, d.model, d.weight, d.priority, d.tags]).toEqual(["a", layer, "gpt-4o-mini", 2, 1, ["eu"]])
  })

  it.effect("duplicate names are refused", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Router.make({
          deployments: [
            Deployment.make({ name: "a", layer: LlmTest.layer() }),
            Deployment.make({ name: "a", layer: LlmTest.layer() })
          ],
          strategy: Strategy.fallback()
        })
      )
      expect(error.message).toMatch(/two deployments are named "a"/)
    }).pipe(Effect.scoped)
  )

  it.effect("a deployment reporting unhealthy is tried last, and its health shows in stats", () =>
    Effect.gen(function* () {
      const router = yield* Router.make({
        deployments: [
          Deployment.make({ name: "sick", layer: Layer.merge(LlmTest.layer({ reply: "sick" }), health("unhealthy")) }),
          Deployment.make({ name: "well", layer: Layer.merge(LlmTest.layer({ reply: "well" }), health("healthy")) })
        ],
        strategy: Strategy.fallback()
      })
      expect(replyOf(yield* router.service.chat(request))).toBe("well")
      const stats = yield* router.stats
      expect(stats.deployments.map((d) => [d.name, d.health])).toEqual([
        ["sick", "unhealthy"],
        ["well", "healthy"]
      ])
    }).pipe(Effect.scoped)
  )

  it.effect("an unhealthy deployment is still a last resort", () =>
    Effect.gen(function* () {
      const router = yield* Router.make({
        deployments: [
          Deployment.make({ name: "sick", layer: Layer.merge(LlmTest.layer({ reply: "sick" }), health("unhealthy")) }),
          Deployment.make({ name: "down", layer: LlmTest.layer({ fail: new LiterLlmError.ServiceUnavailable() }) })
        ],
        strategy: Strategy.fallback()
      })
      expect(replyOf(yield* router.service.chat(request))).toBe("sick")
      expect((yield* router.stats).deployments[1].health).toBeUndefined()
    }).pipe(Effect.scoped)
  )

  it.effect("works with HealthCheck.layer: a deployment it marks unhealthy gets no traffic while others answer", () =>
    Effect.gen(function* () {
      const sick = HealthCheck.layer({ interval: "1 second", unhealthyThreshold: 1 }).pipe(
        Layer.provide(LlmTest.layer({ fail: new LiterLlmError.ServiceUnavailable() }))
      )
      const router = yield* Router.make({
        deployments: [
          Deployment.make({ name: "sick", layer: sick }),
          Deployment.make({ name: "well", layer: LlmTest.layer({ reply: "well" }) })
        ],
        strategy: Strategy.fallback()
      })
      yield* TestClock.adjust("1 second")
      expect((yield* router.stats).deployments[0].health).toBe("unhealthy")
      for (let i = 0; i < 3; i++) expect(replyOf(yield* router.service.chat(request))).toBe("well")
      expect((yield* router.stats).deployments[0].requests).toBe(0)
    }).pipe(Effect.scoped)
  )
})
