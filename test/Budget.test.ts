import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Budget from "../src/Budget.js"
import type * as Chat from "../src/Chat.js"
import type * as Embedding from "../src/Embedding.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"
import { estimatePromptTokens } from "../src/internal/tokens.js"

// $1 per prompt token and $2 per completion token keep every sum an exact integer.
const prices = { priced: { inputPerMillion: 1_000_000, outputPerMillion: 2_000_000 } }
const request: Chat.ChatCompletionRequest = {
  model: "priced",
  max_tokens: 5,
  messages: [{ role: "user", content: "hello" }]
}
// LlmTest reports the prompt estimate as prompt tokens; with 5 completion tokens the real cost equals the estimate.
const cost = estimatePromptTokens(request) + 2 * 5

/** A budget on a fresh store, and a function putting a service under it (as `Budget.layer` does). */
const budgetOf = (options: Budget.Options) =>
  Effect.map(Budget.memoryStore, (store) => ({
    budget: Budget.view(store),
    wrap: (below: LlmService.Service) =>
      Effect.scoped(Budget.make(options)(below)).pipe(Effect.provideService(Budget.Store, store))
  }))

const captureLogs = Effect.map(
  Effect.sync(() => [] as Array<string>),
  (lines) => ({
    lines,
    logger: Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message }) => {
        lines.push(`${logLevel.label}:${Array.isArray(message) ? message.join(" ") : String(message)}`)
      })
    )
  })
)

describe("Budget", () => {
  it.effect("charges the real cost of each call from its usage", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ usage: { completion_tokens: 5 } })
      const { budget, wrap } = yield* budgetOf({ globalLimit: 1000, prices })
      const service = yield* wrap(test.service)
      yield* service.chat(request)
      yield* service.chat(request)
      expect(yield* budget.spend).toEqual({ global: 2 * cost, byModel: { priced: 2 * cost } })
    })
  )

  it.effect("hard mode refuses with BudgetExceeded before sending, with model, limit and spent", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ usage: { completion_tokens: 5 } })
      const { budget, wrap } = yield* budgetOf({ modelLimits: { priced: cost * 2 }, prices })
      const service = yield* wrap(test.service)
      yield* service.chat(request)
      yield* service.chat(request)
      const error = yield* Effect.flip(service.chat(request))
      expect(error).toBeInstanceOf(LiterLlmError.BudgetExceeded)
      const exceeded = error as LiterLlmError.BudgetExceeded
      expect([exceeded.model, exceeded.limit, exceeded.spent]).toEqual(["priced", cost * 2, cost * 2])
      expect(LiterLlmError.isTransient(error)).toBe(false)
      expect(yield* test.calls).toBe(2)
      // another model has no limit of its own
      yield* service.chat({ ...request, model: "other" })
      expect(yield* test.calls).toBe(3)
      // reset makes room again
      yield* budget.reset
      expect(yield* budget.spend).toEqual({ global: 0, byModel: {} })
      yield* service.chat(request)
      expect(yield* test.calls).toBe(4)
    })
  )

  it.effect("refuses a call whose estimate alone would pass the global limit", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const { wrap } = yield* budgetOf({ globalLimit: cost - 1, prices })
      const error = yield* Effect.flip((yield* wrap(test.service)).chat(request))
      expect(error._tag).toBe("BudgetExceeded")
      expect((error as LiterLlmError.BudgetExceeded).model).toBeUndefined()
      expect(error.message).toMatch(/^the global budget of /)
      expect(yield* test.calls).toBe(0)
    })
  )

  it.effect("name: refusals of the global limit call the budget by it", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const { wrap } = yield* budgetOf({ globalLimit: cost - 1, name: 'key "team-a"', prices })
      const error = yield* Effect.flip((yield* wrap(test.service)).chat(request))
      expect(error.message).toMatch(/^the key "team-a" budget of \$/)
      expect(error.message).not.toContain("global")
    })
  )

  it.effect("soft mode lets calls through and logs a warning", () =>
    Effect.gen(function* () {
      const { lines, logger } = yield* captureLogs
      const test = yield* LlmTest.make({ usage: { completion_tokens: 5 } })
      const { budget, wrap } = yield* budgetOf({ globalLimit: cost, enforcement: "soft", prices })
      const service = yield* wrap(test.service)
      yield* Effect.provide(Effect.all([service.chat(request), service.chat(request), service.chat(request)]), logger)
      expect(yield* test.calls).toBe(3)
      expect((yield* budget.spend).global).toBe(3 * cost)
      expect(lines.filter((l) => l.startsWith("WARN:") && l.includes("global budget")).length).toBe(2)
    })
  )

  it.effect("a model without a price costs 0 and says so in a debug log", () =>
    Effect.gen(function* () {
      const { lines, logger } = yield* captureLogs
      const test = yield* LlmTest.make()
      const { budget, wrap } = yield* budgetOf({ globalLimit: 1, prices })
      const service = yield* wrap(test.service)
      yield* service
        .chat({ ...request, model: "mystery-model" })
        .pipe(Effect.provide(logger), Logger.withMinimumLogLevel(LogLevel.Debug))
      yield* service.chat({ ...request, model: "mystery-model" })
      expect(yield* budget.spend).toEqual({ global: 0, byModel: {} })
      expect(yield* test.calls).toBe(2)
      expect(lines.some((l) => l.startsWith("DEBUG:") && l.includes("mystery-model"))).toBe(true)
    })
  )

  it.effect("accounts streams when they complete, and releases failed ones", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ chunks: 3, usage: { completion_tokens: 5 } })
      const { budget, wrap } = yield* budgetOf({ globalLimit: cost, prices })
      const service = yield* wrap(test.service)
      yield* Stream.runDrain(service.chatStream(request))
      expect((yield* budget.spend).global).toBe(cost)
      const error = yield* Effect.flip(Stream.runDrain(service.chatStream(request)))
      expect(error._tag).toBe("BudgetExceeded")
      expect(yield* test.calls).toBe(1)

      const broken = yield* LlmTest.make({ chunks: 3, streamFailure: { afterChunks: 1 } })
      const second = yield* budgetOf({ globalLimit: cost, prices })
      const brokenService = yield* second.wrap(broken.service)
      yield* Effect.flip(Stream.runDrain(brokenService.chatStream(request)))
      expect((yield* second.budget.spend).global).toBe(0)
      // the reservation was released, so the full budget is available again
      yield* Effect.flip(Stream.runDrain(brokenService.chatStream(request)))
      expect(yield* broken.calls).toBe(2)
    })
  )

  it.effect("an interrupted stream releases its reservation", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ chunks: 3, chunkDelay: "1 second", usage: { completion_tokens: 5 } })
      const { budget, wrap } = yield* budgetOf({ globalLimit: cost, prices })
      const service = yield* wrap(test.service)
      const reader = yield* Effect.fork(Stream.runDrain(service.chatStream(request)))
      yield* TestClock.adjust("1 second")
      // while the stream holds the whole budget, nothing else fits
      expect((yield* Effect.flip(service.chat(request)))._tag).toBe("BudgetExceeded")
      yield* Fiber.interrupt(reader)
      expect(yield* budget.spend).toEqual({ global: 0, byModel: {} })
      yield* service.chat(request)
      expect((yield* budget.spend).global).toBe(cost)
    })
  )

  it.effect("usage that prices to NaN is charged at the estimate, so the limit keeps holding", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ usage: { completion_tokens: Number.NaN } })
      const { budget, wrap } = yield* budgetOf({ globalLimit: cost, prices })
      const service = yield* wrap(test.service)
      yield* service.chat(request)
      expect((yield* budget.spend).global).toBe(cost)
      expect((yield* Effect.flip(service.chat(request)))._tag).toBe("BudgetExceeded")
    })
  )

  it.effect("10,000 concurrent calls never pass a hard limit", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ usage: { completion_tokens: 5 } })
      const { budget, wrap } = yield* budgetOf({ globalLimit: cost * 100, prices })
      const service = yield* wrap(test.service)
      const results = yield* Effect.all(
        Array.from({ length: 10_000 }, () => Effect.either(service.chat(request))),
        { concurrency: "unbounded" }
      )
      expect(results.filter((r) => r._tag === "Right").length).toBe(100)
      expect(yield* test.calls).toBe(100)
      expect(yield* budget.spend).toEqual({ global: cost * 100, byModel: { priced: cost * 100 } })
    })
  )

  it.effect("interrupted calls release their reservations", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ latency: "1 second", usage: { completion_tokens: 5 } })
      const { budget, wrap } = yield* budgetOf({ globalLimit: cost * 100, prices })
      const service = yield* wrap(test.service)
      const calls = Array.from({ length: 10_000 }, () => Effect.either(service.chat(request)))
      const fiber = yield* Effect.fork(Effect.all(calls, { concurrency: "unbounded" }))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(fiber)
      expect(yield* budget.spend).toEqual({ global: 0, byModel: {} })
      // every reservation is gone: a full budget's worth of calls is admitted again
      const again = yield* Effect.fork(Effect.all(calls, { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.join(again)
      expect(results.filter((r) => r._tag === "Right").length).toBe(100)
      expect((yield* budget.spend).global).toBe(cost * 100)
    })
  )

  it.effect("Budget.layer wraps the service below and provides the Budget tag", () =>
    Effect.gen(function* () {
      const layer = Budget.layer({ globalLimit: cost, prices }).pipe(
        Layer.provide(LlmTest.layer({ usage: { completion_tokens: 5 } }))
      )
      const [spent, refused] = yield* Effect.gen(function* () {
        yield* LlmService.chat(request)
        const refused = yield* Effect.flip(LlmService.chat(request))
        return [yield* Budget.spend, refused] as const
      }).pipe(Effect.provide(layer))
      expect(spent.global).toBe(cost)
      expect(refused._tag).toBe("BudgetExceeded")
    })
  )

  it.effect("building fails with BadRequest naming a limit or price that is negative or not a number", () =>
    Effect.gen(function* () {
      const below = (yield* LlmTest.make()).service
      const cases: ReadonlyArray<[Budget.Options, string]> = [
        [{ globalLimit: Number.NaN }, "globalLimit"],
        [{ globalLimit: -1 }, "globalLimit"],
        [{ modelLimits: { priced: -5 } }, "modelLimits.priced"],
        [{ prices: { priced: { inputPerMillion: Number.NaN, outputPerMillion: 1 } } }, "prices.priced.inputPerMillion"]
      ]
      for (const [options, option] of cases) {
        const error = yield* Effect.flip(Effect.scoped(Budget.make(options)(below)))
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain(`Budget.layer: option ${option}`)
      }
      const layerError = yield* Effect.flip(
        Layer.build(Budget.layer({ globalLimit: -1 }).pipe(Layer.provide(LlmTest.layer()))).pipe(Effect.scoped)
      )
      expect(layerError.message).toContain("globalLimit")
    })
  )

  it.effect("a request that is not an object fails with BadRequest from the effect, never a throw from chat", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const { wrap } = yield* budgetOf({ globalLimit: cost, prices })
      const service = yield* wrap(test.service)
      for (const bad of [null, undefined, 42]) {
        const chat = Effect.suspend(() => service.chat(bad as unknown as Chat.ChatCompletionRequest))
        const error = yield* Effect.flip(chat)
        expect(error._tag).toBe("BadRequest")
        const embed = Effect.suspend(() => service.embed(bad as unknown as Embedding.EmbeddingRequest))
        expect((yield* Effect.flip(embed))._tag).toBe("BadRequest")
      }
      expect(yield* test.calls).toBe(0)
    })
  )

  it.effect("a negative or NaN max_tokens is refused with BadRequest before anything is reserved or sent", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ usage: { completion_tokens: 5 } })
      const { budget, wrap } = yield* budgetOf({ globalLimit: cost, prices })
      const service = yield* wrap(test.service)
      for (const max_tokens of [-1_000_000, Number.NaN, 2.5]) {
        const error = yield* Effect.flip(service.chat({ ...request, max_tokens }))
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain("max_tokens")
        const streamError = yield* Effect.flip(Stream.runDrain(service.chatStream({ ...request, max_tokens })))
        expect(streamError._tag).toBe("BadRequest")
      }
      const embedError = yield* Effect.flip(service.embed({ model: "priced", input: 42 as unknown as string }))
      expect(embedError._tag).toBe("BadRequest")
      expect(yield* test.calls).toBe(0)
      // nothing was reserved: the whole budget is still there for a real call
      yield* service.chat(request)
      expect((yield* budget.spend).global).toBe(cost)
    })
  )

  it.effect("budgets sharing a Store share one spend", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ usage: { completion_tokens: 5 } })
      const store = yield* Budget.memoryStore
      const wrap = (below: LlmService.Service) =>
        Effect.scoped(Budget.make({ globalLimit: cost * 2, prices })(below)).pipe(
          Effect.provideService(Budget.Store, store)
        )
      const first = yield* wrap(test.service)
      const second = yield* wrap(test.service)
      yield* first.chat(request)
      yield* second.chat(request)
      expect((yield* Effect.flip(first.chat(request)))._tag).toBe("BudgetExceeded")
      expect(yield* Budget.view(store).spend).toEqual({ global: 2 * cost, byModel: { priced: 2 * cost } })
    })
  )
})
