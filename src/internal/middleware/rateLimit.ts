/**
 * The rate limiter's sliding windows in memory (the default `RateLimit.Store`) and the middleware that takes a slot
 * before a call and corrects its tokens after (see `RateLimit.ts` for how it counts).
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Chat from "../../Chat.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import type * as RateLimit from "../../RateLimit.js"
import { estimatePromptTokens, expectedCompletionTokens } from "../tokens.js"
import * as Validate from "../validate.js"
import { estimateEmbeddingTokens } from "./cost.js"
import * as Ops from "./ops.js"
import * as StreamSettle from "./stream.js"

interface Entry {
  readonly at: number
  readonly tokens: number
}

/**
 * One key's log of admitted calls over the last window, oldest first. Each call gets the next sequence number (its
 * ticket); the live calls are `head` up to `tail` (exclusive). A persistent map keeps an admission at a few
 * allocations however many calls the window holds (high limits keep hundreds of thousands).
 *
 * @internal exported for tests
 */
export interface Window {
  readonly head: number
  readonly tail: number
  readonly log: HashMap.HashMap<number, Entry>
  readonly total: number
}

/** @internal */
export const emptyWindow: Window = { head: 0, tail: 0, log: HashMap.empty(), total: 0 }

const entry = (window: Window, seq: number): Entry => Option.getOrThrow(HashMap.get(window.log, seq))

const prune = (window: Window, horizon: number): Window => {
  let { head, log, total } = window
  while (head < window.tail && entry(window, head).at <= horizon) {
    total -= entry(window, head).tokens
    log = HashMap.remove(log, head)
    head++
  }
  return head === window.head ? window : { head, tail: window.tail, log, total }
}

/**
 * Admits a call at `now` with `estimate` tokens: its sequence number (0 or more), or minus the milliseconds until it
 * would fit. An estimate above the token limit counts as the limit, so a large call waits for an empty window.
 *
 * @internal exported for tests
 */
export const admit = (
  before: Window,
  now: number,
  limits: { readonly window: number; readonly requests: number | undefined; readonly tokens: number | undefined },
  estimate: number
): [number, Window] => {
  const window = prune(before, now - limits.window)
  const reserve = limits.tokens === undefined ? estimate : Math.min(estimate, limits.tokens)
  let until = now
  if (limits.requests !== undefined && window.tail - window.head >= limits.requests) {
    // it fits once the (count - requests + 1) oldest calls have left the window
    until = Math.max(until, entry(window, window.tail - limits.requests).at + limits.window)
  }
  if (limits.tokens !== undefined && window.total + reserve > limits.tokens) {
    let remaining = window.total
    for (let seq = window.head; seq < window.tail; seq++) {
      remaining -= entry(window, seq).tokens
      if (remaining + reserve <= limits.tokens) {
        until = Math.max(until, entry(window, seq).at + limits.window)
        break
      }
    }
  }
  if (until > now) return [now - until, window]
  // Fibers may read the clock in one order and arrive in another: keep the log sorted.
  const at = window.tail > window.head ? Math.max(now, entry(window, window.tail - 1).at) : now
  const log = HashMap.set(window.log, window.tail, { at, tokens: reserve })
  return [window.tail, { head: window.head, tail: window.tail + 1, log, total: window.total + reserve }]
}

/**
 * Replaces the tokens of call `seq` by what it used, if it is still in the window. Nonsense (NaN, negative) is
 * ignored: NaN would admit everything from then on.
 *
 * @internal exported for tests
 */
export const correct = (window: Window, seq: number, tokens: number): Window => {
  if (seq < window.head || seq >= window.tail || !Number.isFinite(tokens) || tokens < 0) return window
  const old = entry(window, seq)
  return {
    ...window,
    log: HashMap.set(window.log, seq, { at: old.at, tokens }),
    total: window.total + tokens - old.tokens
  }
}

/** Windows in memory, one per key, on a `Ref`: each admission is one `Ref.modify`. */
export const memoryStore: Effect.Effect<RateLimit.StoreService> = Effect.map(
  Ref.make(HashMap.empty<string, Window>()),
  (windows) => ({
    acquire: (key, limits, tokens) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.modify(windows, (all): [RateLimit.Acquired, HashMap.HashMap<string, Window>] => {
          const window = Option.getOrElse(HashMap.get(all, key), () => emptyWindow)
          const millis = { window: Duration.toMillis(limits.window), requests: limits.requests, tokens: limits.tokens }
          const [seq, next] = admit(window, now, millis, tokens)
          const acquired: RateLimit.Acquired =
            seq >= 0
              ? { _tag: "Admitted", ticket: { key, seq } }
              : { _tag: "Refused", retryAfter: Duration.millis(-seq) }
          return [acquired, HashMap.set(all, key, next)]
        })
      ),
    settle: (ticket, tokens) =>
      Ref.update(windows, (all) =>
        Option.match(HashMap.get(all, ticket.key), {
          onNone: () => all,
          onSome: (window) => HashMap.set(all, ticket.key, correct(window, ticket.seq, tokens))
        })
      )
  })
)

/** Rate limits `below` per model, with windows in `store`. */
export const make = (options: RateLimit.Options, store: RateLimit.StoreService) => (below: LlmService.Service) => {
  const limits: RateLimit.Limits = {
    window: Duration.decode(options.window ?? "1 minute"),
    requests: options.rpm,
    tokens: options.tpm
  }
  const described = [
    options.rpm === undefined ? undefined : `${options.rpm} requests`,
    options.tpm === undefined ? undefined : `${options.tpm} tokens`
  ].filter((s) => s !== undefined)

  const refuse = (model: string, retryAfter: Duration.Duration) =>
    new LiterLlmError.RateLimited({
      retryAfter,
      message: `the local rate limit for model "${model}" (${described.join(", ")} per ${Duration.format(limits.window)}) is reached; retry after ${Duration.format(retryAfter)} or raise the limit`
    })

  /**
   * A slot for `model`, or a refusal; with `wait`, a sleep until it would fit and another try. Runs as an acquire
   * (uninterruptibly, so an admitted slot is always settled); the sleep is made interruptible again, since nothing is
   * held while waiting.
   */
  const acquire = (model: string, estimate: number): Effect.Effect<RateLimit.Ticket, LiterLlmError.RateLimited> =>
    Effect.flatMap(store.acquire(model, limits, estimate), (acquired) =>
      acquired._tag === "Admitted"
        ? Effect.succeed(acquired.ticket)
        : options.wait === true
          ? Effect.zipRight(Effect.interruptible(Effect.sleep(acquired.retryAfter)), acquire(model, estimate))
          : Effect.fail(refuse(model, acquired.retryAfter))
    )

  // A failed call gives its tokens back (its request slot stays: it was sent); a success that reported no usage
  // keeps its estimate. Without a token limit the tokens count for nothing, and nothing is corrected.
  const settle = (ticket: RateLimit.Ticket, exit: Exit.Exit<{ readonly usage?: Usage | null | undefined }, unknown>) =>
    limits.tokens === undefined
      ? Effect.void
      : exit._tag === "Failure"
        ? store.settle(ticket, 0)
        : exit.value.usage == null
          ? Effect.void
          : store.settle(ticket, exit.value.usage.total_tokens)

  /** Checks the request (before the estimate reads it), then takes a slot; plain code up to the store's one step. */
  const admit = <Q extends { readonly model: string }>(
    request: Q,
    problemOf: (request: Q) => LiterLlmError.BadRequest | undefined,
    estimate: (request: Q) => number
  ): Effect.Effect<RateLimit.Ticket, LiterLlmError.BadRequest | LiterLlmError.RateLimited> =>
    Effect.suspend((): Effect.Effect<RateLimit.Ticket, LiterLlmError.BadRequest | LiterLlmError.RateLimited> => {
      const problem = problemOf(request)
      return problem === undefined ? acquire(request.model, estimate(request)) : Effect.fail(problem)
    })
  const chatEstimate = (request: Chat.ChatCompletionRequest) =>
    estimatePromptTokens(request) + expectedCompletionTokens(request)

  const service: LlmService.Service = {
    ...below,
    // the other operations take a slot at their estimate and settle at the tokens their answer reports, if any
    ...Ops.wrapAll(
      below,
      (_name, spec, call) => (request) =>
        Effect.acquireUseRelease(
          admit(request, spec.problem, spec.estimate),
          () => call(request),
          (ticket, exit) => {
            if (limits.tokens === undefined) return Effect.void
            if (exit._tag === "Failure") return store.settle(ticket, 0)
            const reported = spec.reported(exit.value)
            return reported === undefined ? Effect.void : store.settle(ticket, reported.input + reported.output)
          }
        )
    ),
    chat: (request) =>
      Effect.acquireUseRelease(admit(request, Validate.chatProblem, chatEstimate), () => below.chat(request), settle),
    embed: (request) =>
      Effect.acquireUseRelease(
        admit(request, Validate.embeddingProblem, estimateEmbeddingTokens),
        () => below.embed(request),
        settle
      ),
    chatStream: (request) =>
      StreamSettle.settle(
        admit(request, Validate.chatProblem, chatEstimate),
        () => below.chatStream(request),
        (ticket, outcome) => {
          if (limits.tokens === undefined) return Effect.void
          const tokens = StreamSettle.usageOf(outcome)?.total_tokens ?? (outcome._tag === "Completed" ? undefined : 0)
          return tokens === undefined ? Effect.void : store.settle(ticket, tokens)
        }
      )
  }
  return service
}

interface Usage {
  readonly total_tokens: number
}
