/**
 * Lifting a middleware into a layer: a middleware is a function from one `LlmService.Service` to another (built with
 * `Pipeline.stack`), and the same function as a `Layer<LlmService, E, LlmService>` wraps a single deployment or a
 * whole router.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as LlmService from "../../LlmService.js"

/**
 * Lifts a wrapper into a layer transformer: it reads the `LlmService` below from context and provides the wrapped
 * one. Scoped, so a wrapper may own background fibers or finalizers that end with the layer.
 */
export const transform = <E, R>(
  wrapper: (service: LlmService.Service) => Effect.Effect<LlmService.Service, E, R>
): Layer.Layer<LlmService.LlmService, E, LlmService.LlmService | Exclude<R, Scope.Scope>> =>
  Layer.scoped(LlmService.LlmService, Effect.flatMap(LlmService.LlmService, wrapper))
