/**
 * The rate limiter as a pipeline piece (see `RateLimit.ts` for how it counts). The windows are plain mutable
 * structures owned by one piece and changed only in synchronous steps of a calling fiber, so every check-and-admit is
 * atomic.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as RateLimit from "../../RateLimit.js"
import { estimatePromptTokens, expectedCompletionTokens } from "../tokens.js"
import { estimateEmbeddingTokens } from "./cost.js"
import { type Admission, Answer, Await, type Call, clockOf, type Piece } from "./pipeline.js"
import { accountStream } from "./stream.js"

/** The smallest ring a window keeps; a power of two, like every capacity, so a slot is `sequence & (capacity - 1)`. */
const minCapacity = 16

/**
 * A sliding-window log of one model's admitted calls.
 *
 * With high limits the log holds every call of the last window — hundreds of thousands at benchmark rates — so it is
 * kept as two typed arrays used as a ring rather than an object per call, which the garbage collector would have to
 * mark and move for as long as the call stays in the window. Each admitted call gets the next sequence number; the
 * live calls are the sequences from `head` (the oldest) up to `tail` (exclusive), oldest first, and sequence `s` lives
 * in slot `s & mask`. A caller keeps the sequence as its ticket: once `head` has passed it, the call has left the
 * window and its slot may hold a newer call, so a late correction must be dropped.
 *
 * The ring doubles when full and, once at most a quarter of it is in use, halves until it is between a quarter and half
 * full, so its memory follows the window after a burst (checked when calls leave, which is on admission: a window no
 * one calls any more keeps its ring, as the array it replaces kept its entries). The gap between the two thresholds
 * keeps a window hovering near one of them from copying on every call.
 *
 * Sequences are plain numbers: exact up to 2^53 calls, and `&` keeps their low 32 bits, which is all a slot needs.
 *
 * @internal exported for tests
 */
export class ModelWindow {
  private at = new Float64Array(minCapacity)
  private tokens = new Float64Array(minCapacity)
  private mask = minCapacity - 1
  private head = 0
  private tail = 0
  private total = 0

  constructor(
    private readonly windowMillis: number,
    private readonly rpm: number | undefined,
    private readonly tpm: number | undefined
  ) {}

  /** How many calls are in the window (as of the last admission). */
  get count(): number {
    return this.tail - this.head
  }

  /** The tokens counted in the window (as of the last admission). */
  get counted(): number {
    return this.total
  }

  /** The slots in use or free; a test hook to see the ring grow and shrink. */
  get capacity(): number {
    return this.mask + 1
  }

  private prune(now: number): void {
    const horizon = now - this.windowMillis
    const head = this.head
    while (this.head < this.tail && this.at[this.head & this.mask] <= horizon) {
      this.total -= this.tokens[this.head & this.mask]
      this.head++
    }
    if (this.head === head) return
    let capacity = this.mask + 1
    while (capacity > minCapacity && (this.tail - this.head) * 4 <= capacity) capacity /= 2
    if (capacity !== this.mask + 1) this.resize(capacity)
  }

  /** Moves the live calls into a ring of `capacity` slots; their sequences (the callers' tickets) stay the same. */
  private resize(capacity: number): void {
    const at = new Float64Array(capacity)
    const tokens = new Float64Array(capacity)
    const mask = capacity - 1
    for (let seq = this.head; seq < this.tail; seq++) {
      at[seq & mask] = this.at[seq & this.mask]
      tokens[seq & mask] = this.tokens[seq & this.mask]
    }
    this.at = at
    this.tokens = tokens
    this.mask = mask
  }

  /**
   * Admits a call now: returns its sequence number (0 or more), the ticket for {@link correct}. A refused call gets
   * a negative number instead: minus the milliseconds until it would fit. One number rather than a result object, so
   * neither answer allocates.
   */
  admit(now: number, estimate: number): number {
    this.prune(now)
    const reserve = this.tpm === undefined ? estimate : Math.min(estimate, this.tpm)
    let until = now
    if (this.rpm !== undefined && this.tail - this.head >= this.rpm) {
      // the call fits once the (count - rpm + 1) oldest calls have left the window
      until = Math.max(until, this.at[(this.tail - this.rpm) & this.mask] + this.windowMillis)
    }
    if (this.tpm !== undefined && this.total + reserve > this.tpm) {
      let remaining = this.total
      for (let seq = this.head; seq < this.tail; seq++) {
        remaining -= this.tokens[seq & this.mask]
        if (remaining + reserve <= this.tpm) {
          until = Math.max(until, this.at[seq & this.mask] + this.windowMillis)
          break
        }
      }
    }
    if (until > now) return now - until
    if (this.tail - this.head > this.mask) this.resize(2 * (this.mask + 1))
    // Concurrent fibers may read the clock in one order and arrive in another; keep the log sorted.
    const at = this.tail > this.head ? Math.max(now, this.at[(this.tail - 1) & this.mask]) : now
    const seq = this.tail++
    this.at[seq & this.mask] = at
    this.tokens[seq & this.mask] = reserve
    this.total += reserve
    return seq
  }

  /** Replaces the tokens reserved for call `seq` by what it really used, if it is still in the window. */
  correct(seq: number, tokens: number): void {
    // A provider reporting nonsense must not poison the window (NaN would admit everything from then on).
    if (seq < this.head || !Number.isFinite(tokens) || tokens < 0) return
    const slot = seq & this.mask
    this.total += tokens - this.tokens[slot]
    this.tokens[slot] = tokens
  }
}

/** Limits below one would admit nothing, ever; they count as one. */
const atLeastOne = (limit: number | undefined) => (limit === undefined ? undefined : Math.max(1, Math.floor(limit)))

/** A response that may report what the call used. */
type WithUsage = { readonly usage?: { readonly total_tokens: number } | null | undefined }

/**
 * A rate limiter as a pipeline piece, owning fresh windows. A refused call fails with `RateLimited`, or with `wait`
 * sleeps until it would fit (on `Clock`, interruptibly) and tries again. A call's ticket is its sequence number in
 * its model's window (see {@link ModelWindow}).
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

  const nowOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>) => clockOf(fiber).unsafeCurrentTimeMillis()

  /** A pipeline admission: the call's sequence number, a refusal, or (with `wait`) a sleep and another try. */
  const admit = <Req, A>(call: Call<Req, A>, model: string, estimate: number): Admission<number, A> => {
    const ticket = windowOf(model).admit(nowOf(call.fiber), estimate)
    if (ticket >= 0) return ticket
    if (options.wait !== true) return new Answer(Exit.fail(refuse(model, -ticket)))
    return new Await(
      Effect.zipRight(
        call.restore(Effect.sleep(Duration.millis(-ticket))),
        Effect.sync(() => admit(call, model, estimate))
      )
    )
  }

  /**
   * The same as an effect, for streams. The clock is read in the same step as the admission. A stream acquires in an
   * uninterruptible region (so an admitted slot always gets its release); the wait is made interruptible again,
   * since nothing is held while waiting: an interrupted wait takes no slot.
   */
  const acquire = (model: string, estimate: number): Effect.Effect<number, LiterLlmError.RateLimited> =>
    Effect.withFiberRuntime((fiber) => {
      const ticket = windowOf(model).admit(nowOf(fiber), estimate)
      if (ticket >= 0) return Effect.succeed(ticket)
      return options.wait === true
        ? Effect.zipRight(Effect.interruptible(Effect.sleep(Duration.millis(-ticket))), acquire(model, estimate))
        : Effect.fail(refuse(model, -ticket))
    })

  /**
   * Corrects a finished call's tokens: to what it reported, or to 0 if it failed. A success that reported nothing
   * keeps its reserved estimate.
   */
  const settle = (model: string, seq: number, exit: Exit.Exit<WithUsage, unknown>) => {
    if (Exit.isFailure(exit)) windowOf(model).correct(seq, 0)
    else if (exit.value.usage != null) windowOf(model).correct(seq, exit.value.usage.total_tokens)
  }

  return {
    chat: {
      enter: (call) =>
        admit(call, call.request.model, estimatePromptTokens(call.request) + expectedCompletionTokens(call.request)),
      leave: (call, seq: number, exit) => settle(call.request.model, seq, exit)
    },
    embed: {
      enter: (call) => admit(call, call.request.model, estimateEmbeddingTokens(call.request)),
      leave: (call, seq: number, exit) => settle(call.request.model, seq, exit)
    },
    chatStream: (below) => (request) =>
      accountStream(
        acquire(request.model, estimatePromptTokens(request) + expectedCompletionTokens(request)),
        () => below(request),
        (seq, outcome) =>
          Effect.sync(() => {
            const tokens = outcome.usage?.total_tokens ?? (outcome._tag === "Completed" ? undefined : 0)
            if (tokens !== undefined) windowOf(request.model).correct(seq, tokens)
          })
      )
  }
}
