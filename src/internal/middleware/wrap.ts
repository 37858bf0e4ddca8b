/**
 * Shared plumbing for middleware: a middleware is a function from one `LlmService.Service` to another, and the same
 * function lifted to a `Layer<LlmService, E, LlmService>` so it can wrap a single deployment or a whole router.
 *
 * `wrap` overrides some operations and passes the others through untouched, so a middleware only writes the
 * operations it cares about. `transform` lifts a (possibly scoped, possibly effectful) wrapper into a layer.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as LlmService from "../../LlmService.js"

/** The operations a middleware may replace; each receives the request and decides whether to call `service`. */
export type Overrides = Partial<Omit<LlmService.Service, "listModels">> & {
  readonly listModels?: LlmService.Service["listModels"] | undefined
}

/** A service that behaves like `service` except for the operations in `overrides`. */
export const wrap = (service: LlmService.Service, overrides: Overrides): LlmService.Service => ({
  chat: overrides.chat ?? service.chat,
  chatStream: overrides.chatStream ?? service.chatStream,
  embed: overrides.embed ?? service.embed,
  listModels: overrides.listModels ?? service.listModels
})

/**
 * Lifts a wrapper into a layer transformer: it reads the `LlmService` below from context and provides the wrapped
 * one. Scoped, so a wrapper may own background fibers or finalizers that end with the layer.
 */
export const transform = <E, R>(
  wrapper: (service: LlmService.Service) => Effect.Effect<LlmService.Service, E, R>
): Layer.Layer<LlmService.LlmService, E, LlmService.LlmService | Exclude<R, Scope.Scope>> =>
  Layer.scoped(LlmService.LlmService, Effect.flatMap(LlmService.LlmService, wrapper))
