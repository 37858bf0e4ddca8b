/**
 * Shared set-up for the @effect/ai interop tests: a FakeUpstream on loopback and the OpenAI-compatible provider
 * pointed at it, as the `LlmService` the interop layers stand on.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"

/** Starts a FakeUpstream with `options` and gives it with an `LlmService` layer that talks to it. */
export const upstream = (options: FakeUpstream.Options = {}) =>
  Effect.map(FakeUpstream.make(options), (server) => ({
    server,
    llm: OpenAiCompatible.layer({ baseUrl: server.baseUrl, apiKey: Redacted.make("sk-test"), provider: "fake" }).pipe(
      Layer.provide(FetchHttpClient.layer),
      Layer.orDie
    )
  }))

/** The JSON body of the `n`th request the server received. */
export const body = (server: FakeUpstream.Service, n = 0) =>
  Effect.map(server.requests, (requests) => requests[n]?.body as Record<string, unknown>)
