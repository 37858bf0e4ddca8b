import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Tracer from "effect/Tracer"
import type * as Chat from "../src/Chat.js"
import * as Hooks from "../src/Hooks.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import { fake, fakeRouter, replyOf, request, scripted } from "./Router.kit.js"
import { recordingTracer } from "./support/tracing.js"

const ask = (model: string): Chat.ChatCompletionRequest => ({ model, messages: [{ role: "user", content: "hi" }] })

const plain = (route: Router.Route) =>
  route.attempts.map((a) => [a.deployment, a.error, Duration.toMillis(a.duration)] as const)

const pricing = { inputPerMillion: 2, outputPerMillion: 10 }
const usage = { prompt_tokens: 1000, completion_tokens: 500 }

/** Group "gpt-4o" (one deployment failing after 5 ms) falling back to "claude" (answering after 10 ms, priced). */
const twoGroups = Effect.gen(function* () {
  const down = yield* scripted("openai", [{ latency: 5, error: new LiterLlmError.ServiceUnavailable() }], {
    group: "gpt-4o"
  })
  const up = yield* fake("anthropic", { latency: 10, usage, chunks: 3 }, { group: "claude", pricing })
  return yield* Router.make({
    deployments: [down.deployment, up.deployment],
    strategy: Strategy.fallback(),
    fallbacks: { "gpt-4o": ["claude"] },
    circuit: false
  })
})

describe("Router route facts", () => {
  it.effect("chatWithRoute: the deployment, its group, every attempt with its error tag and duration, the cost", () =>
    Effect.gen(function* () {
      const router = yield* twoGroups
      const fiber = yield* Effect.fork(router.chatWithRoute(ask("gpt-4o")))
      yield* TestClock.adjust(5)
      yield* TestClock.adjust(10)
      const { response, route } = yield* Fiber.join(fiber)
      expect(replyOf(response)).toBe("anthropic")
      expect([route.deployment, route.group]).toEqual(["anthropic", "claude"])
      expect(plain(route)).toEqual([
        ["openai", "ServiceUnavailable", 5],
        ["anthropic", undefined, 10]
      ])
      expect(route.cost).toBeCloseTo((1000 * 2 + 500 * 10) / 1_000_000, 12)
    }).pipe(Effect.scoped)
  )

  it.effect("without groups the route has no group, and without prices no cost", () =>
    Effect.gen(function* () {
      const { router } = yield* fakeRouter({ a: {} }, { strategy: Strategy.roundRobin() })
      const { route } = yield* router.chatWithRoute(request)
      expect(route).toEqual({
        deployment: "a",
        group: undefined,
        attempts: [{ deployment: "a", duration: Duration.zero }],
        cost: undefined
      })
    }).pipe(Effect.scoped)
  )

  it.effect("chatStreamWithRoute resolves once the first chunk is there, with the route; the stream has it all", () =>
    Effect.gen(function* () {
      const router = yield* twoGroups
      const heard: Array<Router.Route> = []
      const onRoute = (route: Router.Route) => Effect.sync(() => void heard.push(route))
      const fiber = yield* Effect.fork(router.chatStreamWithRoute(ask("gpt-4o")).pipe(Router.observeRoutes(onRoute)))
      yield* TestClock.adjust(5)
      yield* TestClock.adjust(9)
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust(1)
      const { route, stream } = yield* Fiber.join(fiber)
      expect([route.deployment, route.group, route.cost]).toEqual(["anthropic", "claude", undefined])
      expect(plain(route)).toEqual([
        ["openai", "ServiceUnavailable", 5],
        ["anthropic", undefined, 10]
      ])
      const chunks = Array.from(yield* Stream.runCollect(stream))
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("anthropic")
      // Read outside observeRoutes, the stream's end still reaches the observer of the call, with the cost.
      expect(heard.map((r) => r.cost)).toEqual([undefined, (1000 * 2 + 500 * 10) / 1_000_000])
    }).pipe(Effect.scoped)
  )

  it.effect("chatStreamWithRoute fails like chatStream when no deployment gives a first chunk", () =>
    Effect.gen(function* () {
      const { router } = yield* fakeRouter({ a: { fail: new LiterLlmError.ServerError() } })
      const error = yield* Effect.flip(router.chatStreamWithRoute(request))
      expect(error._tag).toBe("AllDeploymentsFailed")
    }).pipe(Effect.scoped)
  )

  it.effect("the accessors reach the router provided by layerWithStats", () =>
    Effect.gen(function* () {
      const a = yield* fake("a", { chunks: 2 })
      const layer = Router.layerWithStats({ deployments: [a.deployment], strategy: Strategy.fallback() })
      const program = Effect.gen(function* () {
        const { route } = yield* Router.chatWithRoute(request)
        const streamed = yield* Router.chatStreamWithRoute(request)
        return [route.deployment, streamed.route.deployment]
      })
      expect(yield* program.pipe(Effect.scoped, Effect.provide(Layer.fresh(layer)))).toEqual(["a", "a"])
    }).pipe(Effect.scoped)
  )

  it.effect("observeRoutes hears each route through middleware above the router, for chat and for streams", () =>
    Effect.gen(function* () {
      const heard: Array<Router.Route> = []
      const onRoute = (route: Router.Route) => Effect.sync(() => void heard.push(route))
      const a = yield* fake("a", { fail: new LiterLlmError.ServerError() })
      const b = yield* fake("b", { chunks: 2, usage }, { pricing })
      const stack = Hooks.layer([{ onRequest: () => Effect.void }]).pipe(
        Layer.provide(Router.layer({ deployments: [a.deployment, b.deployment], strategy: Strategy.fallback() }))
      )
      yield* LlmService.chat(request).pipe(Router.observeRoutes(onRoute), Effect.provide(stack))
      const stream = Stream.provideService(LlmService.chatStream(request), Router.RouteObserver, onRoute)
      yield* Stream.runDrain(stream).pipe(Effect.provide(stack))
      // A stream is heard twice: at its first chunk (cost unknown), and at its end with the cost of its usage.
      expect(heard.map((r) => [r.deployment, r.attempts.map((x) => x.error ?? "answered"), r.cost])).toEqual([
        ["b", ["ServerError", "answered"], (1000 * 2 + 500 * 10) / 1_000_000],
        ["b", ["ServerError", "answered"], undefined],
        ["b", ["ServerError", "answered"], (1000 * 2 + 500 * 10) / 1_000_000]
      ])
    }).pipe(Effect.scoped)
  )

  it.effect("the same facts are attributes of the Router.chat and Router.chatStream spans", () =>
    Effect.gen(function* () {
      const spans: Array<Tracer.Span> = []
      const recording = yield* recordingTracer(spans)
      const router = yield* twoGroups
      const fiber = yield* Effect.fork(
        Effect.all([
          router.service.chat(ask("gpt-4o")),
          Stream.runDrain(router.service.chatStream(ask("gpt-4o")))
        ]).pipe(Effect.withTracer(recording))
      )
      yield* TestClock.adjust(15)
      yield* TestClock.adjust(15)
      yield* Fiber.join(fiber)
      const attributes = (name: string) => {
        const span = spans.find((s) => s.name === name)!
        return ["deployment", "group", "attempts", "cost"].map((k) => span.attributes.get(`ell.route.${k}`))
      }
      expect(attributes("Router.chat")).toEqual(["anthropic", "claude", 2, (1000 * 2 + 500 * 10) / 1_000_000])
      // The stream's cost joins its span when the stream ends with usage.
      expect(attributes("Router.chatStream")).toEqual(["anthropic", "claude", 2, (1000 * 2 + 500 * 10) / 1_000_000])
    }).pipe(Effect.scoped)
  )

  it.effect("a failed request's span still counts its attempts", () =>
    Effect.gen(function* () {
      const spans: Array<Tracer.Span> = []
      const recording = yield* recordingTracer(spans)
      const down = new LiterLlmError.ServiceUnavailable()
      const { router } = yield* fakeRouter({ a: { fail: down }, b: { fail: down } })
      yield* Effect.flip(router.service.chat(request).pipe(Effect.withTracer(recording)))
      const span = spans.find((s) => s.name === "Router.chat")!
      expect(span.attributes.get("ell.route.attempts")).toBe(2)
      expect(span.attributes.get("ell.route.deployment")).toBeUndefined()
    }).pipe(Effect.scoped)
  )
})
