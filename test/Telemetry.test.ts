import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { SpanKind, SpanStatusCode } from "@opentelemetry/api"
import { MetricReader } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Chat from "../src/Chat.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"
import * as Telemetry from "../src/Telemetry.js"

const request: Chat.ChatCompletionRequest = {
  model: "gpt-test",
  messages: [{ role: "user", content: "secret prompt about my diagnosis" }],
  max_tokens: 64,
  temperature: 0.2
}

const pricing = { inputPerMillion: 2, outputPerMillion: 8, cachedInputPerMillion: 0.5 }

/** Runs `effect` with an OpenTelemetry SDK exporting to memory, and returns the finished spans with its result. */
const withSpans = <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  const exporter = new InMemorySpanExporter()
  const sdk = NodeSdk.layer(() => ({
    resource: { serviceName: "telemetry-test" },
    spanProcessor: new SimpleSpanProcessor(exporter)
  }))
  // Read the spans before the SDK's scope closes: shutting the exporter down forgets them.
  return Effect.provide(
    Effect.map(effect, (result) => [result, exporter.getFinishedSpans()] as const),
    sdk
  )
}

const llmSpans = (spans: ReadonlyArray<ReadableSpan>) => spans.filter((s) => s.attributes["gen_ai.operation.name"])

const traced = (test: LlmTest.Options, options: Telemetry.Options) =>
  Telemetry.layer(options).pipe(Layer.provide(LlmTest.layer(test)))

/** The service below traced, as `Telemetry.layer` builds it. */
const traceWith = (options: Telemetry.Options, below: LlmService.Service) =>
  Effect.scoped(Telemetry.make(options)(below))

const counterValue = (metric: Metric.Metric.Counter<number>, labels: Record<string, string>) =>
  Effect.map(
    Metric.value(Object.entries(labels).reduce((m, [k, v]) => Metric.tagged(m, k, v), metric)),
    (state) => state.count
  )

describe("Telemetry", () => {
  it.effect("a chat call gets one client span with GenAI attributes and its cost, and no prompt", () =>
    Effect.gen(function* () {
      const [response, spans] = yield* withSpans(
        LlmService.chat(request).pipe(
          Effect.provide(
            traced(
              { usage: { prompt_tokens: 1000, completion_tokens: 500, cached_tokens: 400 }, model: "gpt-test-2025" },
              { provider: "openai", deployment: "span-chat", pricing }
            )
          )
        )
      )
      const [span] = llmSpans(spans)
      expect(llmSpans(spans)).toHaveLength(1)
      expect(span!.name).toBe("chat gpt-test")
      expect(span!.kind).toBe(SpanKind.CLIENT)
      expect(span!.status.code).toBe(SpanStatusCode.OK)
      const a = span!.attributes
      expect(a["gen_ai.operation.name"]).toBe("chat")
      expect(a["gen_ai.request.model"]).toBe("gpt-test")
      expect(a["gen_ai.provider.name"]).toBe("openai")
      expect(a["gen_ai.system"]).toBe("openai")
      expect(a["gen_ai.request.max_tokens"]).toBe(64)
      expect(a["gen_ai.request.temperature"]).toBe(0.2)
      expect(a["gen_ai.response.id"]).toBe(response.id)
      expect(a["gen_ai.response.model"]).toBe("gpt-test-2025")
      expect(String(a["gen_ai.response.finish_reasons"])).toContain("stop")
      expect(a["gen_ai.usage.input_tokens"]).toBe(1000)
      expect(a["gen_ai.usage.output_tokens"]).toBe(500)
      expect(a["gen_ai.usage.cache_read.input_tokens"]).toBe(400)
      expect(a["deployment"]).toBe("span-chat")
      // 600 fresh input at $2/M + 400 cached at $0.5/M + 500 output at $8/M
      expect(a["gen_ai.usage.cost"]).toBeCloseTo((600 * 2 + 400 * 0.5 + 500 * 8) / 1e6, 12)
      const everything = JSON.stringify(spans.map((s) => [s.attributes, s.events]))
      expect(everything).not.toContain("diagnosis")
    })
  )

  it.effect("recordContent puts prompt and answer on the span", () =>
    Effect.gen(function* () {
      const [, spans] = yield* withSpans(
        LlmService.chat(request).pipe(
          Effect.provide(traced({ reply: "take rest" }, { deployment: "content", recordContent: true }))
        )
      )
      const a = llmSpans(spans)[0]!.attributes
      expect(String(a["gen_ai.input.messages"])).toContain("diagnosis")
      expect(String(a["gen_ai.output.messages"])).toContain("take rest")
    })
  )

  it.effect("a failed call sets error.type, an error status, and counts an error by tag", () =>
    Effect.gen(function* () {
      const labels = { "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-test", deployment: "span-fail" }
      const before = yield* counterValue(Telemetry.metrics.errors, { ...labels, "error.type": "RateLimited" })
      const [exit, spans] = yield* withSpans(
        LlmService.chat(request).pipe(
          Effect.provide(
            traced({ fail: new LiterLlmError.RateLimited({ provider: "p" }) }, { deployment: "span-fail" })
          ),
          Effect.exit
        )
      )
      expect(exit._tag).toBe("Failure")
      const span = llmSpans(spans)[0]!
      expect(span.attributes["error.type"]).toBe("RateLimited")
      expect(span.status.code).toBe(SpanStatusCode.ERROR)
      expect(span.attributes["gen_ai.usage.cost"]).toBeUndefined()
      const after = yield* counterValue(Telemetry.metrics.errors, { ...labels, "error.type": "RateLimited" })
      expect(after - before).toBe(1)
    })
  )

  it.effect("a stream is one span over the whole stream, with a first-chunk event, usage and cost", () =>
    Effect.gen(function* () {
      const labels = { "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-test", deployment: "stream-ok" }
      const fiber = yield* withSpans(
        LlmService.chatStream(request).pipe(
          Stream.runCollect,
          Effect.provide(
            traced(
              {
                reply: "abcdefgh",
                chunks: 4,
                latency: "200 millis",
                chunkDelay: "100 millis",
                usage: { prompt_tokens: 10, completion_tokens: 20 }
              },
              { deployment: "stream-ok", pricing }
            )
          )
        )
      ).pipe(Effect.fork)
      yield* TestClock.adjust("1 second")
      const [chunks, spans] = yield* Fiber.join(fiber)
      expect(Chunk.size(chunks)).toBe(5)
      const span = llmSpans(spans)[0]!
      expect(llmSpans(spans)).toHaveLength(1)
      expect(span.attributes["gen_ai.request.stream"]).toBe(true)
      expect(span.attributes["gen_ai.usage.output_tokens"]).toBe(20)
      expect(span.attributes["gen_ai.usage.cost"]).toBeCloseTo((10 * 2 + 20 * 8) / 1e6, 12)
      expect(span.attributes["liter_llm.usage.estimated"]).toBeUndefined()
      expect(span.events.map((e) => e.name)).toEqual(["gen_ai.first_chunk"])
      // 200 ms to the first chunk, then 4 more chunks 100 ms apart: the span lasts 600 ms.
      const millis = (t: readonly [number, number]) => t[0] * 1000 + t[1] / 1e6
      expect(millis(span.endTime) - millis(span.startTime)).toBeCloseTo(600, 3)
      const ttfc = yield* Metric.value(
        Object.entries(labels).reduce((m, [k, v]) => Metric.tagged(m, k, v), Telemetry.metrics.timeToFirstChunk)
      )
      expect(ttfc.count).toBe(1)
      expect(ttfc.sum).toBeCloseTo(0.2, 9)
      const duration = yield* Metric.value(
        Object.entries(labels).reduce((m, [k, v]) => Metric.tagged(m, k, v), Telemetry.metrics.duration)
      )
      expect(duration.sum).toBeCloseTo(0.6, 9)
    })
  )

  it.effect("a stream that breaks is accounted with error.type and estimated tokens for what arrived", () =>
    Effect.gen(function* () {
      const [exit, spans] = yield* withSpans(
        LlmService.chatStream(request).pipe(
          Stream.runCollect,
          Effect.provide(
            traced({ reply: "abcdefgh", chunks: 4, streamFailure: { afterChunks: 2 } }, { deployment: "broken" })
          ),
          Effect.exit
        )
      )
      expect(exit._tag).toBe("Failure")
      const span = llmSpans(spans)[0]!
      expect(span.attributes["error.type"]).toBe("Streaming")
      expect(span.status.code).toBe(SpanStatusCode.ERROR)
      expect(span.attributes["liter_llm.usage.estimated"]).toBe(true)
      expect(span.attributes["gen_ai.usage.output_tokens"]).toBe(1) // "abcd" is about one token
    })
  )

  it.effect("a stream abandoned by its consumer still ends its span, without an error", () =>
    Effect.gen(function* () {
      const [, spans] = yield* withSpans(
        Effect.gen(function* () {
          const [taken, report] = yield* Telemetry.trackCost(
            LlmService.chatStream(request).pipe(Stream.take(1), Stream.runCollect)
          )
          expect(Chunk.size(taken)).toBe(1)
          expect(report.calls).toHaveLength(1)
          expect(report.calls[0]!.estimated).toBe(true)
          // chunks apart in time, as a live stream sends them: the consumer leaves before the usage chunk comes
        }).pipe(
          Effect.provide(
            traced({ reply: "abcdefgh", chunks: 4, chunkDelay: "1 second" }, { deployment: "abandoned", pricing })
          )
        )
      )
      const span = llmSpans(spans)[0]!
      expect(span.ended).toBe(true)
      expect(span.attributes["error.type"]).toBeUndefined()
      expect(span.status.code).not.toBe(SpanStatusCode.ERROR)
    })
  )

  it.effect("trackCost returns the cost of every call inside it, including concurrent ones", () =>
    Effect.gen(function* () {
      const [, report] = yield* Telemetry.trackCost(
        Effect.all([LlmService.chat(request), LlmService.chat(request), LlmService.chat(request)], {
          concurrency: "unbounded"
        })
      ).pipe(
        Effect.provide(
          traced({ usage: { prompt_tokens: 100_000, completion_tokens: 10_000 } }, { deployment: "cost", pricing })
        )
      )
      expect(report.calls).toHaveLength(3)
      expect(report.unpriced).toBe(0)
      expect(report.totalUsd).toBeCloseTo(3 * (0.2 + 0.08), 12)
      // Outside a tracked effect, nothing is collected (and nothing fails).
      const outside = yield* LlmService.chat(request).pipe(Effect.provide(traced({}, { deployment: "cost" })))
      expect(outside.choices).toHaveLength(1)
    })
  )

  it.effect("a model without a known price is reported as unpriced, not as free", () =>
    Effect.gen(function* () {
      const [, report] = yield* Telemetry.trackCost(LlmService.chat({ ...request, model: "no-such-model-xyz" })).pipe(
        Effect.provide(traced({}, { deployment: "unpriced" }))
      )
      expect(report.unpriced).toBe(1)
      expect(report.calls[0]!.costUsd).toBeUndefined()
      expect(report.totalUsd).toBe(0)
    })
  )

  it.effect("metrics count requests, tokens, cost and latency by deployment and model", () =>
    Effect.gen(function* () {
      const labels = { "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-test", deployment: "metrics" }
      const program = LlmService.chat(request).pipe(
        Effect.provide(
          traced(
            { latency: "300 millis", usage: { prompt_tokens: 7, completion_tokens: 3 } },
            { deployment: "metrics", pricing }
          )
        )
      )
      const fiber = yield* Effect.fork(Effect.all([program, program]))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(yield* counterValue(Telemetry.metrics.requests, labels)).toBe(2)
      expect(yield* counterValue(Telemetry.metrics.tokens, { ...labels, "gen_ai.token.type": "input" })).toBe(14)
      expect(yield* counterValue(Telemetry.metrics.tokens, { ...labels, "gen_ai.token.type": "output" })).toBe(6)
      expect(yield* counterValue(Telemetry.metrics.cost, labels)).toBeCloseTo((2 * (7 * 2 + 3 * 8)) / 1e6, 12)
      const duration = yield* Metric.value(
        Object.entries(labels).reduce((m, [k, v]) => Metric.tagged(m, k, v), Telemetry.metrics.duration)
      )
      expect(duration.count).toBe(2)
      expect(duration.sum).toBeCloseTo(0.6, 9)
    })
  )

  it.effect("metrics reach an OpenTelemetry metric reader", () =>
    Effect.gen(function* () {
      class ManualReader extends MetricReader {
        protected onShutdown() {
          return Promise.resolve()
        }
        protected onForceFlush() {
          return Promise.resolve()
        }
      }
      const reader = new ManualReader()
      const { resourceMetrics } = yield* LlmService.chat(request).pipe(
        Effect.provide(traced({}, { deployment: "otel-metrics" })),
        Effect.zipRight(Effect.promise(() => reader.collect())),
        Effect.provide(NodeSdk.layer(() => ({ resource: { serviceName: "m" }, metricReader: reader })))
      )
      const requests = resourceMetrics.scopeMetrics
        .flatMap((s) => s.metrics)
        .find((m) => m.descriptor.name === "gen_ai.client.requests")
      const point = requests?.dataPoints.find((p) => p.attributes["deployment"] === "otel-metrics")
      expect(point?.value).toBe(1)
      expect(point?.attributes["gen_ai.request.model"]).toBe("gpt-test")
    })
  )

  it.effect("embeddings get an embeddings span with input tokens", () =>
    Effect.gen(function* () {
      const [, spans] = yield* withSpans(
        LlmService.embed({ model: "embed-test", input: ["a", "b"] }).pipe(
          Effect.provide(traced({}, { deployment: "embed" }))
        )
      )
      const span = llmSpans(spans)[0]!
      expect(span.name).toBe("embeddings embed-test")
      expect(span.attributes["gen_ai.operation.name"]).toBe("embeddings")
      expect(span.attributes["gen_ai.usage.input_tokens"]).toBe(2)
      expect(span.attributes["gen_ai.response.model"]).toBe("embed-test")
    })
  )

  it.effect("calls of the wrapped service are children of the LLM span", () =>
    Effect.gen(function* () {
      const [, spans] = yield* withSpans(
        Effect.gen(function* () {
          const fake = yield* LlmTest.make()
          const upstream = LlmService.make({ chat: (req) => Effect.withSpan(fake.service.chat(req), "upstream http") })
          return yield* (yield* traceWith({ deployment: "nested" }, upstream)).chat(request)
        })
      )
      const llm = spans.find((s) => s.name === "chat gpt-test")!
      const child = spans.find((s) => s.name === "upstream http")!
      expect(child.parentSpanContext?.spanId).toBe(llm.spanContext().spanId)
    })
  )

  it.effect("a stream's span is the parent of what the stream below does when it opens, and ends with the stream", () =>
    Effect.gen(function* () {
      const [chunks, spans] = yield* withSpans(
        Effect.gen(function* () {
          const fake = yield* LlmTest.make({ reply: "abcd", chunks: 2 })
          // the stream below opens with a span of its own (as a provider's request does) and then streams
          const upstream = LlmService.make({
            chatStream: (req) =>
              Stream.unwrap(Effect.withSpan(Effect.succeed(fake.service.chatStream(req)), "upstream open"))
          })
          const traced = yield* traceWith({ deployment: "nested-stream" }, upstream)
          return yield* Stream.runCollect(traced.chatStream(request)).pipe(Effect.withSpan("caller"))
        })
      )
      expect(Chunk.size(chunks)).toBeGreaterThan(0)
      const llm = spans.find((s) => s.name === "chat gpt-test")!
      const open = spans.find((s) => s.name === "upstream open")!
      const caller = spans.find((s) => s.name === "caller")!
      expect(open.parentSpanContext?.spanId).toBe(llm.spanContext().spanId)
      expect(llm.parentSpanContext?.spanId).toBe(caller.spanContext().spanId)
    })
  )

  it.effect(
    "after a call the caller's span is current again, and fiber refs set below the call keep their values",
    () =>
      Effect.gen(function* () {
        const mark = FiberRef.unsafeMake("unset")
        const fake = yield* LlmTest.make()
        const upstream = LlmService.make({
          // what the upstream sees as its parent, and a fiber ref it sets for the rest of the fiber
          chat: (req) =>
            Effect.zipRight(
              Effect.flatMap(Effect.orDie(Effect.currentSpan), (span) => FiberRef.set(mark, span.name)),
              fake.service.chat(req)
            )
        })
        const traced = yield* traceWith({ deployment: "restore" }, upstream)
        const [inside, after, afterMark, untouched] = yield* Effect.gen(function* () {
          yield* traced.chat(request) // sets the mark: the fiber's refs change below the call
          const inside = yield* FiberRef.get(mark)
          const after = yield* Effect.currentSpan
          yield* FiberRef.set(mark, "reset")
          const fakeOnly = LlmService.make({ chat: (req) => fake.service.chat(req) })
          yield* (yield* traceWith({ deployment: "restore" }, fakeOnly)).chat(request) // changes no ref below the call
          const untouched = yield* Effect.currentSpan
          return [inside, after.name, yield* FiberRef.get(mark), untouched.name] as const
        }).pipe(Effect.withSpan("caller"))
        expect(inside).toBe("chat gpt-test")
        expect(after).toBe("caller")
        expect(afterMark).toBe("reset")
        expect(untouched).toBe("caller")
      })
  )

  it.effect("building fails with BadRequest naming a price that is negative or not a number", () =>
    Effect.gen(function* () {
      const fake = yield* LlmTest.make()
      const error = yield* Effect.flip(
        traceWith({ pricing: { inputPerMillion: -1, outputPerMillion: 8 } }, fake.service)
      )
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toContain("Telemetry.layer: option pricing.inputPerMillion")
      const nan = yield* Effect.flip(
        traceWith({ pricing: { inputPerMillion: 1, outputPerMillion: Number.NaN } }, fake.service)
      )
      expect(nan.message).toContain("pricing.outputPerMillion")
    })
  )

  it.effect("a stream interrupted mid-way ends its span and counts a request, not an error", () =>
    Effect.gen(function* () {
      const labels = { "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-test", deployment: "cut" }
      const fiber = yield* withSpans(
        Effect.gen(function* () {
          const reader = yield* Effect.fork(LlmService.chatStream(request).pipe(Stream.runDrain))
          yield* TestClock.adjust("1500 millis")
          yield* Fiber.interrupt(reader)
        }).pipe(Effect.provide(traced({ reply: "abcdefgh", chunks: 4, chunkDelay: "1 second" }, { deployment: "cut" })))
      ).pipe(Effect.fork)
      yield* TestClock.adjust("1 second")
      const [, spans] = yield* Fiber.join(fiber)
      const span = llmSpans(spans)[0]!
      expect(span.ended).toBe(true)
      expect(span.attributes["error.type"]).toBeUndefined()
      expect(span.status.code).not.toBe(SpanStatusCode.ERROR)
      expect(yield* counterValue(Telemetry.metrics.requests, labels)).toBe(1)
      expect(yield* counterValue(Telemetry.metrics.errors, { ...labels, "error.type": "Streaming" })).toBe(0)
    })
  )
})
