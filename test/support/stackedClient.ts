/**
 * The stacked managed client as of commit 14eb59631bdd3d6bfbe4d88429ffb3dee51a8120 (`src/LlmClient.ts` and
 * `src/internal/telemetry/cacheHits.ts` of that commit, in one file), kept as the reference model for the equivalence
 * test (`test/LlmClient.equivalence.test.ts`): whatever `LlmClient.layer` becomes, it must behave like this.
 *
 * It composes the public middleware layers one on another — Telemetry (outermost) → Hooks → Budget → RateLimit →
 * HealthCheck → [cache-hit tracker `zeroHits`] → LlmCache → [tracker `markUpstream`] → service — and tells a cache hit
 * from a miss by watching whether the service below the cache was reached: a hit reports zero usage (so Budget charges
 * nothing, rate-limit tokens and token metrics count nothing, its cost is 0) and its span is marked
 * `liter_llm.cache.hit`. Callers that joined another caller's in-flight call through the cache's single flight count
 * as hits.
 *
 * Only the imports changed (to `../../src/...`), and cacheHits' import of the internal `wrap` is replaced by a local
 * copy, so this file depends on public modules only.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as Budget from "../../src/Budget.js"
import type * as Chat from "../../src/Chat.js"
import type * as Embedding from "../../src/Embedding.js"
import * as HealthCheck from "../../src/HealthCheck.js"
import * as Hooks from "../../src/Hooks.js"
import * as LlmCache from "../../src/LlmCache.js"
import * as LlmService from "../../src/LlmService.js"
import * as RateLimit from "../../src/RateLimit.js"
import * as Telemetry from "../../src/Telemetry.js"

// ---------------------------------------------------------------------------------------------------------------
// Local copy of internal/middleware/wrap.ts's `wrap`
// ---------------------------------------------------------------------------------------------------------------

type Overrides = Partial<Omit<LlmService.Service, "listModels">> & {
  readonly listModels?: LlmService.Service["listModels"] | undefined
}

const wrap = (service: LlmService.Service, overrides: Overrides): LlmService.Service => ({
  chat: overrides.chat ?? service.chat,
  chatStream: overrides.chatStream ?? service.chatStream,
  embed: overrides.embed ?? service.embed,
  listModels: overrides.listModels ?? service.listModels
})

// ---------------------------------------------------------------------------------------------------------------
// internal/telemetry/cacheHits.ts at the reference commit
// ---------------------------------------------------------------------------------------------------------------

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

const annotateHit = (fiber: Fiber.RuntimeFiber<unknown, unknown>): void => {
  const parent = Context.getOption(fiber.currentContext, Tracer.ParentSpan)
  if (Option.isSome(parent) && parent.value._tag === "Span") parent.value.attribute("liter_llm.cache.hit", true)
}

interface Tracker {
  readonly markUpstream: (service: LlmService.Service) => LlmService.Service
  readonly zeroHits: (service: LlmService.Service) => LlmService.Service
}

const tracker = (): Tracker => {
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

// ---------------------------------------------------------------------------------------------------------------
// LlmClient.ts at the reference commit
// ---------------------------------------------------------------------------------------------------------------

/** The same options as `LlmClient.Options`. */
export interface Options<E = never, R = never> {
  readonly layer: Layer.Layer<LlmService.LlmService, E, R>
  readonly cache?: LlmCache.Options | true | undefined
  readonly healthCheck?: HealthCheck.Options | true | undefined
  readonly rateLimit?: RateLimit.Options | undefined
  readonly budget?: Budget.Options | undefined
  readonly hooks?: ReadonlyArray<Hooks.Hook> | undefined
  readonly telemetry?: Telemetry.Options | true | undefined
}

/** The same as `LlmClient.Provides`. */
export type Provides<O> =
  | LlmService.LlmService
  | (O extends { readonly budget: Budget.Options } ? Budget.Budget : never)
  | (O extends { readonly healthCheck: HealthCheck.Options | true } ? HealthCheck.Health : never)

const optionsOf = <A extends object>(value: A | true): A => (value === true ? ({} as A) : value)

/** The stacked managed client: the same signature and behaviour as `LlmClient.layer` at the reference commit. */
export const layer = <O extends Options<any, any>>(
  options: O
): Layer.Layer<Provides<O>, Layer.Layer.Error<O["layer"]>, Layer.Layer.Context<O["layer"]>> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      // Built one piece at a time (not as one Layer.provide chain) so that what each piece provides besides the
      // service — Budget, Health, or anything the wrapped layer offers — survives the pieces stacked on top.
      let context: Context.Context<never> = yield* Layer.build(options.layer as Layer.Layer<LlmService.LlmService>)
      let service = Context.get(context as Context.Context<LlmService.LlmService>, LlmService.LlmService)
      const apply = <ROut, E2, R2>(piece: Layer.Layer<LlmService.LlmService | ROut, E2, LlmService.LlmService | R2>) =>
        Effect.gen(function* () {
          const built = yield* Layer.build(Layer.provide(piece, Layer.succeed(LlmService.LlmService, service)))
          service = Context.get(built as Context.Context<LlmService.LlmService>, LlmService.LlmService)
          context = Context.merge(context, built as Context.Context<never>)
        })

      if (options.cache !== undefined) {
        const hits = tracker()
        service = hits.markUpstream(service)
        yield* apply(LlmCache.layer(optionsOf(options.cache)))
        service = hits.zeroHits(service)
      }
      if (options.healthCheck !== undefined) yield* apply(HealthCheck.layer(optionsOf(options.healthCheck)))
      if (options.rateLimit !== undefined) yield* apply(RateLimit.layer(options.rateLimit))
      if (options.budget !== undefined) yield* apply(Budget.layer(options.budget))
      if (options.hooks !== undefined && options.hooks.length > 0) yield* apply(Hooks.layer(options.hooks))
      if (options.telemetry !== undefined) yield* apply(Telemetry.layer(optionsOf(options.telemetry)))

      return Context.add(context, LlmService.LlmService, service) as Context.Context<Provides<O>>
    })
  ) as Layer.Layer<Provides<O>, Layer.Layer.Error<O["layer"]>, Layer.Layer.Context<O["layer"]>>
