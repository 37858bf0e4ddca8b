/**
 * Telling cache hits from misses from outside the cache, so the layers above it can treat a hit as free. The managed
 * client puts `markUpstream` just below the cache and `zeroHits` just above it: a call the cache answered without
 * reaching the service below gets its usage zeroed on the way out, so budget, rate-limit token counts and cost see
 * what the call really consumed from the provider — nothing.
 *
 * The "did this call go upstream" cell travels in a `FiberRef`, not in the request, because the cache may run the
 * upstream call on a fiber of its own (single flight): that fiber inherits the first caller's cell, and callers that
 * joined the flight keep theirs unmarked — for them the answer was indeed free.
 */
import * as Effect from "effect/Effect"
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

const currentCell = FiberRef.unsafeMake<Cell | undefined>(undefined)

const mark: Effect.Effect<void> = Effect.flatMap(FiberRef.get(currentCell), (cell) =>
  cell === undefined
    ? Effect.void
    : Effect.sync(() => {
        cell.upstream = true
      })
)

/** The service below the cache: records that a call reached it. */
export const markUpstream = (service: LlmService.Service): LlmService.Service =>
  wrap(service, {
    chat: (request) => Effect.zipRight(mark, service.chat(request)),
    chatStream: (request) => Stream.unwrap(Effect.as(mark, service.chatStream(request))),
    embed: (request) => Effect.zipRight(mark, service.embed(request))
  })

const zeroUsage: Chat.Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }

// Not `Effect.annotateCurrentSpan`: without a span in context it builds (and drops) an exception with a stack trace,
// which cost more than the whole cache hit.
const annotateHit: Effect.Effect<void> = Effect.map(Effect.serviceOption(Tracer.ParentSpan), (parent) => {
  if (Option.isSome(parent) && parent.value._tag === "Span") parent.value.attribute("liter_llm.cache.hit", true)
})

/** The service above the cache: answers that never went upstream report zero usage. */
export const zeroHits = (service: LlmService.Service): LlmService.Service =>
  wrap(service, {
    chat: (request) =>
      Effect.suspend(() => {
        const cell: Cell = { upstream: false }
        return service.chat(request).pipe(
          Effect.locally(currentCell, cell),
          Effect.flatMap((response): Effect.Effect<Chat.ChatCompletionResponse> =>
            cell.upstream || response.usage == null
              ? Effect.succeed(response)
              : Effect.as(annotateHit, { ...response, usage: zeroUsage })
          )
        )
      }),
    chatStream: (request) =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const cell: Cell = { upstream: false }
          yield* Effect.locallyScoped(currentCell, cell)
          return service
            .chatStream(request)
            .pipe(
              Stream.mapEffect((chunk): Effect.Effect<Chat.ChatCompletionChunk> =>
                cell.upstream || chunk.usage == null
                  ? Effect.succeed(chunk)
                  : Effect.as(annotateHit, { ...chunk, usage: zeroUsage })
              )
            )
        })
      ),
    embed: (request) =>
      Effect.suspend(() => {
        const cell: Cell = { upstream: false }
        return service.embed(request).pipe(
          Effect.locally(currentCell, cell),
          Effect.flatMap((response): Effect.Effect<Embedding.EmbeddingResponse> =>
            cell.upstream || response.usage == null
              ? Effect.succeed(response)
              : Effect.as(annotateHit, { ...response, usage: { prompt_tokens: 0, total_tokens: 0 } })
          )
        )
      })
  })
