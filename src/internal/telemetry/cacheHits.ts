/**
 * Telling cache hits from misses from outside the cache, so the layers above it can treat a hit as free. The managed
 * client makes one {@link tracker} per cache and puts its `markUpstream` just below the cache and its `zeroHits` just
 * above it: a call the cache answered without reaching the service below gets its usage zeroed on the way out, so
 * budget, rate-limit token counts and cost see what the call really consumed from the provider — nothing.
 *
 * Where the "did this call go upstream" cell lives:
 * - `chat` and `embed`: in a table keyed by fiber, owned by the tracker. Between `zeroHits` and `markUpstream` there
 *   is only the cache, and the cache calls the service on the caller's own fiber; the one exception is the fiber it
 *   forks to finish a call for waiting callers after the first caller was interrupted, and the interrupted caller
 *   never reads its cell. A `FiberRef` set with `Effect.locally` gave the same answers, but copied the fiber's
 *   references twice per call — a fifth of the CPU of a cache hit through the managed client.
 * - `chatStream`: in a `FiberRef` set for the stream's scope, because a stream may be pulled from fibers its consumer
 *   forks, which inherit the reference but are not in a table keyed by the fiber that started it.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"
import type * as LlmService from "../../LlmService.js"
import { wrap } from "../middleware/wrap.js"

interface Cell {
  upstream: boolean
}

const currentStreamCell = FiberRef.unsafeMake<Cell | undefined>(undefined)

const markStream: Effect.Effect<void> = Effect.flatMap(FiberRef.get(currentStreamCell), (cell) =>
  cell === undefined
    ? Effect.void
    : Effect.sync(() => {
        cell.upstream = true
      })
)

const zeroUsage: Chat.Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }
const zeroEmbeddingUsage: Embedding.EmbeddingResponse["usage"] = { prompt_tokens: 0, total_tokens: 0 }

/**
 * Marks the fiber's current span, if any, as a cache hit. Not `Effect.annotateCurrentSpan`: without a span in context
 * it builds (and drops) an exception with a stack trace, which cost more than the whole cache hit.
 */
const annotateHit = (fiber: Fiber.RuntimeFiber<unknown, unknown>): void => {
  const parent = Context.getOption(fiber.currentContext, Tracer.ParentSpan)
  if (Option.isSome(parent) && parent.value._tag === "Span") parent.value.attribute("liter_llm.cache.hit", true)
}

/** A marker pair for one cache: see the module docs. */
export interface Tracker {
  /** Wraps the service below the cache: records that a call reached it. */
  readonly markUpstream: (service: LlmService.Service) => LlmService.Service
  /** Wraps the service above the cache: answers that never went upstream report zero usage. */
  readonly zeroHits: (service: LlmService.Service) => LlmService.Service
}

/** A fresh tracker, whose table of cells belongs to one built client. */
export const tracker = (): Tracker => {
  // The cell of the call each fiber is making through the cache. A fiber makes one call at a time, but a call may
  // nest another (a service that calls the client again), so entering saves the outer cell and leaving restores it.
  const cells = new Map<Fiber.RuntimeFiber<unknown, unknown>, Cell>()

  const markUpstream = (service: LlmService.Service): LlmService.Service =>
    wrap(service, {
      chat: (request) =>
        Effect.withFiberRuntime((fiber) => {
          const cell = cells.get(fiber)
          if (cell !== undefined) cell.upstream = true
          return service.chat(request)
        }),
      chatStream: (request) => Stream.unwrap(Effect.as(markStream, service.chatStream(request))),
      embed: (request) =>
        Effect.withFiberRuntime((fiber) => {
          const cell = cells.get(fiber)
          if (cell !== undefined) cell.upstream = true
          return service.embed(request)
        })
    })

  /** Runs `call` with a fresh cell for this fiber, and hands the answer and whether it went upstream to `settle`. */
  const tracked = <A, E>(
    call: Effect.Effect<A, E>,
    settle: (fiber: Fiber.RuntimeFiber<unknown, unknown>, value: A) => A
  ): Effect.Effect<A, E> =>
    Effect.withFiberRuntime((fiber) => {
      const outer = cells.get(fiber)
      const cell: Cell = { upstream: false }
      cells.set(fiber, cell)
      const leave = Effect.sync(() => {
        if (outer === undefined) cells.delete(fiber)
        else cells.set(fiber, outer)
      })
      return call.pipe(
        Effect.onExit(() => leave),
        Effect.map((value) => (cell.upstream ? value : settle(fiber, value)))
      )
    })

  const zeroHits = (service: LlmService.Service): LlmService.Service =>
    wrap(service, {
      chat: (request) =>
        tracked(service.chat(request), (fiber, response): Chat.ChatCompletionResponse => {
          if (response.usage == null) return response
          annotateHit(fiber)
          return { ...response, usage: zeroUsage }
        }),
      chatStream: (request) =>
        Stream.unwrapScoped(
          Effect.gen(function* () {
            const cell: Cell = { upstream: false }
            yield* Effect.locallyScoped(currentStreamCell, cell)
            return service.chatStream(request).pipe(
              Stream.mapEffect((chunk): Effect.Effect<Chat.ChatCompletionChunk> =>
                cell.upstream || chunk.usage == null
                  ? Effect.succeed(chunk)
                  : Effect.withFiberRuntime((fiber) => {
                      annotateHit(fiber)
                      return Effect.succeed({ ...chunk, usage: zeroUsage })
                    })
              )
            )
          })
        ),
      embed: (request) =>
        tracked(service.embed(request), (fiber, response): Embedding.EmbeddingResponse => {
          if (response.usage == null) return response
          annotateHit(fiber)
          return { ...response, usage: zeroEmbeddingUsage }
        })
    })

  return { markUpstream, zeroHits }
}
