/**
 * Recorded rerank answers (see fixtures/README.md) replayed through `Rerankers` in every split mode: Cohere v2, Voyage,
 * and Together's answer (the same wire shape as Jina's) through `Rerankers.jina`. Each is mapped to the one `Rerank`
 * shape: sorted by score, documents filled in from the request when asked, usage kept.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LlmService from "../../src/LlmService.js"
import * as Rerankers from "../../src/providers/Rerankers.js"
import type * as Rerank from "../../src/Rerank.js"
import * as Fixture from "./fixture.js"
import * as Harness from "./harness.js"

type Provider = (options: Rerankers.Options) => Layer.Layer<LlmService.LlmService, unknown, never>

const at =
  (make: typeof Rerankers.cohere, path = ""): Provider =>
  (options) =>
    make({ ...options, baseUrl: `${options.baseUrl}${path}` }).pipe(Layer.provide(FetchHttpClient.layer))

const rerank = (fixture: Fixture.Fixture, provider: Provider, request: Rerank.RerankRequest) =>
  Harness.replaySuccess(fixture, (url) =>
    Effect.provide(LlmService.rerank(request), provider({ baseUrl: url })).pipe(Effect.orDie)
  )

const documents = ["a", "b", "c", "d", "e", "f"].map((letter) => `document ${letter}`)

describe("replay: rerank", () => {
  it.scoped("Cohere v2: its id, search units as usage, documents filled in", () =>
    Effect.gen(function* () {
      const response = yield* rerank(Fixture.json("vercel-ai/cohere/cohere-reranking.1.json"), at(Rerankers.cohere), {
        model: "rerank-v3.5",
        query: "q",
        documents: documents.slice(0, 2),
        top_n: 2,
        return_documents: true
      })
      expect(response).toEqual({
        id: "b44fe75b-e3d3-489a-b61e-1a1aede3ef72",
        model: "rerank-v3.5",
        results: [
          { index: 1, relevance_score: 0.10183054, document: { text: "document b" } },
          { index: 0, relevance_score: 0.03762639, document: { text: "document a" } }
        ],
        usage: { search_units: 1 }
      })
    })
  )

  it.scoped("Voyage: data as results, its model and tokens", () =>
    Effect.gen(function* () {
      const response = yield* rerank(
        Fixture.json("vercel-ai/voyage/voyage-reranking.1.json"),
        at(Rerankers.voyage, "/v1"),
        { model: "rerank-2", query: "q", documents: documents.slice(0, 2) }
      )
      expect(response).toEqual({
        model: "rerank-2",
        results: [
          { index: 1, relevance_score: 0.8984375 },
          { index: 0, relevance_score: 0.14160156 }
        ],
        usage: { total_tokens: 12 }
      })
    })
  )

  it.scoped("Together through the Jina shape: empty document objects are read as no document", () =>
    Effect.gen(function* () {
      const fixture = Fixture.json("vercel-ai/togetherai/togetherai-reranking.1.json")
      const request = { model: "Salesforce/Llama-Rank-v1", query: "q", documents, top_n: 2 }
      const response = yield* rerank(fixture, at(Rerankers.jina, "/v1"), request)
      expect(response).toEqual({
        model: "Salesforce/Llama-Rank-v1",
        results: [
          { index: 0, relevance_score: 0.6475887154399037 },
          { index: 5, relevance_score: 0.6323295373206566 }
        ],
        usage: { total_tokens: 2966 }
      })
      const withDocuments = yield* rerank(fixture, at(Rerankers.jina, "/v1"), { ...request, return_documents: true })
      expect(withDocuments.results.map((result) => result.document)).toEqual([
        { text: "document a" },
        { text: "document f" }
      ])
    })
  )
})
