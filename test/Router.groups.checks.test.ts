import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Deployment from "../src/Deployment.js"
import * as LlmTest from "../src/LlmTest.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"

describe("Router groups are checked when the router is built", () => {
  const d = (name: string, group?: string) =>
    Deployment.make({ name, layer: LlmTest.layer(), ...(group === undefined ? {} : { group }) })
  const fails = (options: Router.Options<Deployment.Deployment>) => Effect.scoped(Effect.flip(Router.make(options)))
  const strategy = Strategy.fallback()

  it.effect("unknown groups in any fallback map", () =>
    Effect.gen(function* () {
      for (const option of ["fallbacks", "contextWindowFallbacks", "contentPolicyFallbacks"] as const) {
        const error = yield* fails({ deployments: [d("x", "a"), d("y", "b")], strategy, [option]: { a: ["c"] } })
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain(`${option} names unknown group(s) "c"; the groups are "a", "b"`)
      }
      const from = yield* fails({ deployments: [d("x", "a")], strategy, fallbacks: { z: ["a"] } })
      expect(from.message).toMatch(/unknown group\(s\) "z"/)
    })
  )

  it.effect("cycles, named along their path", () =>
    Effect.gen(function* () {
      const deployments = [d("x", "a"), d("y", "b"), d("z", "c")]
      const error = yield* fails({ deployments, strategy, fallbacks: { a: ["b"], b: ["c"], c: ["a"] } })
      expect(error.message).toMatch(/fallbacks has a cycle: a → b → c → a/)
      const self = yield* fails({ deployments, strategy, contextWindowFallbacks: { a: ["a"] } })
      expect(self.message).toMatch(/cycle: a → a/)
    })
  )

  it.effect("blank groups, and deployments without a group beside grouped ones", () =>
    Effect.gen(function* () {
      const blank = yield* fails({ deployments: [d("x", " ")], strategy })
      expect(blank.message).toMatch(/deployment "x" has a blank group/)
      const mixed = yield* fails({ deployments: [d("x", "a"), d("y")], strategy })
      expect(mixed.message).toMatch(/"y" have no group while others do/)
    })
  )

  it.effect("fallbacks without groups, or with failover off", () =>
    Effect.gen(function* () {
      const flat = yield* fails({ deployments: [d("x")], strategy, fallbacks: { a: ["b"] } })
      expect(flat.message).toMatch(/no deployment has a group/)
      const single = yield* fails({
        deployments: [d("x", "a"), d("y", "b")],
        strategy,
        failover: false,
        fallbacks: { a: ["b"] }
      })
      expect(single.message).toMatch(/failover: false/)
      // An empty map asks for nothing: fine without groups and with failover off.
      yield* Effect.scoped(Router.make({ deployments: [d("x")], strategy, failover: false, fallbacks: {} }))
    })
  )

  it.effect("defaultTags no deployment has", () =>
    Effect.gen(function* () {
      const error = yield* fails({ deployments: [d("x")], strategy, defaultTags: ["default"] })
      expect(error.message).toMatch(/no deployment has all of defaultTags "default"/)
    })
  )
})
