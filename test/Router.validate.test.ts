import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Chat from "../src/Chat.js"
import * as Deployment from "../src/Deployment.js"
import type * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmTest from "../src/LlmTest.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import { fakeRouter, request } from "./Router.kit.js"

const ok = Deployment.make({ name: "a", layer: LlmTest.layer() })

const refused = (options: Partial<Router.Options<Deployment.Deployment>>) =>
  Effect.scoped(Effect.flip(Router.make({ deployments: [ok], strategy: Strategy.fallback(), ...options })))

describe("Router options are checked when the router is built", () => {
  const cases: ReadonlyArray<readonly [string, Partial<Router.Options<Deployment.Deployment>>, RegExp]> = [
    ["a negative timeout", { timeout: -5 }, /option timeout: expected a duration > 0, got -5/],
    ["a NaN timeout", { timeout: Number.NaN }, /option timeout: .*got NaN/],
    ["a zero timeout (every call would fail at once)", { timeout: 0 }, /option timeout/],
    ["a negative deadline string", { deadline: "-3 seconds" }, /option deadline/],
    ["a deadline that is no duration", { deadline: "soon" as never }, /option deadline/],
    ["a NaN first-chunk timeout", { firstChunkTimeout: Number.NaN }, /option firstChunkTimeout/],
    ["a zero maxAttempts", { maxAttempts: 0 }, /option maxAttempts: expected a number ≥ 1, got 0/],
    ["a fractional maxAttempts", { maxAttempts: 1.5 }, /option maxAttempts: expected a whole number/],
    ["a negative hedge delay", { hedge: { delay: -1 } }, /option hedgeDelay/],
    ["a NaN circuit cooldown", { circuit: { cooldown: Number.NaN } }, /option circuit\.cooldown/],
    ["a zero circuit failure count", { circuit: { failures: 0 } }, /option circuit\.failures/],
    ["a failure rate above 1", { circuit: { failureRate: 2 } }, /option circuit\.failureRate/],
    ["a backoff below 1", { circuit: { backoff: 0.5 } }, /option circuit\.backoff/]
  ]
  for (const [what, options, message] of cases) {
    it.effect(`refuses ${what}`, () =>
      Effect.gen(function* () {
        const error = yield* refused(options)
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toMatch(/^Router: /)
        expect(error.message).toMatch(message)
      })
    )
  }

  it.effect("refuses a deployment's maxConcurrency of 0 and a weight that is NaN, naming them", () =>
    Effect.gen(function* () {
      const capped = yield* refused({
        deployments: [Deployment.make({ name: "c", layer: LlmTest.layer(), maxConcurrency: 0 })]
      })
      expect(capped.message).toMatch(/option maxConcurrency\.0/)
      const weighted = yield* refused({
        deployments: [Deployment.make({ name: "w", layer: LlmTest.layer(), weight: Number.NaN })]
      })
      expect(weighted.message).toMatch(/option weights\.0: weights must be finite numbers of 0 or more, got NaN/)
    })
  )

  it.effect("accepts sensible options", () =>
    Effect.gen(function* () {
      const router = yield* Router.make({
        deployments: [ok],
        strategy: Strategy.fallback(),
        timeout: "1 second",
        deadline: 5000,
        firstChunkTimeout: "2 seconds",
        maxAttempts: 3,
        hedge: { delay: 0 },
        circuit: { failures: 2, failureRate: 0.5, cooldown: 0, backoff: 1 }
      })
      expect((yield* router.stats).deployments).toHaveLength(1)
    }).pipe(Effect.scoped)
  )
})

describe("Router requests are checked before a deployment is picked", () => {
  const bad: ReadonlyArray<readonly [string, Chat.ChatCompletionRequest]> = [
    ["max_tokens", { ...request, max_tokens: -1 }],
    ["temperature", { ...request, temperature: Number.NaN }],
    ["max_completion_tokens", { ...request, max_completion_tokens: 1.5 }]
  ]
  it.effect("a bad chat request fails with BadRequest naming the field and reaches no deployment", () =>
    Effect.gen(function* () {
      const { router, a } = yield* fakeRouter({ a: {} }, { strategy: Strategy.roundRobin() })
      for (const [field, body] of bad) {
        const error = yield* Effect.flip(router.service.chat(body))
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain(field)
        const streamed: LiterLlmError.LiterLlmError = yield* Effect.flip(
          Stream.runDrain(router.service.chatStream(body))
        )
        expect(streamed.message).toContain(field)
      }
      expect(yield* a.test.calls).toBe(0)
      expect((yield* router.stats).deployments[0].requests).toBe(0)
    }).pipe(Effect.scoped)
  )

  it.effect("a bad embeddings request fails the same way", () =>
    Effect.gen(function* () {
      const { router } = yield* fakeRouter({ a: {} })
      const error = yield* Effect.flip(router.service.embed({ model: "e", input: "x", dimensions: 0 }))
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toContain("dimensions")
      expect((yield* router.stats).deployments[0].requests).toBe(0)
    }).pipe(Effect.scoped)
  )
})
