/**
 * Local rate limiting per model: requests and tokens per window, on a sliding window, so a deployment is not sent
 * more than its provider would accept.
 *
 * ```ts
 * const limited = RateLimit.layer({ rpm: 500, tpm: 200_000 }).pipe(Layer.provide(deployment))
 * ```
 *
 * How it counts:
 * - Each model (the request's `model`) has its own window. A call is admitted when, over the last `window`
 *   (default one minute, measured with `Clock`), fewer than `rpm` calls were admitted and the tokens counted plus
 *   this call's estimate stay within `tpm`.
 * - The token estimate (prompt at four characters a token, plus `max_completion_tokens` / `max_tokens`, or 256) is
 *   reserved on admission and corrected to the real `total_tokens` when the call ends. A call that fails or is
 *   interrupted keeps its request slot (it was sent) but gives back its tokens, unless it reported usage. An
 *   estimate larger than `tpm` is counted as `tpm`, so a large request waits for an empty window instead of never
 *   fitting.
 * - A refused call fails with `RateLimited` whose `retryAfter` is the time until enough of the window expires for it
 *   to fit — not the whole window. With `wait: true` the call sleeps that long instead (on `Clock`, so `TestClock`
 *   drives it) and tries again; waiting callers are not queued in order.
 * - Streams take their slot when they start and are corrected when they complete, fail or are interrupted.
 *   Embeddings are limited the same way; `listModels` passes through.
 *
 * The windows are plain mutable structures owned by one built layer and changed only inside `Effect.sync`, so every
 * check-and-admit runs atomically: a `Ref` of immutable arrays would copy the window on every call.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as LiterLlmError from "./LiterLlmError.js"
import type * as LlmService from "./LlmService.js"
import { estimateEmbeddingTokens } from "./internal/middleware/cost.js"
import { bracket } from "./internal/middleware/bracket.js"
import { accountStream } from "./internal/middleware/stream.js"
import { transform, wrap } from "./internal/middleware/wrap.js"
import { estimatePromptTokens, expectedCompletionTokens } from "./internal/tokens.js"

/**
 * Rate-limit options; a limit left out is not enforced.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Requests per window, per model (at least 1). */
  readonly rpm?: number | undefined
  /** Tokens (prompt + completion) per window, per model (at least 1). */
  readonly tpm?: number | undefined
  /** The length of the sliding window. Default one minute. */
  readonly window?: Duration.DurationInput | undefined
  /** Wait for room instead of failing with `RateLimited`. Default `false`. */
  readonly wait?: boolean | undefined
}

/** One admitted call: when, and how many tokens it counts for. `live` turns false once it leaves the window. */
interface Entry {
  readonly at: number
  tokens: number
  live: boolean
}

type Admission =
  { readonly _tag: "Admitted"; readonly entry: Entry } | { readonly _tag: "Refused"; readonly wait: number }

/** A sliding-window log of one model's admitted calls, oldest first from `head`. */
class ModelWindow {
  private entries: Array<Entry> = []
  private head = 0
  private tokens = 0

  constructor(
    private readonly windowMillis: number,
    private readonly rpm: number | undefined,
    private readonly tpm: number | undefined
  ) {}

  private prune(now: number): void {
    const horizon = now - this.windowMillis
    while (this.head < this.entries.length && this.entries[this.head].at <= horizon) {
      const entry = this.entries[this.head++]
      entry.live = false
      this.tokens -= entry.tokens
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
  }

  /** Admits a call now, or says how long until it would fit. */
  admit(now: number, estimate: number): Admission {
    this.prune(now)
    const reserve = this.tpm === undefined ? estimate : Math.min(estimate, this.tpm)
    const count = this.entries.length - this.head
    let until = now
    if (this.rpm !== undefined && count >= this.rpm) {
      // the call fits once the (count - rpm + 1) oldest entries have left the window
      until = Math.max(until, this.entries[this.head + count - this.rpm].at + this.windowMillis)
    }
    if (this.tpm !== undefined && this.tokens + reserve > this.tpm) {
      let remaining = this.tokens
      for (let i = this.head; i < this.entries.length; i++) {
        remaining -= this.entries[i].tokens
        if (remaining + reserve <= this.tpm) {
          until = Math.max(until, this.entries[i].at + this.windowMillis)
          break
        }
      }
    }
    if (until > now) return { _tag: "Refused", wait: until - now }
    // Concurrent fibers may read the clock in one order and arrive in another; keep the log sorted.
    const last = this.entries.length > this.head ? this.entries[this.entries.length - 1].at : now
    const entry: Entry = { at: Math.max(now, last), tokens: reserve, live: true }
    this.entries.push(entry)
    this.tokens += reserve
    return { _tag: "Admitted", entry }
  }

  /** Replaces an entry's reserved tokens by what the call really used. */
  correct(entry: Entry, tokens: number): void {
    // A provider reporting nonsense must not poison the window (NaN would admit everything from then on).
    if (!entry.live || !Number.isFinite(tokens) || tokens < 0) return
    this.tokens += tokens - entry.tokens
    entry.tokens = tokens
  }
}

/** Limits below one would admit nothing, ever; they count as one. */
const atLeastOne = (limit: number | undefined) => (limit === undefined ? undefined : Math.max(1, Math.floor(limit)))

/**
 * Wraps a service in a rate limiter; each call of the returned effect owns fresh windows.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<(service: LlmService.Service) => LlmService.Service> =>
  Effect.sync(() => {
    const windowMillis = Duration.toMillis(Duration.decode(options.window ?? "1 minute"))
    const windows = new Map<string, ModelWindow>()
    const windowOf = (model: string) => {
      let window = windows.get(model)
      if (window === undefined) {
        window = new ModelWindow(windowMillis, atLeastOne(options.rpm), atLeastOne(options.tpm))
        windows.set(model, window)
      }
      return window
    }

    const refuse = (model: string, wait: number) => {
      const retryAfter = Duration.millis(wait)
      return new LiterLlmError.RateLimited({
        retryAfter,
        message: `the local rate limit for model "${model}" (${[
          options.rpm === undefined ? undefined : `${options.rpm} requests`,
          options.tpm === undefined ? undefined : `${options.tpm} tokens`
        ]
          .filter((s) => s !== undefined)
          .join(", ")} per ${Duration.format(Duration.millis(windowMillis))}) is reached; retry after ${Duration.format(
          retryAfter
        )} or raise the limit`
      })
    }

    // The clock is read from the fiber in the same step as the admission (not through `Clock.currentTimeMillis`,
    // which is three effects): this runs on every call. Same `Clock` service, so `TestClock` drives it.
    const acquire = (model: string, estimate: number): Effect.Effect<Entry, LiterLlmError.RateLimited> =>
      Effect.withFiberRuntime((fiber) => {
        const now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
        const admission = windowOf(model).admit(now, estimate)
        if (admission._tag === "Admitted") return Effect.succeed(admission.entry)
        return options.wait === true
          ? Effect.zipRight(Effect.sleep(Duration.millis(admission.wait)), acquire(model, estimate))
          : Effect.fail(refuse(model, admission.wait))
      })

    // Synchronous, so `bracket` settles it in the same step as the call's exit.
    const correct = (model: string, entry: Entry, tokens: number): void => {
      windowOf(model).correct(entry, tokens)
    }

    return (service) =>
      wrap(service, {
        chat: (request) =>
          bracket(
            acquire(request.model, estimatePromptTokens(request) + expectedCompletionTokens(request)),
            () => service.chat(request),
            (entry, exit) =>
              correct(request.model, entry, Exit.isSuccess(exit) ? (exit.value.usage?.total_tokens ?? entry.tokens) : 0)
          ),
        chatStream: (request) =>
          accountStream(
            acquire(request.model, estimatePromptTokens(request) + expectedCompletionTokens(request)),
            () => service.chatStream(request),
            (entry, outcome) =>
              Effect.sync(() =>
                correct(
                  request.model,
                  entry,
                  outcome.usage?.total_tokens ?? (outcome._tag === "Completed" ? entry.tokens : 0)
                )
              )
          ),
        embed: (request) =>
          bracket(
            acquire(request.model, estimateEmbeddingTokens(request)),
            () => service.embed(request),
            (entry, exit) =>
              correct(request.model, entry, Exit.isSuccess(exit) ? (exit.value.usage?.total_tokens ?? entry.tokens) : 0)
          )
      })
  })

/**
 * A layer transformer rate limiting the `LlmService` below.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<LlmService.LlmService, never, LlmService.LlmService> =>
  transform((service) => Effect.map(make(options), (limit) => limit(service)))
