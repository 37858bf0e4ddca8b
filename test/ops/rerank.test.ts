/**
 * Rerank providers over real HTTP: each native request as its API documents it (Cohere v2, Jina, Voyage), each native
 * answer mapped to the one `Rerank` shape — sorted by score, documents filled in when asked, usage kept.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as LlmService from "../../src/LlmService.js"
import * as Rerankers from "../../src/providers/Rerankers.js"
import * as Loopback from "../support/loopback.js"

const documents = ["Paris is in France", "Berlin is in Germany", "Lyon is in France"]
const request = { model: "rerank-v3.5", query: "French cities", documents, top_n: 2, return_documents: true }

describe("Rerankers", () => {
  it.scoped("cohere: /v2/rerank with string documents and top_n; search units as usage; documents filled in", () =>
    Effect.gen(function* () {
      const server = yield* Loopback.serve(() => ({
        body: JSON.stringify({
          id: "r-1",
          results: [
            { index: 0, relevance_score: 0.61 },
            { index: 2, relevance_score: 0.93 }
          ],
          meta: { api_version: { version: "2" }, billed_units: { search_units: 1 } }
        })
      }))
      const layer = Rerankers.cohere({ baseUrl: server.url, apiKey: Redacted.make("co-key-0123456789") }).pipe(
        Layer.provide(FetchHttpClient.layer)
      )
      const response = yield* Effect.provide(LlmService.rerank(request), layer)
      const [sent] = yield* server.requests
      expect(sent.path).toBe("/v2/rerank")
      expect(sent.headers.authorization).toBe("Bearer co-key-0123456789")
      expect(JSON.parse(sent.body.toString())).toEqual({
        model: "rerank-v3.5",
        query: "French cities",
        documents,
        top_n: 2
      })
      expect(response.results).toEqual([
        { index: 2, relevance_score: 0.93, document: { text: "Lyon is in France" } },
        { index: 0, relevance_score: 0.61, document: { text: "Paris is in France" } }
      ])
      expect(response.usage).toEqual({ search_units: 1 })
    })
  )

  it.scoped("jina: /rerank with documents as given; tokens as usage", () =>
    Effect.gen(function* () {
      const server = yield* Loopback.serve(() => ({
        body: JSON.stringify({
          model: "jina-reranker-v2-base-multilingual",
          usage: { total_tokens: 38 },
          results: [{ index: 1, relevance_score: 0.2, document: { text: "Berlin is in Germany" } }]
        })
      }))
      const layer = Rerankers.jina({ baseUrl: `${server.url}/v1` }).pipe(Layer.provide(FetchHttpClient.layer))
      const response = yield* Effect.provide(
        LlmService.rerank({ model: "jina-reranker-v2-base-multilingual", query: "q", documents: [{ text: "a" }, "b"] }),
        layer
      )
      const [sent] = yield* server.requests
      expect(sent.path).toBe("/v1/rerank")
      expect(JSON.parse(sent.body.toString())).toEqual({
        model: "jina-reranker-v2-base-multilingual",
        query: "q",
        documents: [{ text: "a" }, "b"],
        return_documents: false
      })
      expect(response.results).toEqual([{ index: 1, relevance_score: 0.2 }])
      expect(response.usage).toEqual({ total_tokens: 38 })
    })
  )

  it.scoped("voyage: top_n goes as top_k; `data` read as results, sorted", () =>
    Effect.gen(function* () {
      const server = yield* Loopback.serve(() => ({
        body: JSON.stringify({
          object: "list",
          model: "rerank-2",
          usage: { total_tokens: 20 },
          data: [
            { index: 1, relevance_score: 0.1 },
            { index: 0, relevance_score: 0.7 }
          ]
        })
      }))
      const layer = Rerankers.voyage({ baseUrl: `${server.url}/v1`, model: "rerank-2" }).pipe(
        Layer.provide(FetchHttpClient.layer)
      )
      const response = yield* Effect.provide(LlmService.rerank({ ...request, return_documents: false }), layer)
      const [sent] = yield* server.requests
      expect(JSON.parse(sent.body.toString())).toEqual({
        model: "rerank-2",
        query: "French cities",
        documents,
        top_k: 2
      })
      expect(response.results.map((r) => r.index)).toEqual([0, 1])
      expect(response.model).toBe("rerank-2")
    })
  )

  it.scoped("bad input is refused before sending: empty documents, top_n 0 or fractional, empty query", () =>
    Effect.gen(function* () {
      const server = yield* Loopback.serve(() => ({ body: "{}" }))
      const layer = Rerankers.cohere({ baseUrl: server.url }).pipe(Layer.provide(FetchHttpClient.layer))
      const cases = [
        [{ ...request, documents: [] }, "documents:"],
        [{ ...request, top_n: 0 }, "top_n:"],
        [{ ...request, top_n: 1.5 }, "top_n:"],
        [{ ...request, query: "" }, "query:"],
        [{ ...request, documents: ["a", 3 as unknown as string] }, "documents[1]:"]
      ] as const
      for (const [bad, field] of cases) {
        const error = yield* Effect.flip(Effect.provide(LlmService.rerank(bad), layer))
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain(field)
      }
      expect(yield* server.requests).toHaveLength(0)
    })
  )

  it.scoped("a reranker does nothing else: chat fails with EndpointNotSupported", () =>
    Effect.gen(function* () {
      const layer = Rerankers.voyage({ baseUrl: "http://127.0.0.1:9" }).pipe(Layer.provide(FetchHttpClient.layer))
      const error = yield* Effect.flip(
        Effect.provide(LlmService.chat({ model: "m", messages: [{ role: "user", content: "hi" }] }), layer)
      )
      expect(error).toMatchObject({ _tag: "EndpointNotSupported", endpoint: "chat", provider: "voyage" })
    })
  )
})
