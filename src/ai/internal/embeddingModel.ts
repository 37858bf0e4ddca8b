/**
 * The @effect/ai `EmbeddingModel` over an `LlmService` (public as `EffectAi.makeEmbedding`): options checked first,
 * then each batch of inputs one `embed` call, its answer matched back to the inputs by `embedding.ts`.
 */
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as LiterLlmError from "../../LiterLlmError.js"
import * as LlmService from "../../LlmService.js"
import * as Validate from "../../internal/validate.js"
import type { EmbeddingOptions } from "../EffectAi.js"
import * as Embeddings from "./embedding.js"
import * as Errors from "./errors.js"

const EmbeddingOptionsSchema = Schema.Struct({
  dimensions: Schema.optional(Validate.PositiveInt),
  maxBatchSize: Schema.optional(Validate.PositiveInt)
})

/** Where an embedding call's errors say they come from. */
export const embedSite: Errors.Site = { method: "embedMany", path: "/embeddings" }

/** Builds the `EmbeddingModel`; fails with `BadRequest` naming a bad option. */
export const make = (
  options: EmbeddingOptions
): Effect.Effect<EmbeddingModel.Service, LiterLlmError.BadRequest, LlmService.LlmService> =>
  Effect.gen(function* () {
    yield* Validate.options("EffectAi.embeddingLayer", EmbeddingOptionsSchema, options)
    const llm = yield* LlmService.LlmService
    return yield* EmbeddingModel.make({
      ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
      embedMany: (input) =>
        llm
          .embed({
            model: options.model,
            input: [...input],
            ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions })
          })
          .pipe(
            Effect.mapError((e) => Errors.toAiError(e, embedSite)),
            Effect.flatMap((answer) =>
              Either.match(Embeddings.toResults(answer, input.length), {
                onLeft: (description) => Effect.fail(Errors.malformedOutput(embedSite.method, description)),
                onRight: Effect.succeed
              })
            )
          )
    })
  })
