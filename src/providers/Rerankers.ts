/**
 * Rerank providers: Cohere (`/v2/rerank`), Jina (`/v1/rerank`) and Voyage (`/v1/rerank`), each mapped from and to the
 * one `Rerank` shape, as `LlmService` layers that do rerank only (every other operation fails with
 * `EndpointNotSupported`, which the router skips rather than fails over on).
 *
 * ```ts
 * const cohere = Rerankers.cohere({ apiKey: Redacted.make(process.env.COHERE_API_KEY!) })
 * ```
 *
 * Decisions:
 * - Documents are sent as strings to Cohere and Voyage (they take only strings) and as given to Jina.
 * - Results come back sorted by score, highest first; when `return_documents` is asked, documents are filled in from
 *   the request (Cohere v2 never echoes them, and the echoes of the others vary: a string, `{ text }`, or `{}`), so
 *   every provider answers the same shape and an echo's shape never fails an answer.
 * - Usage: Jina and Voyage report tokens (`usage.total_tokens`), Cohere search units (`usage.search_units`).
 *
 * @since 0.2.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Http from "../internal/http.js"
import { withRequestChecks } from "../internal/requestChecks.js"
import type * as LiterLlmError from "../LiterLlmError.js"
import * as LlmService from "../LlmService.js"
import type * as Rerank from "../Rerank.js"

/**
 * Options of every rerank provider.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Default: the provider's public API (`https://api.cohere.com`, `https://api.jina.ai/v1`, `https://api.voyageai.com/v1`). */
  readonly baseUrl?: string | undefined
  /** When set, replaces the `model` of every request. */
  readonly model?: string | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
}

const Usage = Schema.Struct({ total_tokens: Schema.optional(Schema.NullOr(Schema.Number)) })

const CohereResponse = Schema.Struct({
  id: Schema.optional(Schema.String),
  results: Schema.Array(Schema.Struct({ index: Schema.Int, relevance_score: Schema.Number })),
  meta: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        billed_units: Schema.optional(
          Schema.NullOr(Schema.Struct({ search_units: Schema.optional(Schema.NullOr(Schema.Number)) }))
        )
      })
    )
  )
})

/** One ranked document as Jina and Voyage answer it. */
const Ranked = Schema.Struct({
  index: Schema.Int,
  relevance_score: Schema.Number,
  // never read (documents come from the request); Together, on Jina's wire, echoes `{}` when none were asked
  document: Schema.optional(Schema.Unknown)
})

const JinaResponse = Schema.Struct({
  model: Schema.optional(Schema.String),
  usage: Schema.optional(Schema.NullOr(Usage)),
  results: Schema.Array(Ranked)
})

const VoyageResponse = Schema.Struct({
  model: Schema.optional(Schema.String),
  usage: Schema.optional(Schema.NullOr(Usage)),
  data: Schema.Array(Ranked)
})

const textOf = (document: Rerank.RerankDocument): string => (typeof document === "string" ? document : document.text)

/** Sorts by score and fills in documents from the request when they were asked for. */
const finish = (
  request: Rerank.RerankRequest,
  results: ReadonlyArray<{ readonly index: number; readonly relevance_score: number; readonly document?: unknown }>,
  rest: Omit<Rerank.RerankResponse, "results">
): Rerank.RerankResponse => ({
  ...rest,
  results: results
    .map(({ index, relevance_score }) => ({
      index,
      relevance_score,
      ...(request.return_documents === true && request.documents[index] !== undefined
        ? { document: { text: textOf(request.documents[index]) } }
        : {})
    }))
    .sort((a, b) => b.relevance_score - a.relevance_score)
})

type Dialect = "cohere" | "jina" | "voyage"

const defaults: Record<Dialect, { readonly baseUrl: string; readonly path: string }> = {
  cohere: { baseUrl: "https://api.cohere.com", path: "/v2/rerank" },
  jina: { baseUrl: "https://api.jina.ai/v1", path: "/rerank" },
  voyage: { baseUrl: "https://api.voyageai.com/v1", path: "/rerank" }
}

const make = (
  dialect: Dialect,
  options: Options
): Effect.Effect<LlmService.Service, LiterLlmError.InvalidHeader | LiterLlmError.BadRequest, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const endpoint = yield* Http.makeEndpoint({
      provider: dialect,
      baseUrl: options.baseUrl ?? defaults[dialect].baseUrl,
      apiKey: options.apiKey,
      headers: options.headers,
      timeout: options.timeout
    })
    const base = yield* HttpClient.HttpClient
    const client = options.transformClient === undefined ? base : options.transformClient(base)
    const path = defaults[dialect].path
    const post = <A, I>(body: Record<string, unknown>, schema: Schema.Schema<A, I>) =>
      Http.json(client, endpoint, { method: "POST", path, body }, schema)

    const rerank = (
      request: Rerank.RerankRequest
    ): Effect.Effect<Rerank.RerankResponse, LiterLlmError.LiterLlmError> => {
      const model = options.model ?? request.model
      const extra = request.extra_body ?? {}
      const top =
        request.top_n === undefined ? {} : dialect === "voyage" ? { top_k: request.top_n } : { top_n: request.top_n }
      switch (dialect) {
        case "cohere":
          return Effect.map(
            post(
              { model, query: request.query, documents: request.documents.map(textOf), ...top, ...extra },
              CohereResponse
            ),
            (answer) => {
              const units = answer.meta?.billed_units?.search_units
              return finish(request, answer.results, {
                ...(answer.id === undefined ? {} : { id: answer.id }),
                model,
                ...(units == null ? {} : { usage: { search_units: units } })
              })
            }
          )
        case "jina":
          return Effect.map(
            post(
              { model, query: request.query, documents: request.documents, ...top, return_documents: false, ...extra },
              JinaResponse
            ),
            (answer) =>
              finish(request, answer.results, {
                model: answer.model ?? model,
                ...(answer.usage?.total_tokens == null ? {} : { usage: { total_tokens: answer.usage.total_tokens } })
              })
          )
        case "voyage":
          return Effect.map(
            post(
              { model, query: request.query, documents: request.documents.map(textOf), ...top, ...extra },
              VoyageResponse
            ),
            (answer) =>
              finish(request, answer.data, {
                model: answer.model ?? model,
                ...(answer.usage?.total_tokens == null ? {} : { usage: { total_tokens: answer.usage.total_tokens } })
              })
          )
      }
    }
    return LlmService.make(withRequestChecks({ provider: dialect, rerank }))
  })

/**
 * Cohere's rerank (`POST {baseUrl}/v2/rerank`).
 *
 * @since 0.2.0
 * @category layers
 */
export const cohere = (
  options: Options = {}
): Layer.Layer<LlmService.LlmService, LiterLlmError.InvalidHeader | LiterLlmError.BadRequest, HttpClient.HttpClient> =>
  Layer.effect(LlmService.LlmService, make("cohere", options))

/**
 * Jina's rerank (`POST {baseUrl}/rerank`, base `https://api.jina.ai/v1`).
 *
 * @since 0.2.0
 * @category layers
 */
export const jina = (
  options: Options = {}
): Layer.Layer<LlmService.LlmService, LiterLlmError.InvalidHeader | LiterLlmError.BadRequest, HttpClient.HttpClient> =>
  Layer.effect(LlmService.LlmService, make("jina", options))

/**
 * Voyage's rerank (`POST {baseUrl}/rerank`, base `https://api.voyageai.com/v1`).
 *
 * @since 0.2.0
 * @category layers
 */
export const voyage = (
  options: Options = {}
): Layer.Layer<LlmService.LlmService, LiterLlmError.InvalidHeader | LiterLlmError.BadRequest, HttpClient.HttpClient> =>
  Layer.effect(LlmService.LlmService, make("voyage", options))
