import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Budget from "../src/Budget.js"
import * as Deployment from "../src/Deployment.js"
import type * as Chat from "../src/Chat.js"
import * as HealthCheck from "../src/HealthCheck.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmClient from "../src/LlmClient.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"
import * as Telemetry from "../src/Telemetry.js"

const request: Chat.ChatCompletionRequest = {
  model: "m",
  messages: [{ role: "user", content: "what is two plus two?" }],
  max_tokens: 10
}
const other: Chat.ChatCompletionRequest = { ...request, messages: [{ role: "user", content: "and three plus three?" }] }

const pricing = { inputPerMillion: 1_000_000, outputPerMillion: 1_000_000 } // $1 per token: easy sums
const usage = { prompt_tokens: 3, completion_tokens: 2 }

/** OpenTelemetry tracing that keeps finished spans in `exporter`. */
const exportingTo = (exporter: InMemorySpanExporter) =>
  NodeSdk.layer(() => ({ resource: { serviceName: "client" }, spanProcessor: new SimpleSpanProcessor(exporter) }))

/** An instant fake deployment whose call count the test can read. */
const deployment = (options: LlmTest.Options = {}) =>
  Effect.map(LlmTest.make({ usage, ...options }), (fake) => ({
    fake,
    layer: Layer.succeed(LlmService.LlmService, fake.service)
  }))

describe("LlmClient", () => {
  it.effect("with no pieces configured it is the service itself", () =>
    Effect.gen(function* () {
      const d = yield* deployment({ reply: "four" })
      const response = yield* LlmService.chat(request).pipe(Effect.provide(LlmClient.layer({ layer: d.layer })))
      expect(response.choices[0]!.message.content).toBe("four")
      expect(response.usage?.prompt_tokens).toBe(3)
      expect(yield* d.fake.calls).toBe(1)
    })
  )

  it.effect("hooks see cache hits: the hook runs twice, the service once", () =>
    Effect.gen(function* () {
      const d = yield* deployment()
      const seen = yield* Ref.make(0)
      const client = LlmClient.layer({
        layer: d.layer,
        cache: true,
        hooks: [{ onRequest: () => Ref.update(seen, (n) => n + 1) }]
      })
      const [first, second] = yield* Effect.all([LlmService.chat(request), LlmService.chat(request)]).pipe(
        Effect.provide(client)
      )
      expect(second.choices).toEqual(first.choices)
      expect(yield* Ref.get(seen)).toBe(2)
      expect(yield* d.fake.calls).toBe(1)
    })
  )

  it.effect("the budget charges a cache hit nothing, and the hit reports zero usage", () =>
    Effect.gen(function* () {
      const d = yield* deployment()
      const client = LlmClient.layer({ layer: d.layer, cache: true, budget: { prices: { m: pricing } } })
      const [spend, hit] = yield* Effect.gen(function* () {
        yield* LlmService.chat(request)
        const hit = yield* LlmService.chat(request)
        return [yield* Budget.spend, hit] as const
      }).pipe(Effect.provide(client))
      expect(spend.global).toBeCloseTo(5, 9) // one call: 3 + 2 tokens at $1
      expect(hit.usage?.total_tokens).toBe(0)
      expect(yield* d.fake.calls).toBe(1)
    })
  )

  it.effect("a streamed cache hit is replayed with zero usage and charged nothing", () =>
    Effect.gen(function* () {
      const d = yield* deployment({ reply: "abcdef", chunks: 3 })
      const client = LlmClient.layer({ layer: d.layer, cache: true, budget: { prices: { m: pricing } } })
      const [first, replay, spend] = yield* Effect.gen(function* () {
        const first = yield* Stream.runCollect(LlmService.chatStream(request))
        const replay = yield* Stream.runCollect(LlmService.chatStream(request))
        return [first, replay, yield* Budget.spend] as const
      }).pipe(Effect.provide(client))
      expect(Chunk.size(replay)).toBe(Chunk.size(first))
      expect(Chunk.toReadonlyArray(replay).at(-1)?.usage?.total_tokens).toBe(0)
      expect(Chunk.toReadonlyArray(first).at(-1)?.usage?.total_tokens).toBe(5)
      expect(spend.global).toBeCloseTo(5, 9)
      expect(yield* d.fake.calls).toBe(1)
    })
  )

  it.effect("callers sharing one upstream call through the cache are charged once", () =>
    Effect.gen(function* () {
      const d = yield* deployment({ latency: "1 second" })
      const client = LlmClient.layer({ layer: d.layer, cache: true, budget: { prices: { m: pricing } } })
      const fiber = yield* Effect.gen(function* () {
        yield* Effect.all([LlmService.chat(request), LlmService.chat(request), LlmService.chat(request)], {
          concurrency: "unbounded"
        })
        return yield* Budget.spend
      }).pipe(Effect.provide(client), Effect.fork)
      yield* TestClock.adjust("1 second")
      const spend = yield* Fiber.join(fiber)
      expect(yield* d.fake.calls).toBe(1)
      expect(spend.global).toBeCloseTo(5, 9)
    })
  )

  it.effect("a call whose first caller is interrupted is charged once, to the first caller still waiting", () =>
    Effect.gen(function* () {
      const d = yield* deployment({ latency: "1 second" })
      const client = LlmClient.layer({ layer: d.layer, cache: true, budget: { prices: { m: pricing } } })
      yield* Effect.gen(function* () {
        const leader = yield* Effect.fork(LlmService.chat(request))
        yield* TestClock.adjust("100 millis")
        const waiting = yield* Effect.fork(
          Effect.all([LlmService.chat(request), LlmService.chat(request)], { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("400 millis")
        yield* Fiber.interrupt(leader) // its call goes on for the two waiting callers
        yield* TestClock.adjust("1 second")
        const [first, second] = yield* Fiber.join(waiting)
        expect((yield* d.fake.requests).length).toBe(1) // one upstream call for all three
        // One of the two answers carries the call's usage, the other shared it.
        expect([first.usage?.total_tokens, second.usage?.total_tokens].sort()).toEqual([0, 5])
        expect((yield* Budget.spend).global).toBeCloseTo(5, 9)
      }).pipe(Effect.provide(client))
    })
  )

  it.effect("identical streams at once share one upstream stream and are charged once, whoever stops early", () =>
    Effect.gen(function* () {
      const d = yield* deployment({ reply: "one two three", chunks: 3, chunkDelay: "1 second" })
      const client = LlmClient.layer({ layer: d.layer, cache: true, budget: { prices: { m: pricing } } })
      yield* Effect.gen(function* () {
        // Two readers to the end: the one who started it carries the usage, the other shares it.
        const both = yield* Effect.fork(
          Effect.all(
            [Stream.runCollect(LlmService.chatStream(request)), Stream.runCollect(LlmService.chatStream(request))],
            { concurrency: "unbounded" }
          )
        )
        yield* TestClock.adjust("5 seconds")
        const usages = (yield* Fiber.join(both)).map(
          (chunks) => Chunk.toReadonlyArray(chunks).at(-1)?.usage?.total_tokens
        )
        expect(usages.sort()).toEqual([0, 5])
        expect((yield* Budget.spend).global).toBeCloseTo(5, 9)
        expect((yield* d.fake.requests).length).toBe(1)

        // The one who started it stops early: the other, reading to the end, takes the usage as its own.
        const fresh = { ...request, max_tokens: 11 }
        const leader = yield* Effect.fork(Stream.runDrain(Stream.take(LlmService.chatStream(fresh), 2)))
        yield* TestClock.adjust("500 millis")
        const joiner = yield* Effect.fork(Stream.runCollect(LlmService.chatStream(fresh)))
        yield* TestClock.adjust("5 seconds")
        yield* Fiber.join(leader)
        expect(Chunk.toReadonlyArray(yield* Fiber.join(joiner)).at(-1)?.usage?.total_tokens).toBe(5)
        expect((yield* Budget.spend).global).toBeCloseTo(10, 9)
        expect((yield* d.fake.requests).length).toBe(2)
      }).pipe(Effect.provide(client))
    })
  )

  it.effect("a request a hook rejects never reaches the rate limiter", () =>
    Effect.gen(function* () {
      const d = yield* deployment()
      const client = LlmClient.layer({
        layer: d.layer,
        rateLimit: { rpm: 1 },
        hooks: [
          {
            onRequest: (req) =>
              req === other ? Effect.fail(new LiterLlmError.HookRejected({ message: "not allowed" })) : Effect.void
          }
        ]
      })
      const [rejected, allowed, limited] = yield* Effect.all([
        Effect.flip(LlmService.chat(other)),
        LlmService.chat(request),
        Effect.flip(LlmService.chat(request))
      ]).pipe(Effect.provide(client))
      expect(rejected._tag).toBe("HookRejected")
      expect(allowed.object).toBe("chat.completion") // the rejected call took no slot
      expect(limited._tag).toBe("RateLimited") // but the one slot is real
      expect(yield* d.fake.calls).toBe(1)
    })
  )

  it.effect("a call the budget refuses takes no rate-limit slot, and hooks see the refusal", () =>
    Effect.gen(function* () {
      const d = yield* deployment()
      const errors = yield* Ref.make<ReadonlyArray<string>>([])
      const client = LlmClient.layer({
        layer: d.layer,
        rateLimit: { rpm: 1 },
        budget: { globalLimit: 100, prices: { m: pricing } },
        hooks: [{ onError: (_, error) => Ref.update(errors, (all) => [...all, error._tag]) }]
      })
      const [refused, allowed] = yield* Effect.all([
        Effect.flip(LlmService.chat({ ...request, max_tokens: 1000 })), // estimate over $100
        LlmService.chat(request)
      ]).pipe(Effect.provide(client))
      expect(refused._tag).toBe("BudgetExceeded")
      expect(allowed.object).toBe("chat.completion")
      expect(yield* Ref.get(errors)).toEqual(["BudgetExceeded"])
    })
  )

  it.effect("the health check sits outside the cache: an unhealthy client refuses even cached answers", () =>
    Effect.gen(function* () {
      const fake = yield* LlmTest.make({ usage })
      const down = yield* Ref.make(false)
      const service: LlmService.Service = {
        ...fake.service,
        listModels: Effect.flatMap(Ref.get(down), (isDown) =>
          isDown ? Effect.fail(new LiterLlmError.ServiceUnavailable()) : fake.service.listModels
        )
      }
      const client = LlmClient.layer({
        layer: Layer.succeed(LlmService.LlmService, service),
        cache: true,
        healthCheck: { interval: "10 seconds", unhealthyThreshold: 1 }
      })
      yield* Effect.gen(function* () {
        yield* TestClock.adjust(0)
        yield* LlmService.chat(request)
        expect((yield* HealthCheck.status).status).toBe("healthy")
        yield* Ref.set(down, true)
        yield* TestClock.adjust("10 seconds")
        expect((yield* HealthCheck.status).status).toBe("unhealthy")
        const error = yield* Effect.flip(LlmService.chat(request))
        expect(error._tag).toBe("ServiceUnavailable")
      }).pipe(Effect.provide(client))
      expect(yield* fake.calls).toBe(1)
    })
  )

  it.effect(
    "health probes bypass the cache: a service without listModels whose chat turns sick is found unhealthy",
    () =>
      Effect.gen(function* () {
        const fake = yield* LlmTest.make({ usage })
        const down = yield* Ref.make(false)
        // no listModels: the probe is a one-token chat, the same request every time, which a cache would answer
        const service = LlmService.make({
          chat: (req) =>
            Effect.flatMap(Ref.get(down), (isDown) =>
              isDown ? Effect.fail(new LiterLlmError.ServiceUnavailable()) : fake.service.chat(req)
            )
        })
        const client = LlmClient.layer({
          layer: Layer.succeed(LlmService.LlmService, service),
          cache: true,
          healthCheck: { interval: "10 seconds", unhealthyThreshold: 1, probeModel: "m" }
        })
        yield* Effect.gen(function* () {
          yield* TestClock.adjust(0)
          expect((yield* HealthCheck.status).status).toBe("healthy")
          yield* Ref.set(down, true)
          yield* TestClock.adjust("10 seconds")
          expect((yield* HealthCheck.status).status).toBe("unhealthy")
        }).pipe(Effect.provide(client))
        expect(yield* fake.calls).toBe(1)
      })
  )

  it.effect("telemetry is outermost: rejected calls get a span, cache hits are marked and cost nothing", () =>
    Effect.gen(function* () {
      const exporter = new InMemorySpanExporter()
      const d = yield* deployment()
      const client = LlmClient.layer({
        layer: d.layer,
        cache: true,
        hooks: [
          {
            onRequest: (req) => (req === other ? Effect.fail(new LiterLlmError.HookRejected({})) : Effect.void)
          }
        ],
        telemetry: { deployment: "client", pricing }
      })
      const [report, spans] = yield* Effect.gen(function* () {
        const [, report] = yield* Telemetry.trackCost(
          Effect.all([LlmService.chat(request), LlmService.chat(request), Effect.flip(LlmService.chat(other))])
        )
        return [report, exporter.getFinishedSpans()] as const
      }).pipe(Effect.provide(client), Effect.provide(exportingTo(exporter)))
      const llm = spans.filter((s) => s.attributes["gen_ai.operation.name"] === "chat")
      expect(llm).toHaveLength(3)
      expect(llm[0]!.attributes["gen_ai.usage.cost"]).toBeCloseTo(5, 9)
      expect(llm[1]!.attributes["liter_llm.cache.hit"]).toBe(true)
      expect(llm[1]!.attributes["gen_ai.usage.cost"]).toBe(0)
      expect(llm[2]!.attributes["error.type"]).toBe("HookRejected")
      expect(report.totalUsd).toBeCloseTo(5, 9)
      expect(report.calls.map((c) => c.costUsd)).toEqual([5, 0])
    })
  )

  it.effect("a streamed cache hit is marked on its span and priced at zero", () =>
    Effect.gen(function* () {
      const exporter = new InMemorySpanExporter()
      const d = yield* deployment({ reply: "abcdef", chunks: 2 })
      const client = LlmClient.layer({
        layer: d.layer,
        cache: true,
        telemetry: { deployment: "client-stream", pricing }
      })
      const spans = yield* Effect.gen(function* () {
        yield* Stream.runDrain(LlmService.chatStream(request))
        yield* Stream.runDrain(LlmService.chatStream(request))
        // A replay the consumer abandons after one chunk: nothing reached the provider, so nothing is estimated.
        yield* Stream.runDrain(Stream.take(LlmService.chatStream(request), 1))
        return exporter.getFinishedSpans()
      }).pipe(Effect.provide(client), Effect.provide(exportingTo(exporter)))
      const llm = spans.filter((s) => s.attributes["gen_ai.operation.name"] === "chat")
      expect(llm).toHaveLength(3)
      expect(llm[0]!.attributes["liter_llm.cache.hit"]).toBeUndefined()
      expect(llm[0]!.attributes["gen_ai.usage.cost"]).toBeCloseTo(5, 9)
      for (const hit of llm.slice(1)) {
        expect(hit.attributes["liter_llm.cache.hit"]).toBe(true)
        expect(hit.attributes["gen_ai.usage.cost"]).toBe(0)
        expect(hit.attributes["gen_ai.usage.input_tokens"]).toBe(0)
        expect(hit.attributes["liter_llm.usage.estimated"]).toBeUndefined()
      }
      expect(yield* d.fake.calls).toBe(1)
    })
  )

  it.effect("the client provides Budget and Health when configured, for the application and a router", () =>
    Effect.gen(function* () {
      const d = yield* deployment()
      const client = LlmClient.layer({ layer: d.layer, budget: {}, healthCheck: true })
      const [spend, health] = yield* Effect.all([Budget.spend, HealthCheck.status]).pipe(Effect.provide(client))
      expect(spend.global).toBe(0)
      expect(health.status).toBe("unknown")
    })
  )

  it.effect("its type keeps every tag its layers provide: a router's stats, the budget, the health", () =>
    Effect.gen(function* () {
      const d = yield* deployment()
      const client = LlmClient.layer({
        layer: Router.layerWithStats({
          deployments: [Deployment.make({ name: "only", layer: d.layer })],
          strategy: Strategy.roundRobin()
        }),
        budget: {},
        healthCheck: true
      })
      expectTypeOf<Layer.Layer.Success<typeof client>>().toEqualTypeOf<
        LlmService.LlmService | Router.Router | Budget.Budget | HealthCheck.Health
      >()
      const [stats, spend, health] = yield* Effect.gen(function* () {
        yield* LlmService.chat(request)
        return yield* Effect.all([Router.stats, Budget.spend, HealthCheck.status])
      }).pipe(Effect.provide(client))
      expect(stats.deployments.map((s) => s.name)).toEqual(["only"])
      expect(spend.global).toBe(0)
      expect(health.status).toBe("unknown")
      // with no piece, it is the layer given, tags and all
      const bare = LlmClient.layer({ layer: d.layer })
      expectTypeOf<Layer.Layer.Error<typeof bare>>().toEqualTypeOf<never>()
    })
  )

  it.effect("building fails with BadRequest naming the piece and option", () =>
    Effect.gen(function* () {
      const d = yield* deployment()
      const error = yield* Effect.flip(
        Layer.build(LlmClient.layer({ layer: d.layer, rateLimit: { rpm: 0 } })).pipe(Effect.scoped)
      )
      expect(error.message).toContain("RateLimit.layer: option rpm")
      const health = yield* Effect.flip(
        Layer.build(LlmClient.layer({ layer: d.layer, healthCheck: { unhealthyThreshold: Number.NaN } })).pipe(
          Effect.scoped
        )
      )
      expect(health.message).toContain("HealthCheck.layer: option unhealthyThreshold")
    })
  )
})
