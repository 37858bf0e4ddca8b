import { describe, expect, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Chat from "../src/Chat.js"
import * as Deployment from "../src/Deployment.js"
import * as Hooks from "../src/Hooks.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import { fake, fakeRouter, replyOf, request, scriptedRouter } from "./Router.kit.js"

const ask = (model: string): Chat.ChatCompletionRequest => ({ model, messages: [{ role: "user", content: "hi" }] })

/** Three healthy deployments, tagged, behind a round-robin router. */
const three = Effect.gen(function* () {
  const a = yield* fake("a", {}, { tags: ["eu"] })
  const b = yield* fake("b", {}, { tags: ["us", "cheap"] })
  const c = yield* fake("c", {}, { tags: ["eu", "cheap"] })
  const router = yield* Router.make({
    deployments: [a.deployment, b.deployment, c.deployment],
    strategy: Strategy.roundRobin()
  })
  const replies = (n: number) =>
    Effect.forEach(Array.from({ length: n }), () => Effect.map(router.service.chat(request), replyOf))
  return { router, replies, calls: Effect.all([a.test.calls, b.test.calls, c.test.calls]) }
})

describe("Router.withRouting", () => {
  it.effect("only: the request goes to the named deployments alone", () =>
    Effect.gen(function* () {
      const { calls, replies } = yield* three
      expect(yield* replies(4).pipe(Router.withRouting({ only: ["b", "c"] }))).toEqual(["b", "c", "b", "c"])
      expect(yield* calls).toEqual([0, 2, 2])
    }).pipe(Effect.scoped)
  )

  it.effect("exclude: never to the named deployments", () =>
    Effect.gen(function* () {
      const { calls, replies } = yield* three
      yield* replies(6).pipe(Router.withRouting({ exclude: ["a"] }))
      expect(yield* calls).toEqual([0, 3, 3])
    }).pipe(Effect.scoped)
  )

  it.effect("order: the named deployments first, in that order, failing over along it", () =>
    Effect.gen(function* () {
      const { router, a, b, c } = yield* fakeRouter({
        a: {},
        b: { failures: [new LiterLlmError.ServiceUnavailable()] },
        c: {}
      })
      const first = yield* router.service.chat(request).pipe(Router.withRouting({ order: ["b", "c"] }))
      expect(replyOf(first)).toBe("c")
      expect([yield* a.test.calls, yield* b.test.calls, yield* c.test.calls]).toEqual([0, 1, 1])
      expect(replyOf(yield* router.service.chat(request).pipe(Router.withRouting({ order: ["b"] })))).toBe("b")
    }).pipe(Effect.scoped)
  )

  it.effect("tags: only deployments carrying every tag", () =>
    Effect.gen(function* () {
      const { calls, replies } = yield* three
      expect(yield* replies(3).pipe(Router.withRouting({ tags: ["eu", "cheap"] }))).toEqual(["c", "c", "c"])
      yield* replies(2).pipe(Router.withRouting({ tags: ["eu"] }))
      expect(yield* calls).toEqual([1, 0, 4])
    }).pipe(Effect.scoped)
  )

  it.effect("defaultTags stand in where no deployment of the group has the request's tags", () =>
    Effect.gen(function* () {
      const eu = yield* fake("eu", {}, { group: "gpt-4o", tags: ["eu"] })
      const fallback = yield* fake("any", {}, { group: "gpt-4o", tags: ["default"] })
      const claude = yield* fake("claude", {}, { group: "claude", tags: ["us"] })
      const router = yield* Router.make({
        deployments: [eu.deployment, fallback.deployment, claude.deployment],
        strategy: Strategy.roundRobin(),
        defaultTags: ["default"]
      })
      const us = yield* router.service.chat(ask("gpt-4o")).pipe(Router.withRouting({ tags: ["us"] }))
      expect(replyOf(us)).toBe("any")
      const inEu = yield* router.service.chat(ask("gpt-4o")).pipe(Router.withRouting({ tags: ["eu"] }))
      expect(replyOf(inEu)).toBe("eu")
    }).pipe(Effect.scoped)
  )

  it.effect("maxAttempts for this request replaces the router's", () =>
    Effect.gen(function* () {
      const down = new LiterLlmError.ServiceUnavailable()
      const all = yield* Effect.forEach(["a", "b", "c"], (n) => fake(n, { fail: down }))
      const router = yield* Router.make({ deployments: all.map((d) => d.deployment), strategy: Strategy.fallback() })
      const error = yield* Effect.flip(router.service.chat(request).pipe(Router.withRouting({ maxAttempts: 2 })))
      expect(error._tag === "AllDeploymentsFailed" ? error.attempts.map((a) => a.deployment) : error).toEqual([
        "a",
        "b"
      ])
    }).pipe(Effect.scoped)
  )

  it.effect("timeout for this request replaces the router's per-call timeout", () =>
    Effect.gen(function* () {
      const { router, slow } = yield* scriptedRouter(
        { slow: [{ latency: 3000 }], quick: [{ latency: 10 }] },
        { timeout: "10 seconds" }
      )
      const fiber = yield* Effect.fork(router.service.chat(request).pipe(Router.withRouting({ timeout: "1 second" })))
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("10 millis")
      expect(replyOf(yield* Fiber.join(fiber))).toBe("quick")
      expect(yield* slow.interrupted).toBe(1)
    }).pipe(Effect.scoped)
  )

  it.effect("nested settings: the inner ones win, field by field", () =>
    Effect.gen(function* () {
      const { calls, replies } = yield* three
      const inner = replies(2).pipe(Router.withRouting({ order: ["c"] }))
      yield* inner.pipe(Router.withRouting({ exclude: ["a"], order: ["b"] }))
      expect(yield* calls).toEqual([0, 0, 2])
      yield* replies(1).pipe(Router.withRouting({ exclude: ["b", "c"] }), Router.withRouting({ only: ["b", "c"] }))
    }).pipe(
      Effect.flip,
      Effect.map((error) => expect(error._tag).toBe("BadRequest")),
      Effect.scoped
    )
  )

  it.effect("reaches the router through middleware above it, for chat and for streams", () =>
    Effect.gen(function* () {
      const a = yield* fake("a")
      const b = yield* fake("b", { chunks: 2 })
      const stack = Hooks.layer([{ onRequest: () => Effect.void }]).pipe(
        Layer.provide(Router.layer({ deployments: [a.deployment, b.deployment], strategy: Strategy.roundRobin() }))
      )
      const program = Effect.gen(function* () {
        const one = yield* LlmService.chat(request)
        const two = yield* LlmService.chat(request)
        const streamed = yield* Stream.runCollect(LlmService.chatStream(request))
        return [replyOf(one), replyOf(two), Array.from(streamed).length > 0]
      })
      expect(yield* program.pipe(Router.withRouting({ only: ["b"] }), Effect.provide(stack))).toEqual(["b", "b", true])
      const viaStream = Stream.provideService(LlmService.chatStream(request), Router.Routing, { only: ["a"] })
      yield* Stream.runDrain(viaStream).pipe(Effect.provide(stack))
      expect([yield* a.test.calls, yield* b.test.calls]).toEqual([1, 3])
    }).pipe(Effect.scoped)
  )

  it.effect("settings apply to the first router on the way, not to a router serving as its deployment", () =>
    Effect.gen(function* () {
      const x = yield* fake("x", { chunks: 2 })
      const y = yield* fake("y")
      const inner = Router.layer({ deployments: [x.deployment, y.deployment], strategy: Strategy.fallback() })
      const z = yield* fake("z")
      const outer = yield* Router.make({
        deployments: [Deployment.make({ name: "inner", layer: inner }), z.deployment],
        strategy: Strategy.fallback()
      })
      const steered = Router.withRouting({ only: ["inner"], tags: [] })
      expect(replyOf(yield* outer.service.chat(request).pipe(steered))).toBe("x")
      yield* Stream.runDrain(outer.service.chatStream(request)).pipe(steered)
      expect([yield* x.test.calls, yield* z.test.calls]).toEqual([2, 0])
    }).pipe(Effect.scoped)
  )
})

describe("Router.withRouting refuses what names nothing, at call time", () => {
  it.effect("a deployment name the router does not have", () =>
    Effect.gen(function* () {
      const { calls, router } = yield* three
      for (const key of ["only", "exclude", "order"] as const) {
        const error = yield* Effect.flip(router.service.chat(request).pipe(Router.withRouting({ [key]: ["zz"] })))
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain(`${key} names no deployment of this router: "zz"; it has "a", "b", "c"`)
      }
      expect(yield* calls).toEqual([0, 0, 0])
    }).pipe(Effect.scoped)
  )

  it.effect("tags no deployment has, without defaultTags", () =>
    Effect.gen(function* () {
      const { router } = yield* three
      const error = yield* Effect.flip(router.service.chat(request).pipe(Router.withRouting({ tags: ["mars"] })))
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toMatch(/no deployment has all of tags "mars"/)
    }).pipe(Effect.scoped)
  )

  it.effect("only naming deployments outside the request's group and its fallbacks", () =>
    Effect.gen(function* () {
      const a = yield* fake("a", {}, { group: "gpt-4o" })
      const b = yield* fake("b", {}, { group: "claude" })
      const router = yield* Router.make({ deployments: [a.deployment, b.deployment], strategy: Strategy.fallback() })
      const error = yield* Effect.flip(router.service.chat(ask("gpt-4o")).pipe(Router.withRouting({ only: ["b"] })))
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toMatch(/only "b" leave\(s\) no deployment serving model "gpt-4o"/)
      const streamed = Stream.runDrain(router.service.chatStream(ask("gpt-4o")))
      expect((yield* Effect.flip(streamed.pipe(Router.withRouting({ only: ["b"] }))))._tag).toBe("BadRequest")
    }).pipe(Effect.scoped)
  )

  it.effect("maxAttempts and timeout out of range", () =>
    Effect.gen(function* () {
      const { router } = yield* three
      const settings: ReadonlyArray<Router.RoutingSettings> = [
        { maxAttempts: 0 },
        { maxAttempts: 1.5 },
        { timeout: -1 },
        { timeout: "-2 seconds" as Duration.DurationInput }
      ]
      for (const s of settings) {
        const error = yield* Effect.flip(router.service.chat(request).pipe(Router.withRouting(s)))
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toMatch(/^Router.withRouting: (maxAttempts|timeout) must be/)
      }
    }).pipe(Effect.scoped)
  )
})
