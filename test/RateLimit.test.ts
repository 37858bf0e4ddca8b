import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Chat from "../src/Chat.js"
import * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"
import * as RateLimit from "../src/RateLimit.js"
import * as Window from "../src/internal/middleware/rateLimit.js"
import { estimatePromptTokens } from "../src/internal/tokens.js"

const request: Chat.ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "hello" }] }
const prompt = estimatePromptTokens(request)

/** The service below rate limited, as `RateLimit.layer` builds it. */
const limitedBy = (options: RateLimit.Options, below: LlmService.Service) =>
  Effect.scoped(RateLimit.make(options)(below))

/** The pure window as the mutable one the tests were written against: admit and correct in place. */
class ModelWindow {
  private window = Window.emptyWindow
  constructor(
    private readonly windowMillis: number,
    private readonly rpm: number | undefined,
    private readonly tpm: number | undefined
  ) {}
  get count() {
    return this.window.tail - this.window.head
  }
  get counted() {
    return this.window.total
  }
  admit(now: number, estimate: number): number {
    const limits = { window: this.windowMillis, requests: this.rpm, tokens: this.tpm }
    const [seq, next] = Window.admit(this.window, now, limits, estimate)
    this.window = next
    return seq
  }
  correct(seq: number, tokens: number): void {
    this.window = Window.correct(this.window, seq, tokens)
  }
}

const retryAfterOf = (error: LiterLlmError.LiterLlmError) => {
  expect(error).toBeInstanceOf(LiterLlmError.RateLimited)
  const retryAfter = (error as LiterLlmError.RateLimited).retryAfter
  return retryAfter === undefined ? undefined : Duration.toMillis(retryAfter)
}

describe("RateLimit", () => {
  it.effect("refuses past rpm with the time until the oldest call leaves the window", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = yield* limitedBy({ rpm: 3 }, test.service)
      yield* service.chat(request) // t = 0
      yield* TestClock.adjust("10 seconds")
      yield* service.chat(request) // t = 10s
      yield* TestClock.adjust("10 seconds")
      yield* service.chat(request) // t = 20s
      yield* TestClock.adjust("10 seconds")
      const refused = yield* Effect.flip(service.chat(request)) // t = 30s
      expect(retryAfterOf(refused)).toBe(30_000)
      expect(LiterLlmError.isTransient(refused)).toBe(true)
      yield* TestClock.adjust("30 seconds") // t = 60s: the first call left the window
      yield* service.chat(request)
      expect(retryAfterOf(yield* Effect.flip(service.chat(request)))).toBe(10_000)
      expect(yield* test.calls).toBe(4)
    })
  )

  it.effect("keeps a separate window per model", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = yield* limitedBy({ rpm: 1, window: "10 seconds" }, test.service)
      yield* service.chat(request)
      yield* service.chat({ ...request, model: "other" })
      expect(retryAfterOf(yield* Effect.flip(service.chat(request)))).toBe(10_000)
      expect(yield* test.calls).toBe(2)
    })
  )

  it.effect("reserves the token estimate and corrects it with the real usage", () =>
    Effect.gen(function* () {
      // estimate = prompt + max_tokens = prompt + (50 - prompt) = 50; real = prompt + 4
      const bounded = { ...request, max_tokens: 50 - prompt }
      const slow = yield* LlmTest.make({ latency: "1 second", usage: { completion_tokens: 4 } })
      const limited = yield* limitedBy({ tpm: 100 }, slow.service)
      const fiber = yield* Effect.fork(
        Effect.all(
          [1, 2, 3].map(() => Effect.either(limited.chat(bounded))),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust("1 second")
      const concurrent = yield* Fiber.join(fiber)
      // while in flight each call holds its full estimate: only two fit
      expect(concurrent.filter(Either.isRight).length).toBe(2)
      const refused = concurrent.find(Either.isLeft)!
      expect(retryAfterOf(refused.left)).toBe(60_000)

      const fast = yield* LlmTest.make({ usage: { completion_tokens: 4 } })
      const sequential = yield* limitedBy({ tpm: 100 }, fast.service)
      // one after the other, each call is corrected to prompt + 4 tokens before the next is admitted
      const admitted = Math.floor((100 - 50) / (prompt + 4)) + 1
      for (let i = 0; i < admitted; i++) yield* sequential.chat(bounded)
      yield* Effect.flip(sequential.chat(bounded))
      expect(yield* fast.calls).toBe(admitted)
    })
  )

  it.effect("wait: true sleeps until a slot frees instead of refusing", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = yield* limitedBy({ rpm: 2, wait: true }, test.service)
      const fiber = yield* Effect.fork(
        Effect.all(
          [1, 2, 3].map(() => service.chat(request)),
          { concurrency: 3 }
        )
      )
      yield* TestClock.adjust("59 seconds")
      expect(yield* test.calls).toBe(2)
      yield* TestClock.adjust("1 second")
      const responses = yield* Fiber.join(fiber)
      expect(responses.length).toBe(3)
      expect(yield* test.calls).toBe(3)
    })
  )

  it.effect("a call or a stream waiting for room can be interrupted, and takes no slot", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = yield* limitedBy({ rpm: 1, wait: true }, test.service)
      yield* service.chat(request) // t = 0: the window is full for a minute
      const waitingCall = yield* Effect.fork(service.chat(request))
      const waitingStream = yield* Effect.fork(Stream.runDrain(service.chatStream(request)))
      yield* TestClock.adjust("1 second")
      // Without moving the clock to the free slot: both interruptions must take effect now.
      yield* Fiber.interrupt(waitingCall)
      yield* Fiber.interrupt(waitingStream)
      expect(yield* test.calls).toBe(1)
      // Neither took the slot that frees at t = 60 s: the next call gets it.
      const next = yield* Effect.fork(service.chat(request))
      yield* TestClock.adjust("59 seconds")
      expect((yield* Fiber.join(next)).object).toBe("chat.completion")
      expect(yield* test.calls).toBe(2)
    })
  )

  it.effect("ignores nonsense usage and keeps the estimate", () =>
    Effect.gen(function* () {
      const bounded = { ...request, max_tokens: 50 - prompt } // estimate 50 tokens
      const test = yield* LlmTest.make({ usage: { completion_tokens: Number.NaN } })
      const service = yield* limitedBy({ tpm: 100 }, test.service)
      yield* service.chat(bounded)
      yield* service.chat(bounded)
      expect(retryAfterOf(yield* Effect.flip(service.chat(bounded)))).toBe(60_000)
    })
  )

  it.effect("with wait: true, concurrent calls go through rpm at a time, window after window", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = yield* limitedBy({ rpm: 20, wait: true }, test.service)
      const fiber = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 60 }, () => service.chat(request)),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust("0 millis")
      for (let window = 1; window <= 3; window++) {
        expect(yield* test.calls).toBe(20 * window)
        yield* TestClock.adjust("1 minute")
      }
      expect((yield* Fiber.join(fiber)).length).toBe(60)
    })
  )

  it.effect("limits streams too, correcting tokens when the stream ends", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ chunks: 3, usage: { completion_tokens: 1 } })
      const service = yield* limitedBy({ tpm: 300 }, test.service)
      // estimate prompt + 256 fits once; after correction to prompt + 1 the next stream fits again
      yield* Stream.runDrain(service.chatStream(request))
      yield* Stream.runDrain(service.chatStream(request))
      expect(yield* test.calls).toBe(2)
      const held = yield* LlmTest.make({ chunks: 3, chunkDelay: "1 second" })
      const limited = yield* limitedBy({ rpm: 1 }, held.service)
      const first = yield* Effect.fork(Stream.runDrain(limited.chatStream(request)))
      yield* TestClock.adjust("1 second")
      const refused = yield* Effect.flip(Stream.runDrain(limited.chatStream(request)))
      expect(retryAfterOf(refused)).toBe(59_000)
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(first)
    })
  )

  it.effect("10,000 concurrent calls admit exactly rpm of them", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = yield* limitedBy({ rpm: 100 }, test.service)
      const results = yield* Effect.all(
        Array.from({ length: 10_000 }, () => Effect.either(service.chat(request))),
        { concurrency: "unbounded" }
      )
      expect(results.filter(Either.isRight).length).toBe(100)
      expect(yield* test.calls).toBe(100)
      const waits = new Set(results.filter(Either.isLeft).map((r) => retryAfterOf(r.left)))
      expect([...waits]).toEqual([60_000])
    })
  )

  it.effect("interrupted calls give back their tokens but keep their request slots", () =>
    Effect.gen(function* () {
      const bounded = { ...request, max_tokens: 50 - prompt } // estimate 50 tokens
      const test = yield* LlmTest.make({ latency: "1 second" })
      const service = yield* limitedBy({ tpm: 1000, rpm: 30 }, test.service)
      const calls = Array.from({ length: 10_000 }, () => Effect.either(service.chat(bounded)))
      const fiber = yield* Effect.fork(Effect.all(calls, { concurrency: "unbounded" }))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(fiber)
      expect((yield* test.requests).length).toBe(20) // 1000 tokens / 50
      const again = yield* Effect.fork(Effect.all(calls, { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.join(again)
      // tokens were released, so only rpm stops the second wave: 30 - 20 slots left
      expect(results.filter(Either.isRight).length).toBe(10)
      expect(yield* test.calls).toBe(10)
    })
  )

  it.effect("RateLimit.layer wraps the LlmService below it", () =>
    Effect.gen(function* () {
      const layer = RateLimit.layer({ rpm: 1 }).pipe(Layer.provide(LlmTest.layer()))
      const refused = yield* Effect.gen(function* () {
        yield* LlmService.chat(request)
        return yield* Effect.flip(LlmService.chat(request))
      }).pipe(Effect.provide(layer))
      expect(refused._tag).toBe("RateLimited")
    })
  )

  it.effect("counts exactly while the window's log wraps around and grows past its first size", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = yield* limitedBy({ rpm: 24 }, test.service)
      const send = (n: number) => Effect.all(Array.from({ length: n }, () => service.chat(request)))
      yield* send(12) // t = 0
      yield* TestClock.adjust("30 seconds")
      yield* send(12) // t = 30s: more calls in the window than the log first had room for
      expect(retryAfterOf(yield* Effect.flip(service.chat(request)))).toBe(30_000)
      yield* TestClock.adjust("30 seconds")
      yield* send(12) // t = 60s: the first twelve left; their places are reused
      expect(retryAfterOf(yield* Effect.flip(service.chat(request)))).toBe(30_000)
      yield* TestClock.adjust("15 seconds")
      expect(retryAfterOf(yield* Effect.flip(service.chat(request)))).toBe(15_000)
      yield* TestClock.adjust("15 seconds")
      yield* send(12) // t = 90s
      expect(retryAfterOf(yield* Effect.flip(service.chat(request)))).toBe(30_000)
      expect(yield* test.calls).toBe(48)
    })
  )

  it("a window's tpm wait is exact while calls leave it", () => {
    const window = new ModelWindow(10_000, undefined, 100)
    // one 3-token call a second for 40 s: about ten in the window at a time, so the ring wraps without growing
    for (let t = 0; t < 40; t++) expect(window.admit(t * 1_000, 3)).toBe(t)
    expect(window.count).toBe(10) // the calls of 30 s to 39 s
    window.correct(35, 40)
    window.correct(3, 1_000) // left long ago; its place in the ring now holds call 35
    expect(window.counted).toBe(67)
    // 50 more tokens fit once the calls up to and including call 35 (the 40-token one) have left
    expect(window.admit(39_500, 50)).toBe(-(35_000 + 10_000 - 39_500))
    // an estimate above tpm counts as tpm, so it waits for an empty window
    expect(window.admit(39_500, 1_000)).toBe(-(39_000 + 10_000 - 39_500))
  })

  /** The window's meaning written out plainly: a call is in the window while `at > now - window`. */
  class Reference {
    private entries: Array<{ readonly seq: number; readonly at: number; tokens: number }> = []
    private next = 0
    constructor(
      private readonly windowMillis: number,
      private readonly rpm: number | undefined,
      private readonly tpm: number | undefined
    ) {}
    get count() {
      return this.entries.length
    }
    get counted() {
      return this.entries.reduce((sum, e) => sum + e.tokens, 0)
    }
    admit(now: number, estimate: number): number {
      this.entries = this.entries.filter((e) => e.at > now - this.windowMillis)
      const reserve = this.tpm === undefined ? estimate : Math.min(estimate, this.tpm)
      const fits = (t: number) => {
        const live = this.entries.filter((e) => e.at > t - this.windowMillis)
        const tokens = live.reduce((sum, e) => sum + e.tokens, 0)
        return (
          (this.rpm === undefined || live.length < this.rpm) && (this.tpm === undefined || tokens + reserve <= this.tpm)
        )
      }
      // the window only changes when a call leaves it, so the earliest fit is now or the moment one leaves
      const when = [now, ...this.entries.map((e) => e.at + this.windowMillis)]
        .filter((t) => t >= now)
        .sort((a, b) => a - b)
        .find(fits)!
      if (when > now) return now - when
      const last = this.entries.at(-1)
      this.entries.push({ seq: this.next, at: Math.max(now, last?.at ?? now), tokens: reserve })
      return this.next++
    }
    correct(seq: number, tokens: number): void {
      const entry = this.entries.find((e) => e.seq === seq)
      if (entry !== undefined && Number.isFinite(tokens) && tokens >= 0) entry.tokens = tokens
    }
  }

  // Times are in eighths of the window, so every window length sees calls both leaving and staying.
  const operation = FastCheck.oneof(
    {
      weight: 2,
      arbitrary: FastCheck.record({ _tag: FastCheck.constant("advance" as const), eighths: FastCheck.nat(10) })
    },
    {
      weight: 6,
      arbitrary: FastCheck.record({
        _tag: FastCheck.constant("admit" as const),
        // bursts of calls at one instant fill the ring past its first size
        times: FastCheck.oneof(
          { weight: 4, arbitrary: FastCheck.constant(1) },
          { weight: 1, arbitrary: FastCheck.integer({ min: 2, max: 40 }) }
        ),
        estimate: FastCheck.oneof(
          { weight: 5, arbitrary: FastCheck.nat(60) },
          { weight: 1, arbitrary: FastCheck.nat(5_000) }
        ),
        // how much earlier than the clock's time these calls read it: fibers arrive out of order
        lateEighths: FastCheck.oneof(
          { weight: 3, arbitrary: FastCheck.constant(0) },
          { weight: 1, arbitrary: FastCheck.nat(3) }
        )
      })
    },
    {
      weight: 3,
      arbitrary: FastCheck.record({
        _tag: FastCheck.constant("correct" as const),
        pick: FastCheck.nat(),
        tokens: FastCheck.oneof(
          { weight: 8, arbitrary: FastCheck.nat(100) },
          { weight: 1, arbitrary: FastCheck.constantFrom(Number.NaN, -1, Number.POSITIVE_INFINITY) }
        )
      })
    }
  )

  it.prop(
    "a window decides, waits and counts like the plain reference model",
    {
      windowMillis: FastCheck.integer({ min: 1, max: 60_000 }),
      rpm: FastCheck.option(FastCheck.integer({ min: 1, max: 200 }), { nil: undefined }),
      tpm: FastCheck.option(FastCheck.integer({ min: 1, max: 20_000 }), { nil: undefined }),
      operations: FastCheck.array(operation, { maxLength: 200, size: "max" })
    },
    ({ operations, rpm, tpm, windowMillis }) => {
      const window = new ModelWindow(windowMillis, rpm, tpm)
      const reference = new Reference(windowMillis, rpm, tpm)
      const eighths = (n: number) => Math.floor((windowMillis * n) / 8)
      const tickets: Array<number> = []
      let now = 1_000_000
      for (const op of operations) {
        if (op._tag === "advance") now += eighths(op.eighths)
        else if (op._tag === "admit") {
          for (let i = 0; i < op.times; i++) {
            const ticket = window.admit(now - eighths(op.lateEighths), op.estimate)
            expect(ticket).toBe(reference.admit(now - eighths(op.lateEighths), op.estimate))
            if (ticket >= 0) tickets.push(ticket)
          }
        } else if (tickets.length > 0) {
          const seq = tickets[op.pick % tickets.length]!
          window.correct(seq, op.tokens)
          reference.correct(seq, op.tokens)
        }
        expect(window.count).toBe(reference.count)
        expect(window.counted).toBe(reference.counted)
      }
    },
    { fastCheck: { numRuns: 200 } }
  )

  it.effect("building fails with BadRequest naming rpm, tpm or window when NaN, 0, negative or fractional", () =>
    Effect.gen(function* () {
      const below = (yield* LlmTest.make()).service
      const cases: ReadonlyArray<[RateLimit.Options, string]> = [
        [{ rpm: Number.NaN }, "rpm"],
        [{ rpm: 0 }, "rpm"],
        [{ rpm: -3 }, "rpm"],
        [{ rpm: 2.5 }, "rpm"],
        [{ tpm: 0 }, "tpm"],
        [{ tpm: Number.POSITIVE_INFINITY }, "tpm"],
        [{ window: "soon" as never }, "window"],
        [{ window: 0 }, "window"]
      ]
      for (const [options, option] of cases) {
        const error = yield* Effect.flip(limitedBy(options, below))
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain(`RateLimit.layer: option ${option}`)
      }
    })
  )

  it.effect("a NaN, negative or fractional max_tokens is refused with BadRequest and takes no slot", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const service = yield* limitedBy({ rpm: 1, tpm: 1000 }, test.service)
      for (const max_tokens of [Number.NaN, -5, 1.5]) {
        const error = yield* Effect.flip(service.chat({ ...request, max_tokens }))
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain("max_tokens")
        expect((yield* Effect.flip(Stream.runDrain(service.chatStream({ ...request, max_tokens }))))._tag).toBe(
          "BadRequest"
        )
      }
      // the window was not poisoned: the one slot is still free, and then taken
      yield* service.chat(request)
      expect((yield* Effect.flip(service.chat(request)))._tag).toBe("RateLimited")
      expect(yield* test.calls).toBe(1)
    })
  )

  it.effect("rate limiters sharing a Store share their windows", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make()
      const store = yield* RateLimit.memoryStore
      const share = (below: LlmService.Service) =>
        limitedBy({ rpm: 2 }, below).pipe(Effect.provideService(RateLimit.Store, store))
      const first = yield* share(test.service)
      const second = yield* share(test.service)
      yield* first.chat(request)
      yield* second.chat(request)
      expect((yield* Effect.flip(first.chat(request)))._tag).toBe("RateLimited")
      expect(yield* test.calls).toBe(2)
    })
  )
})
