/**
 * The rate limiter as a pipeline piece (see `RateLimit.ts` for how it counts). The windows are plain mutable
 * structures owned by one piece and changed only in synchronous steps of a calling fiber, so every check-and-admit is
 * atomic.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as RateLimit from "../../RateLimit.js"
import { estimatePromptTokens, expectedCompletionTokens } from "../tokens.js"
import { estimateEmbeddingTokens } from "./cost.js"
import { type Admission, Answer, Await, type Call, type Piece } from "./pipeline.js"
import { accountStream } from "./stream.js"

/** One admitted call: when, and how many tokens it counts for. `live` turns false once it leaves the window. */
interface Entry {
  readonly at: number
  tokens: number
  live: boolean
}

type WindowAdmission =
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
  admit(now: number, estimate: number): WindowAdmission {
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
 * A rate limiter as a pipeline piece, owning fresh windows. A refused call fails with `RateLimited`, or with `wait`
 * sleeps until it would fit (on `Clock`, interruptibly) and tries again.
 */
export const make = (options: RateLimit.Options = {}): Piece => {
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

  const nowOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>) =>
    Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()

  /** A pipeline admission: the window entry, a refusal, or (with `wait`) a sleep and another try. */
  const admit = <Req, A>(call: Call<Req, A>, model: string, estimate: number): Admission<Entry, A> => {
    const admission = windowOf(model).admit(nowOf(call.fiber), estimate)
    if (admission._tag === "Admitted") return admission.entry
    if (options.wait !== true) return new Answer(Exit.fail(refuse(model, admission.wait)))
    return new Await(
      Effect.zipRight(
        call.restore(Effect.sleep(Duration.millis(admission.wait))),
        Effect.sync(() => admit(call, model, estimate))
      )
    )
  }

  /**
   * The same as an effect, for streams. The clock is read in the same step as the admission. A stream acquires in an
   * uninterruptible region (so an admitted slot always gets its release); the wait is made interruptible again,
   * since nothing is held while waiting: an interrupted wait takes no slot.
   */
  const acquire = (model: string, estimate: number): Effect.Effect<Entry, LiterLlmError.RateLimited> =>
    Effect.withFiberRuntime((fiber) => {
      const admission = windowOf(model).admit(nowOf(fiber), estimate)
      if (admission._tag === "Admitted") return Effect.succeed(admission.entry)
      return options.wait === true
        ? Effect.zipRight(Effect.interruptible(Effect.sleep(Duration.millis(admission.wait))), acquire(model, estimate))
        : Effect.fail(refuse(model, admission.wait))
    })

  /** A finished call's tokens: what it reported, its estimate if it reported nothing, 0 if it failed. */
  const used = (
    entry: Entry,
    exit: Exit.Exit<{ readonly usage?: { readonly total_tokens: number } | null | undefined }, unknown>
  ) => (Exit.isSuccess(exit) ? (exit.value.usage?.total_tokens ?? entry.tokens) : 0)

  return {
    chat: {
      enter: (call) =>
        admit(call, call.request.model, estimatePromptTokens(call.request) + expectedCompletionTokens(call.request)),
      leave: (call, entry: Entry, exit) => {
        windowOf(call.request.model).correct(entry, used(entry, exit))
      }
    },
    embed: {
      enter: (call) => admit(call, call.request.model, estimateEmbeddingTokens(call.request)),
      leave: (call, entry: Entry, exit) => {
        windowOf(call.request.model).correct(entry, used(entry, exit))
      }
    },
    chatStream: (below) => (request) =>
      accountStream(
        acquire(request.model, estimatePromptTokens(request) + expectedCompletionTokens(request)),
        () => below(request),
        (entry, outcome) =>
          Effect.sync(() =>
            windowOf(request.model).correct(
              entry,
              outcome.usage?.total_tokens ?? (outcome._tag === "Completed" ? entry.tokens : 0)
            )
          )
      )
  }
}
