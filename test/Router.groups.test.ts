import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Chat from "../src/Chat.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import { fake, replyOf, scripted } from "./Router.kit.js"

const ask = (model: string): Chat.ChatCompletionRequest => ({ model, messages: [{ role: "user", content: "hi" }] })

const attemptsOf = (error: LiterLlmError.LiterLlmError) =>
  error._tag === "AllDeploymentsFailed" ? error.attempts.map((a) => [a.deployment, a.error._tag]) : error._tag

describe("Router model groups", () => {
  it.effect("a request goes to its model's group, which sends its own model upstream", () =>
    Effect.gen(function* () {
      const azure = yield* fake("azure", {}, { group: "gpt-4o", model: "gpt-4o-2024-11-20" })
      const plain = yield* fake("plain", {}, { group: "gpt-4o" })
      const claude = yield* fake("claude", {}, { group: "claude-sonnet", model: "claude-sonnet-4-5" })
      const router = yield* Router.make({
        deployments: [azure.deployment, plain.deployment, claude.deployment],
        strategy: Strategy.roundRobin()
      })
      const replies: Array<string | null | undefined> = []
      for (let i = 0; i < 4; i++) replies.push(replyOf(yield* router.service.chat(ask("gpt-4o"))))
      replies.push(replyOf(yield* router.service.chat(ask("claude-sonnet"))))
      expect(replies).toEqual(["azure", "plain", "azure", "plain", "claude"])
      expect((yield* azure.test.requests).map((r) => r.model)).toEqual(["gpt-4o-2024-11-20", "gpt-4o-2024-11-20"])
      expect((yield* plain.test.requests).map((r) => r.model)).toEqual(["gpt-4o", "gpt-4o"])
      expect((yield* claude.test.requests).map((r) => r.model)).toEqual(["claude-sonnet-4-5"])
      const embedded = yield* router.service.embed({ model: "claude-sonnet", input: "hi" })
      expect([embedded.model, yield* claude.test.calls]).toEqual(["claude-sonnet-4-5", 2])
      expect((yield* router.stats).deployments.map((d) => [d.name, d.group, d.model])).toEqual([
        ["azure", "gpt-4o", "gpt-4o-2024-11-20"],
        ["plain", "gpt-4o", "gpt-4o"],
        ["claude", "claude-sonnet", "claude-sonnet-4-5"]
      ])
    }).pipe(Effect.scoped)
  )

  it.effect("round robin turns within each group, also when requests for two groups alternate", () =>
    Effect.gen(function* () {
      const names = ["a1", "a2", "b1", "b2"]
      const all = yield* Effect.forEach(names, (n) => fake(n, {}, { group: n.startsWith("a") ? "a" : "b" }))
      const router = yield* Router.make({ deployments: all.map((d) => d.deployment), strategy: Strategy.roundRobin() })
      for (let i = 0; i < 8; i++) yield* router.service.chat(ask(i % 2 === 0 ? "a" : "b"))
      expect(yield* Effect.forEach(all, (d) => d.test.calls)).toEqual([2, 2, 2, 2])
    }).pipe(Effect.scoped)
  )

  it.effect("a model no group serves is NotFound naming the groups; no deployment is called", () =>
    Effect.gen(function* () {
      const a = yield* fake("a", {}, { group: "gpt-4o" })
      const b = yield* fake("b", {}, { group: "claude-sonnet" })
      const router = yield* Router.make({ deployments: [a.deployment, b.deployment], strategy: Strategy.fallback() })
      const error = yield* Effect.flip(router.service.chat(ask("gpt-5")))
      expect(error._tag).toBe("NotFound")
      expect(error.message).toMatch(/"gpt-5"/)
      expect(error.message).toMatch(/"gpt-4o", "claude-sonnet"/)
      const streamed = yield* Effect.flip(Stream.runDrain(router.service.chatStream(ask("gpt-5"))))
      expect(streamed._tag).toBe("NotFound")
      expect([yield* a.test.calls, yield* b.test.calls]).toEqual([0, 0])
    }).pipe(Effect.scoped)
  )

  it.effect("a router without groups ignores the request's model and sends it unchanged", () =>
    Effect.gen(function* () {
      const a = yield* fake("a", {}, { model: "upstream-name" })
      const router = yield* Router.make({ deployments: [a.deployment], strategy: Strategy.fallback() })
      expect(replyOf(yield* router.service.chat(ask("anything")))).toBe("a")
      expect((yield* a.test.requests).map((r) => r.model)).toEqual(["anything"])
    }).pipe(Effect.scoped)
  )

  it.effect("fallbacks: the next group once every deployment of the own group failed", () =>
    Effect.gen(function* () {
      const down = new LiterLlmError.ServiceUnavailable()
      const a1 = yield* fake("a1", { fail: down }, { group: "gpt-4o" })
      const a2 = yield* fake("a2", { fail: down }, { group: "gpt-4o" })
      const b = yield* fake("b", {}, { group: "claude", model: "claude-sonnet-4-5" })
      const router = yield* Router.make({
        deployments: [a1.deployment, a2.deployment, b.deployment],
        strategy: Strategy.fallback(),
        fallbacks: { "gpt-4o": ["claude"] }
      })
      expect(replyOf(yield* router.service.chat(ask("gpt-4o")))).toBe("b")
      expect([yield* a1.test.calls, yield* a2.test.calls]).toEqual([1, 1])
      expect((yield* b.test.requests)[0].model).toBe("claude-sonnet-4-5")
    }).pipe(Effect.scoped)
  )

  it.effect("fallbacks are followed breadth first, each group once; giving up lists every attempt across groups", () =>
    Effect.gen(function* () {
      const down = new LiterLlmError.ServerError()
      const deployments = yield* Effect.forEach(["a", "b", "c", "d"], (g) => fake(g, { fail: down }, { group: g }))
      const router = yield* Router.make({
        deployments: deployments.map((d) => d.deployment),
        strategy: Strategy.fallback(),
        fallbacks: { a: ["b", "c"], b: ["d", "c"] }
      })
      const error = yield* Effect.flip(router.service.chat(ask("a")))
      expect(attemptsOf(error)).toEqual([
        ["a", "ServerError"],
        ["b", "ServerError"],
        ["c", "ServerError"],
        ["d", "ServerError"]
      ])
      expect(yield* Effect.forEach(deployments, (d) => d.test.calls)).toEqual([1, 1, 1, 1])
    }).pipe(Effect.scoped)
  )

  it.effect("contextWindowFallbacks: at once to the bigger model, skipping the rest of the own group", () =>
    Effect.gen(function* () {
      const small1 = yield* fake("small-1", { fail: new LiterLlmError.ContextWindowExceeded() }, { group: "small" })
      const small2 = yield* fake("small-2", {}, { group: "small" })
      const big = yield* fake("big", {}, { group: "big" })
      const router = yield* Router.make({
        deployments: [small1.deployment, small2.deployment, big.deployment],
        strategy: Strategy.fallback(),
        contextWindowFallbacks: { small: ["big"] }
      })
      expect(replyOf(yield* router.service.chat(ask("small")))).toBe("big")
      expect(yield* small2.test.calls).toBe(0)
    }).pipe(Effect.scoped)
  )

  it.effect("contentPolicyFallbacks move on ContentPolicy; without an entry the error returns unchanged", () =>
    Effect.gen(function* () {
      const strict = yield* fake(
        "strict",
        { fail: new LiterLlmError.ContentPolicy({ message: "refused" }) },
        {
          group: "strict"
        }
      )
      const lenient = yield* fake("lenient", {}, { group: "lenient" })
      const router = yield* Router.make({
        deployments: [strict.deployment, lenient.deployment],
        strategy: Strategy.fallback(),
        contentPolicyFallbacks: { strict: ["lenient"] },
        contextWindowFallbacks: { lenient: ["strict"] }
      })
      expect(replyOf(yield* router.service.chat(ask("strict")))).toBe("lenient")
      const plain = yield* Router.make({
        deployments: [strict.deployment, lenient.deployment],
        strategy: Strategy.fallback(),
        fallbacks: { strict: ["lenient"] }
      })
      const error = yield* Effect.flip(plain.service.chat(ask("strict")))
      expect(error._tag).toBe("ContentPolicy")
      expect(error.message).toBe("refused")
    }).pipe(Effect.scoped)
  )

  it.effect("attempts across groups count against maxAttempts", () =>
    Effect.gen(function* () {
      const down = new LiterLlmError.ServiceUnavailable()
      const a1 = yield* fake("a1", { fail: down }, { group: "a" })
      const a2 = yield* fake("a2", { fail: down }, { group: "a" })
      const b1 = yield* fake("b1", { fail: down }, { group: "b" })
      const b2 = yield* fake("b2", {}, { group: "b" })
      const router = yield* Router.make({
        deployments: [a1.deployment, a2.deployment, b1.deployment, b2.deployment],
        strategy: Strategy.fallback(),
        fallbacks: { a: ["b"] },
        maxAttempts: 3
      })
      const error = yield* Effect.flip(router.service.chat(ask("a")))
      expect(attemptsOf(error)).toEqual([
        ["a1", "ServiceUnavailable"],
        ["a2", "ServiceUnavailable"],
        ["b1", "ServiceUnavailable"]
      ])
      expect(yield* b2.test.calls).toBe(0)
    }).pipe(Effect.scoped)
  )

  it.effect("attempts across groups count against the deadline", () =>
    Effect.gen(function* () {
      const slow = yield* scripted("a", [{ latency: 700, error: new LiterLlmError.ServerError() }], { group: "a" })
      const b = yield* scripted("b", [{ latency: 700 }], { group: "b" })
      const router = yield* Router.make({
        deployments: [slow.deployment, b.deployment],
        strategy: Strategy.fallback(),
        fallbacks: { a: ["b"] },
        deadline: "1 second"
      })
      const fiber = yield* Effect.fork(Effect.flip(router.service.chat(ask("a"))))
      yield* TestClock.adjust("700 millis")
      yield* TestClock.adjust("300 millis")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("AllDeploymentsFailed")
      if (error._tag === "AllDeploymentsFailed") {
        expect(error.attempts.map((x) => [x.deployment, x.error._tag, Duration.toMillis(x.duration)])).toEqual([
          ["a", "ServerError", 700],
          ["b", "Timeout", 300]
        ])
      }
    }).pipe(Effect.scoped)
  )

  it.effect("a group whose circuits are all open is passed over for its fallbacks", () =>
    Effect.gen(function* () {
      const a = yield* fake("a", { fail: new LiterLlmError.ServiceUnavailable() }, { group: "a" })
      const b = yield* fake("b", {}, { group: "b" })
      const router = yield* Router.make({
        deployments: [a.deployment, b.deployment],
        strategy: Strategy.fallback(),
        fallbacks: { a: ["b"] },
        circuit: { failures: 1, cooldown: "1 minute" }
      })
      yield* router.service.chat(ask("a"))
      expect(replyOf(yield* router.service.chat(ask("a")))).toBe("b")
      expect(yield* a.test.calls).toBe(1)
    }).pipe(Effect.scoped)
  )

  it.effect("streams fail over to the fallback group before the first chunk, never after it", () =>
    Effect.gen(function* () {
      const early = yield* fake("early", { fail: new LiterLlmError.ServiceUnavailable() }, { group: "a" })
      const backup = yield* fake("backup", { chunks: 2 }, { group: "b" })
      const router = yield* Router.make({
        deployments: [early.deployment, backup.deployment],
        strategy: Strategy.fallback(),
        fallbacks: { a: ["b"] }
      })
      const chunks = yield* Stream.runCollect(router.service.chatStream(ask("a")))
      const text = Array.from(chunks)
        .map((c) => c.choices[0]?.delta.content ?? "")
        .join("")
      expect(text).toBe("backup")
      const late = yield* fake("late", { chunks: 2, streamFailure: { afterChunks: 1 } }, { group: "a" })
      const second = yield* fake("second", {}, { group: "b" })
      const other = yield* Router.make({
        deployments: [late.deployment, second.deployment],
        strategy: Strategy.fallback(),
        fallbacks: { a: ["b"] }
      })
      const error = yield* Effect.flip(Stream.runDrain(other.service.chatStream(ask("a"))))
      expect(error._tag).toBe("Streaming")
      expect(yield* second.test.calls).toBe(0)
    }).pipe(Effect.scoped)
  )
})
