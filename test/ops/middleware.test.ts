/**
 * The other operations through the middleware: the rate limit counts them, the budget reserves and settles them at
 * token prices where the answer reports tokens, telemetry traces each, and the cache answers moderation and rerank
 * (the deterministic ones) but never images.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import * as Budget from "../../src/Budget.js"
import * as Hooks from "../../src/Hooks.js"
import * as LiterLlmError from "../../src/LiterLlmError.js"
import * as LlmCache from "../../src/LlmCache.js"
import * as LlmService from "../../src/LlmService.js"
import * as LlmTest from "../../src/LlmTest.js"
import * as Pricing from "../../src/Pricing.js"
import * as RateLimit from "../../src/RateLimit.js"
import * as Telemetry from "../../src/Telemetry.js"
import { recordingTracer } from "../support/tracing.js"

const rerank = { model: "rr", query: "french city", documents: ["berlin", "a french city"] }

describe("the other operations through the middleware", () => {
  it.effect("RateLimit: rpm counts rerank and moderation calls like chat calls", () =>
    Effect.gen(function* () {
      const results = [
        yield* Effect.either(LlmService.rerank(rerank)),
        yield* Effect.either(LlmService.moderate({ model: "rr", input: "x" })),
        yield* Effect.either(LlmService.rerank(rerank))
      ]
      expect(results.map((r) => (r._tag === "Left" ? r.left._tag : "ok"))).toEqual(["ok", "ok", "RateLimited"])
    }).pipe(Effect.provide(RateLimit.layer({ rpm: 2 }).pipe(Layer.provide(LlmTest.layer()))))
  )

  it.effect("Budget: a priced rerank settles at its reported tokens; a hard limit then refuses", () =>
    Effect.gen(function* () {
      yield* LlmService.rerank(rerank)
      const spent = yield* Budget.spend
      // LlmTest reports (query + documents) / 4 tokens, rounded up: (11 + 20) / 4 → 8 tokens at $100,000 per million
      expect(spent.global).toBeCloseTo(0.8, 6)
      const refused = yield* Effect.flip(LlmService.rerank(rerank))
      expect(refused._tag).toBe("BudgetExceeded")
    }).pipe(
      Effect.provide(
        Budget.layer({ globalLimit: 1.5, prices: { rr: { inputPerMillion: 100_000, outputPerMillion: 0 } } }).pipe(
          Layer.provide(LlmTest.layer())
        )
      )
    )
  )

  it.effect("Hooks: onOperation may refuse; onOperationResponse and onOperationError see each call", () =>
    Effect.gen(function* () {
      const seen: Array<string> = []
      const test = yield* LlmTest.make({ failures: [new LiterLlmError.ServiceUnavailable({ provider: "test" })] })
      const hooked = yield* Hooks.make([
        {
          onOperation: ({ operation, request }) =>
            request.model === "blocked"
              ? Effect.fail(new LiterLlmError.HookRejected({ message: `no ${operation} for blocked` }))
              : Effect.sync(() => seen.push(`before ${operation}`)),
          onOperationResponse: ({ operation }) => Effect.sync(() => seen.push(`after ${operation}`)),
          onOperationError: ({ operation }, error) => Effect.sync(() => seen.push(`${operation} failed: ${error._tag}`))
        }
      ])(test.service)
      const failed = yield* Effect.flip(hooked.moderate({ model: "m", input: "x" }))
      expect(failed._tag).toBe("ServiceUnavailable")
      yield* hooked.rerank(rerank)
      const refused = yield* Effect.flip(hooked.image({ model: "blocked", prompt: "x" }))
      expect(refused.message).toBe("no image for blocked")
      expect(seen).toEqual(["before moderate", "moderate failed: ServiceUnavailable", "before rerank", "after rerank"])
      expect(yield* test.calls).toBe(2)
    }).pipe(Effect.scoped)
  )

  it.effect("Budget: a transcription is charged by the hour of audio where the price data prices it so", () =>
    Effect.gen(function* () {
      // whisper-1 is listed at $0.36 an hour; LlmTest reports the upload's bytes / 16000 as its duration
      expect(Option.getOrUndefined(Pricing.transcriptionCost("whisper-1", 3600))).toBeCloseTo(0.36, 9)
      expect(Option.isNone(Pricing.transcriptionCost("no-such-model", 60))).toBe(true)
      yield* LlmService.transcribe({ model: "whisper-1", file: new Uint8Array(16000 * 60) })
      expect((yield* Budget.spend).global).toBeCloseTo(0.006, 9)
      yield* LlmService.transcribe({ model: "unpriced-stt", file: new Uint8Array(16000) })
      expect((yield* Budget.spend).global).toBeCloseTo(0.006, 9)
    }).pipe(Effect.provide(Budget.layer({ globalLimit: 1 }).pipe(Layer.provide(LlmTest.layer()))))
  )

  it.effect("Telemetry: one client span per call, named after the operation and model", () =>
    Effect.gen(function* () {
      const spans: Array<Tracer.Span> = []
      const tracer = yield* recordingTracer(spans)
      yield* Effect.all([
        LlmService.image({ model: "img", prompt: "a cat" }),
        LlmService.rerank(rerank),
        LlmService.transcribe({ model: "stt", file: new Uint8Array(10) })
      ]).pipe(Effect.withTracer(tracer))
      expect(spans.map((s) => s.name)).toEqual(["image img", "rerank rr", "transcription stt"])
      expect(spans[1].attributes.get("gen_ai.operation.name")).toBe("rerank")
      expect(spans[1].attributes.get("gen_ai.usage.input_tokens")).toBe(8)
    }).pipe(Effect.provide(Telemetry.layer().pipe(Layer.provide(LlmTest.layer()))))
  )

  it.effect(
    "Telemetry: a transcription's cost by the hour of audio, on its span and in trackCost, as Budget charges it",
    () =>
      Effect.gen(function* () {
        const spans: Array<Tracer.Span> = []
        const tracer = yield* recordingTracer(spans)
        // whisper-1 at $0.36 an hour; LlmTest reports the upload's bytes / 16000 as its duration: 60 s = $0.006
        const [, report] = yield* Telemetry.trackCost(
          Effect.all([
            LlmService.transcribe({ model: "whisper-1", file: new Uint8Array(16000 * 60) }),
            LlmService.transcribe({ model: "unpriced-stt", file: new Uint8Array(16000) })
          ])
        ).pipe(Effect.withTracer(tracer))
        expect(report.calls.map((c) => [c.operation, c.model, c.inputTokens, c.outputTokens])).toEqual([
          ["transcription", "whisper-1", 0, 0]
        ])
        expect(report.calls[0]!.costUsd).toBeCloseTo(0.006, 9)
        expect(report.totalUsd).toBeCloseTo(0.006, 9)
        expect(spans.map((s) => s.name)).toEqual(["transcription whisper-1", "transcription unpriced-stt"])
        expect(spans[0]!.attributes.get("gen_ai.usage.cost")).toBeCloseTo(0.006, 9)
        expect(spans[1]!.attributes.has("gen_ai.usage.cost")).toBe(false)
      }).pipe(Effect.provide(Telemetry.layer().pipe(Layer.provide(LlmTest.layer()))))
  )

  it.effect("LlmCache: moderation and rerank are answered from the cache, images never are", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const cached = yield* LlmCache.make()(test.service)
      yield* cached.rerank(rerank)
      const hit = yield* cached.rerank(rerank)
      expect(hit.usage).toBeUndefined()
      yield* cached.moderate({ model: "m", input: "x" })
      yield* cached.moderate({ model: "m", input: "x" })
      yield* cached.image({ model: "img", prompt: "a cat" })
      yield* cached.image({ model: "img", prompt: "a cat" })
      expect(yield* test.calls).toBe(4)
      yield* LlmCache.bypass(cached.rerank(rerank))
      expect(yield* test.calls).toBe(5)
    }).pipe(Effect.scoped)
  )
})
