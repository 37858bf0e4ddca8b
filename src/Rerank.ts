/**
 * Rerank: order documents by relevance to a query. One request shape (Cohere v2's, as gateways serve it) mapped to
 * each provider's native one (Cohere `/v2/rerank`, Jina and Voyage `/v1/rerank`) by `Rerank` providers.
 *
 * Decisions:
 * - Documents are strings or objects with a `text` (Jina also takes objects; Cohere v2 takes strings: objects are
 *   sent as their text there).
 * - `top_n` keeps the best n results (Voyage calls it `top_k`); results are sorted by `relevance_score`, highest first,
 *   whatever order the provider used.
 * - `return_documents` asks for each result's document; providers that never echo documents get them filled in from
 *   the request, so the answer is the same everywhere.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * A document to rank.
 *
 * @since 0.2.0
 * @category request
 */
export const RerankDocument = Schema.Union(
  Schema.String,
  Schema.Struct({ text: Schema.String }, Schema.Record({ key: Schema.String, value: Schema.Unknown }))
)
/** @since 0.2.0 @category request */
export type RerankDocument = typeof RerankDocument.Type

/**
 * A rerank request.
 *
 * @since 0.2.0
 * @category request
 */
export const RerankRequest = Schema.Struct({
  model: Schema.String,
  query: Schema.String,
  documents: Schema.Array(RerankDocument),
  top_n: Schema.optional(Schema.Int),
  return_documents: Schema.optional(Schema.Boolean),
  extra_body: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
/** @since 0.2.0 @category request */
export type RerankRequest = typeof RerankRequest.Type

/**
 * One ranked document: its index in the request, its score, and (when asked) the document.
 *
 * @since 0.2.0
 * @category response
 */
export const RerankResult = Schema.Struct({
  index: Schema.Int,
  relevance_score: Schema.Number,
  document: Schema.optional(Schema.Struct({ text: Schema.String }))
})
/** @since 0.2.0 @category response */
export type RerankResult = typeof RerankResult.Type

/**
 * A rerank response: results by score, highest first; `usage` in tokens or Cohere's search units when reported.
 *
 * @since 0.2.0
 * @category response
 */
export const RerankResponse = Schema.Struct({
  id: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  results: Schema.Array(RerankResult),
  usage: Schema.optional(
    Schema.Struct({
      total_tokens: Schema.optional(Schema.Number),
      search_units: Schema.optional(Schema.Number)
    })
  )
})
/** @since 0.2.0 @category response */
export type RerankResponse = typeof RerankResponse.Type
