import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Chat from "../src/Chat.js"
import * as Deployment from "../src/Deployment.js"
import * as HealthCheck from "../src/HealthCheck.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"

type Mode = "ok" | "down" | "auth" | "hang" | "unsupported"

const request: Chat.ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "hi" }] }

/** A service whose `listModels` answers as `mode` says, counting probes; chat is an instant fake. */
const scripted = Effect.gen(function* () {
  const mode = yield* Ref.make<Mode>("ok")
  const probes = yield* Ref.make(0)
  const fake = yield* LlmTest.make()
  const listModels = Effect.zipRight(
    Ref.update(probes, (n) => n + 1),
    Effect.flatMap(Ref.get(mode), (m) => {
      switch (m) {
        case "ok":
          return fake.service.listModels
        case "down":
          return Effect.fail(new LiterLlmError.ServiceUnavailable({ provider: "test" }))
        case "auth":
          return Effect.fail(new LiterLlmError.Authentication({ provider: "test" }))
        case "hang":
          return Effect.never
        case "unsupported":
          return Effect.fail(new LiterLlmError.EndpointNotSupported({ endpoint: "listModels", provider: "test" }))
      }
    })
  )
  const service: LlmService.Service = { ...fake.service, listModels }
  return { service, mode, probes, fake }
})

/** Builds the health-checked layer over `service` in a scope the test controls. */
const build = (service: LlmService.Service, options: HealthCheck.Options, scope: Scope.Scope) =>
  Layer.buildWithScope(
    HealthCheck.layer(options).pipe(Layer.provide(Layer.succeed(LlmService.LlmService, service))),
    scope
  )

const statusOf = (context: Context.Context<HealthCheck.Health>) =>
  Effect.map(HealthCheck.status.pipe(Effect.provide(context)), (s) => s.status)

describe("HealthCheck", () => {
  it.scoped("the first good probe marks the service healthy; calls pass through", () =>
    Effect.gen(function* () {
      const s = yield* scripted
      const context = yield* build(s.service, {}, yield* Effect.scope)
      expect(yield* statusOf(context)).toBe("unknown")
      yield* TestClock.adjust(0)
      expect(yield* statusOf(context)).toBe("healthy")
      const response = yield* LlmService.chat(request).pipe(Effect.provide(context))
      expect(response.choices[0]!.message.content).toBe("ok")
      expect(yield* s.fake.calls).toBe(1)
    })
  )

  it.scoped("three transient probe failures mark it unhealthy; then calls fail at once with ServiceUnavailable", () =>
    Effect.gen(function* () {
      const s = yield* scripted
      const context = yield* build(s.service, { interval: "30 seconds" }, yield* Effect.scope)
      yield* TestClock.adjust(0)
      yield* Ref.set(s.mode, "down")
      yield* TestClock.adjust("30 seconds") // failure 1
      yield* TestClock.adjust("30 seconds") // failure 2
      expect(yield* statusOf(context)).toBe("healthy")
      yield* TestClock.adjust("30 seconds") // failure 3
      expect(yield* statusOf(context)).toBe("unhealthy")
      const state = yield* HealthCheck.status.pipe(Effect.provide(context))
      expect(state.consecutiveFailures).toBe(3)
      expect(state.lastProbeAt).toBe(90_000)

      const chat = yield* Effect.flip(LlmService.chat(request).pipe(Effect.provide(context)))
      expect(chat._tag).toBe("ServiceUnavailable")
      expect(LiterLlmError.isTransient(chat)).toBe(true)
      const stream = yield* Effect.flip(LlmService.chatStream(request).pipe(Stream.runCollect, Effect.provide(context)))
      expect(stream._tag).toBe("ServiceUnavailable")
      const embed = yield* Effect.flip(LlmService.embed({ model: "e", input: "x" }).pipe(Effect.provide(context)))
      expect(embed._tag).toBe("ServiceUnavailable")
      expect(yield* s.fake.calls).toBe(0) // nothing reached the service
    })
  )

  it.scoped("it takes healthyThreshold good probes in a row to become healthy again", () =>
    Effect.gen(function* () {
      const s = yield* scripted
      yield* Ref.set(s.mode, "down")
      const context = yield* build(
        s.service,
        { interval: "10 seconds", unhealthyThreshold: 2, healthyThreshold: 2 },
        yield* Effect.scope
      )
      yield* TestClock.adjust("10 seconds") // probes at 0 and 10: unhealthy
      expect(yield* statusOf(context)).toBe("unhealthy")
      yield* Ref.set(s.mode, "ok")
      yield* TestClock.adjust("10 seconds") // one good probe
      expect(yield* statusOf(context)).toBe("unhealthy")
      yield* Ref.set(s.mode, "down")
      yield* TestClock.adjust("10 seconds") // a failure resets the streak
      yield* Ref.set(s.mode, "ok")
      yield* TestClock.adjust("10 seconds")
      expect(yield* statusOf(context)).toBe("unhealthy")
      yield* TestClock.adjust("10 seconds")
      expect(yield* statusOf(context)).toBe("healthy")
      const response = yield* LlmService.chat(request).pipe(Effect.provide(context))
      expect(response.object).toBe("chat.completion")
    })
  )

  it.scoped("non-transient probe failures do not count against the service", () =>
    Effect.gen(function* () {
      const s = yield* scripted
      const context = yield* build(s.service, { interval: "1 second", unhealthyThreshold: 2 }, yield* Effect.scope)
      yield* TestClock.adjust(0)
      yield* Ref.set(s.mode, "auth")
      yield* TestClock.adjust("10 seconds")
      expect(yield* s.probes).toBe(11)
      expect(yield* statusOf(context)).toBe("healthy")
      const state = yield* HealthCheck.status.pipe(Effect.provide(context))
      expect(state.consecutiveFailures).toBe(0)
    })
  )

  it.scoped("a probe that hangs past the timeout counts as a failure", () =>
    Effect.gen(function* () {
      const s = yield* scripted
      yield* Ref.set(s.mode, "hang")
      const context = yield* build(
        s.service,
        { interval: "30 seconds", timeout: "5 seconds", unhealthyThreshold: 1 },
        yield* Effect.scope
      )
      yield* TestClock.adjust("4 seconds")
      expect(yield* statusOf(context)).toBe("unknown")
      yield* TestClock.adjust("1 second")
      expect(yield* statusOf(context)).toBe("unhealthy")
    })
  )

  it.scoped("without listModels it probes with a one-token chat to the probe model", () =>
    Effect.gen(function* () {
      const s = yield* scripted
      yield* Ref.set(s.mode, "unsupported")
      const context = yield* build(s.service, { interval: "30 seconds", probeModel: "cheap" }, yield* Effect.scope)
      yield* TestClock.adjust("30 seconds")
      expect(yield* statusOf(context)).toBe("healthy")
      const probes = yield* s.fake.requests
      expect(probes).toHaveLength(2)
      expect(probes[0]).toMatchObject({ model: "cheap", max_tokens: 1 })
      expect(yield* s.probes).toBe(1) // listModels is not asked again once unsupported
    })
  )

  it.scoped("without listModels or a probe model it probes with the last model seen, after the first call", () =>
    Effect.gen(function* () {
      const s = yield* scripted
      yield* Ref.set(s.mode, "unsupported")
      const context = yield* build(s.service, { interval: "30 seconds" }, yield* Effect.scope)
      yield* TestClock.adjust(0)
      expect(yield* statusOf(context)).toBe("unknown")
      yield* LlmService.chat({ ...request, model: "seen" }).pipe(Effect.provide(context))
      yield* TestClock.adjust("30 seconds")
      expect(yield* statusOf(context)).toBe("healthy")
      const requests = yield* s.fake.requests
      expect(requests[1]).toMatchObject({ model: "seen", max_tokens: 1 })
    })
  )

  it.effect("the probing fiber stops when the layer's scope closes", () =>
    Effect.gen(function* () {
      const s = yield* scripted
      const scope = yield* Scope.make()
      yield* build(s.service, { interval: "1 second" }, scope)
      yield* TestClock.adjust("5 seconds")
      const before = yield* s.probes
      expect(before).toBe(6)
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("1 minute")
      expect(yield* s.probes).toBe(before)
    })
  )

  it.scoped("a router sees the health of a health-checked deployment, shows it, and sends traffic elsewhere", () =>
    Effect.gen(function* () {
      const sick = yield* scripted
      yield* Ref.set(sick.mode, "down")
      const healthy = yield* LlmTest.make()
      const router = yield* Router.make({
        strategy: Strategy.roundRobin(),
        deployments: [
          Deployment.make({
            name: "sick",
            layer: HealthCheck.layer({ interval: "5 seconds", unhealthyThreshold: 1 }).pipe(
              Layer.provide(Layer.succeed(LlmService.LlmService, sick.service))
            )
          }),
          Deployment.make({ name: "healthy", layer: Layer.succeed(LlmService.LlmService, healthy.service) })
        ]
      })
      yield* TestClock.adjust(0)
      const before = yield* router.stats
      expect(before.deployments.map((d) => d.health)).toEqual(["unhealthy", undefined])
      yield* Effect.repeatN(router.service.chat(request), 3)
      const after = yield* router.stats
      expect(yield* healthy.calls).toBe(4)
      expect(yield* sick.fake.calls).toBe(0)
      expect(after.failovers).toBe(0) // skipped, not tried and failed over
    })
  )

  it.effect("building fails with BadRequest naming a threshold or duration that is out of range", () =>
    Effect.gen(function* () {
      const s = yield* scripted
      const cases: ReadonlyArray<[HealthCheck.Options, string]> = [
        [{ unhealthyThreshold: 0 }, "unhealthyThreshold"],
        [{ unhealthyThreshold: Number.NaN }, "unhealthyThreshold"],
        [{ healthyThreshold: 1.5 }, "healthyThreshold"],
        [{ healthyThreshold: -2 }, "healthyThreshold"],
        [{ interval: 0 }, "interval"],
        [{ interval: "every now and then" as never }, "interval"],
        [{ timeout: Number.NaN }, "timeout"]
      ]
      for (const [options, option] of cases) {
        const error = yield* Effect.flip(Effect.scoped(HealthCheck.make(options)(s.service)))
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain(`HealthCheck.layer: option ${option}`)
      }
      expect(yield* s.probes).toBe(0) // nothing started probing
    })
  )
})
