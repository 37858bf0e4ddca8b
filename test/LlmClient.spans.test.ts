import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import * as Budget from "../src/Budget.js"
import type * as Chat from "../src/Chat.js"
import * as LlmClient from "../src/LlmClient.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"

const request: Chat.ChatCompletionRequest = {
  model: "m",
  messages: [{ role: "user", content: "what is two plus two?" }],
  max_tokens: 10
}
const pricing = { inputPerMillion: 1_000_000, outputPerMillion: 1_000_000 } // $1 a token

/** A tracer (Effect's public `Tracer.make`) that records every span it starts and whether it ended. */
const recording = () => {
  const spans: Array<{ readonly name: string; ended: boolean; exit?: Exit.Exit<unknown, unknown> }> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const record: (typeof spans)[number] = { name, ended: false }
      spans.push(record)
      const attributes = new Map<string, unknown>()
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span-${spans.length}`,
        traceId: "trace",
        sampled: true,
        parent,
        context,
        links: [...links],
        kind,
        status: { _tag: "Started", startTime },
        attributes,
        attribute: (key, value) => void attributes.set(key, value),
        event: () => {},
        end: (_, exit) => {
          record.ended = true
          record.exit = exit
        },
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })
  const open = () => spans.filter((s) => !s.ended).map((s) => s.name)
  return { spans, tracer, open }
}

/** Runs `effect` under the caller's own span, returning what it gives, the open spans and the current span then. */
const asCaller = <A, E, R>(effect: Effect.Effect<A, E, R>, open: () => ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const result = yield* Effect.exit(effect)
    const current = yield* Effect.map(
      Effect.option(Effect.currentSpan),
      Option.map((span) => span.name)
    )
    return { result, openInside: open(), current: Option.getOrUndefined(current) }
  }).pipe(Effect.withSpan("caller"))

const client = <O extends Omit<LlmClient.Options, "layer">>(options: O, test: LlmTest.Options = {}) =>
  Effect.map(LlmTest.make({ usage: { prompt_tokens: 3, completion_tokens: 2 }, ...test }), (fake) => ({
    fake,
    layer: LlmClient.layer({ layer: Layer.succeed(LlmService.LlmService, fake.service), ...options })
  }))

const everything = {
  telemetry: { deployment: "spans", pricing },
  budget: { globalLimit: 100, prices: { m: pricing } },
  rateLimit: { rpm: 100 }
} as const

describe("LlmClient spans", () => {
  it.effect("a hook that throws leaves no open span and the caller's span current", () =>
    Effect.gen(function* () {
      const { open, spans, tracer } = recording()
      const { fake, layer } = yield* client({
        ...everything,
        hooks: [
          {
            onRequest: () => {
              throw new Error("a bug in the hook")
            }
          }
        ]
      })
      const run = yield* asCaller(LlmService.chat(request), open).pipe(Effect.provide(layer), Effect.withTracer(tracer))
      expect(Exit.isFailure(run.result) && String(run.result.cause)).toContain("HookRejected")
      expect(run.openInside).toEqual(["caller"])
      expect(run.current).toBe("caller")
      expect(open()).toEqual([])
      expect(spans.map((s) => s.name)).toEqual(["caller", "chat m"])
      expect(yield* fake.calls).toBe(0)
    })
  )

  it.effect("a request the budget rejects leaves no open span, and its span records the failure", () =>
    Effect.gen(function* () {
      const { open, spans, tracer } = recording()
      const { fake, layer } = yield* client({ ...everything, budget: { globalLimit: 1, prices: { m: pricing } } })
      const run = yield* asCaller(LlmService.chat(request), open).pipe(Effect.provide(layer), Effect.withTracer(tracer))
      expect(Exit.isFailure(run.result) && String(run.result.cause)).toContain("BudgetExceeded")
      expect(run.openInside).toEqual(["caller"])
      expect(run.current).toBe("caller")
      expect(open()).toEqual([])
      expect(Exit.isFailure(spans.find((s) => s.name === "chat m")!.exit!)).toBe(true)
      expect(yield* fake.calls).toBe(0)
    })
  )

  it.effect("an untyped caller's messages: null is a BadRequest naming the field, with no open span", () =>
    Effect.gen(function* () {
      const { open, tracer } = recording()
      const { fake, layer } = yield* client(everything)
      const broken = { model: "m", messages: null } as unknown as Chat.ChatCompletionRequest
      const run = yield* asCaller(LlmService.chat(broken), open).pipe(Effect.provide(layer), Effect.withTracer(tracer))
      expect(Exit.isFailure(run.result) && String(run.result.cause)).toMatch(/BadRequest.*messages/)
      expect(run.current).toBe("caller")
      expect(open()).toEqual([])
      expect(yield* fake.calls).toBe(0)
    })
  )

  it.effect("a stream interrupted mid-way ends its span and settles the budget and rate limit", () =>
    Effect.gen(function* () {
      const { open, tracer } = recording()
      const { fake, layer } = yield* client(
        { ...everything, rateLimit: { tpm: 300 } },
        { chunks: 4, chunkDelay: "1 second" }
      )
      yield* Effect.gen(function* () {
        const reader = yield* Effect.fork(
          Stream.runDrain(LlmService.chatStream(request)).pipe(Effect.withSpan("caller"))
        )
        yield* TestClock.adjust("2 seconds")
        expect(open()).toEqual(["caller", "chat m"])
        yield* Fiber.interrupt(reader)
        expect(open()).toEqual([])
        expect(yield* Budget.spend).toEqual({ global: 0, byModel: {} })
        // the reservation and the tokens were given back: the same stream fits again, to its end
        const again = yield* Effect.fork(Stream.runDrain(LlmService.chatStream(request)))
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.join(again)
        expect((yield* Budget.spend).global).toBe(5)
      }).pipe(Effect.provide(layer), Effect.withTracer(tracer))
      expect(open()).toEqual([])
      expect(yield* fake.calls).toBe(2)
    })
  )
})
