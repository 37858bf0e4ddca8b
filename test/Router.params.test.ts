/**
 * Per-deployment params, caps, dropParams and headers, as the upstream receives them: each deployment is a real
 * provider client talking HTTP to a FakeUpstream on 127.0.0.1, which records every request.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type * as Chat from "../src/Chat.js"
import * as Deployment from "../src/Deployment.js"
import * as FakeUpstream from "../src/FakeUpstream.js"
import * as ExtraHeaders from "../src/internal/extraHeaders.js"
import * as Anthropic from "../src/providers/Anthropic.js"
import * as OpenAiCompatible from "../src/providers/OpenAiCompatible.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"

const apiKey = Redacted.make("sk-params-test-0123456789")

type Extra = Partial<Pick<Deployment.Deployment, "params" | "caps" | "dropParams" | "headers">>

/** A deployment: the OpenAI-compatible client over a fresh fake upstream. */
const openAi = (name: string, extra: Extra = {}, script: FakeUpstream.Script = {}) =>
  Effect.map(FakeUpstream.make({ script }), (upstream) => ({
    upstream,
    deployment: Deployment.make({
      name,
      layer: OpenAiCompatible.layer({ baseUrl: upstream.baseUrl, apiKey }).pipe(Layer.provide(FetchHttpClient.layer)),
      ...extra
    })
  }))

const bodies = (upstream: FakeUpstream.Service) =>
  Effect.map(upstream.requests, (requests) => requests.map((r) => r.body as Record<string, unknown>))

const request: Chat.ChatCompletionRequest = {
  model: "gpt-4o",
  messages: [{ role: "user", content: "hi" }],
  temperature: 0.7,
  max_tokens: 5000,
  parallel_tool_calls: true,
  extra_body: { caller: 1, shared: "caller" }
}

describe("Router: per-deployment params, caps and dropParams", () => {
  it.scoped("are applied to chat and chatStream as the upstream receives them", () =>
    Effect.gen(function* () {
      const a = yield* openAi("a", {
        params: { temperature: 0, model: "gpt-4o-2024-11-20", extra_body: { shared: "deployment", forced: true } },
        caps: { max_tokens: 1024 },
        dropParams: ["parallel_tool_calls"]
      })
      const router = yield* Router.make({ deployments: [a.deployment], strategy: Strategy.fallback() })
      yield* router.service.chat(request)
      yield* Stream.runDrain(router.service.chatStream(request))
      const [chat, stream] = yield* bodies(a.upstream)
      for (const body of [chat, stream]) {
        expect(body).toMatchObject({
          model: "gpt-4o-2024-11-20",
          temperature: 0,
          max_tokens: 1024,
          caller: 1,
          shared: "deployment",
          forced: true
        })
        expect(body).not.toHaveProperty("parallel_tool_calls")
      }
      expect(stream.stream).toBe(true)
      // the caller's own object is untouched
      expect(request).toMatchObject({ temperature: 0.7, max_tokens: 5000, parallel_tool_calls: true })
    })
  )

  it.scoped("a cap lowers a larger value only: a smaller one stays, a missing one stays missing", () =>
    Effect.gen(function* () {
      const a = yield* openAi("a", { caps: { max_tokens: 1024, temperature: 1 } })
      const router = yield* Router.make({ deployments: [a.deployment], strategy: Strategy.fallback() })
      yield* router.service.chat({ ...request, max_tokens: 100, temperature: 1.5 })
      yield* router.service.chat({ model: "gpt-4o", messages: request.messages })
      const [small, bare] = yield* bodies(a.upstream)
      expect(small).toMatchObject({ max_tokens: 100, temperature: 1 })
      expect(bare).not.toHaveProperty("max_tokens")
      expect(bare).not.toHaveProperty("temperature")
    })
  )

  it.scoped("embeddings get only the fields an embeddings request has", () =>
    Effect.gen(function* () {
      const a = yield* openAi("a", {
        params: { temperature: 0, model: "text-embedding-3-small", encoding_format: "float" },
        caps: { dimensions: 256, max_tokens: 10 },
        dropParams: ["user"]
      })
      const router = yield* Router.make({ deployments: [a.deployment], strategy: Strategy.fallback() })
      yield* router.service.embed({ model: "embed", input: "text", dimensions: 1024, user: "u-1" })
      const [body] = yield* bodies(a.upstream)
      expect(body).toEqual({
        model: "text-embedding-3-small",
        input: "text",
        dimensions: 256,
        encoding_format: "float"
      })
    })
  )

  it.scoped("a deployment without params receives the caller's request as sent, also after a failover", () =>
    Effect.gen(function* () {
      const a = yield* openAi("a", { params: { temperature: 0 }, dropParams: ["parallel_tool_calls"] }, { status: 503 })
      const b = yield* openAi("b")
      const router = yield* Router.make({
        deployments: [a.deployment, b.deployment],
        strategy: Strategy.fallback()
      })
      yield* router.service.chat(request)
      const [atA] = yield* bodies(a.upstream)
      const [atB] = yield* bodies(b.upstream)
      expect(atA).toMatchObject({ temperature: 0 })
      expect(atB).toMatchObject({ temperature: 0.7, parallel_tool_calls: true, max_tokens: 5000 })
    })
  )
})

describe("Router: per-deployment headers", () => {
  it.scoped("reach the upstream on every operation, and only from their deployment", () =>
    Effect.gen(function* () {
      const a = yield* openAi("a", { headers: { "X-Team": "search", "OpenAI-Project": "proj_1" } }, { status: 503 })
      const b = yield* openAi("b")
      const router = yield* Router.make({ deployments: [a.deployment, b.deployment], strategy: Strategy.fallback() })
      yield* router.service.chat(request)
      yield* Stream.runDrain(router.service.chatStream(request))
      yield* router.service.embed({ model: "embed", input: "x" })
      yield* router.service.listModels
      const atA = yield* a.upstream.requests
      expect(atA.map((r) => r.url)).toEqual([
        "/v1/chat/completions",
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/models"
      ])
      for (const sent of atA) {
        expect(sent.headers["x-team"]).toBe("search")
        expect(sent.headers["openai-project"]).toBe("proj_1")
        expect(sent.headers["authorization"]).toBe(`Bearer ${Redacted.value(apiKey)}`)
      }
      for (const sent of yield* b.upstream.requests) expect(sent.headers["x-team"]).toBeUndefined()
    })
  )

  it.scoped("are honoured by the Anthropic client too, over its configured headers", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make()
      const deployment = Deployment.make({
        name: "claude",
        layer: Anthropic.layer({ baseUrl: upstream.url, apiKey, headers: { "anthropic-beta": "old" } }).pipe(
          Layer.provide(FetchHttpClient.layer)
        ),
        headers: { "anthropic-beta": "prompt-caching-2024-07-31" }
      })
      const router = yield* Router.make({ deployments: [deployment], strategy: Strategy.fallback() })
      yield* router.service.chat({ model: "claude-sonnet-4-5", messages: request.messages })
      const [sent] = yield* upstream.requests
      expect(sent.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31")
      expect(sent.headers["x-api-key"]).toBe(Redacted.value(apiKey))
    })
  )

  it.scoped("through a nested router: the inner deployment's header wins, the outer's others still arrive", () =>
    Effect.gen(function* () {
      const inner = yield* openAi("inner", { headers: { "x-tier": "inner" } })
      const outer = Deployment.make({
        name: "outer",
        layer: Router.layer({ deployments: [inner.deployment], strategy: Strategy.fallback() }),
        headers: { "X-Tier": "outer", "x-org": "acme" }
      })
      const router = yield* Router.make({ deployments: [outer], strategy: Strategy.fallback() })
      yield* router.service.chat(request)
      const [sent] = yield* inner.upstream.requests
      expect(sent.headers["x-tier"]).toBe("inner")
      expect(sent.headers["x-org"]).toBe("acme")
    })
  )

  it.scoped("never replace the endpoint's credentials, whoever provides them", () =>
    Effect.gen(function* () {
      const upstream = yield* FakeUpstream.make()
      const service = yield* OpenAiCompatible.make({ baseUrl: upstream.baseUrl, apiKey }).pipe(
        Effect.provide(FetchHttpClient.layer),
        ExtraHeaders.provide({ authorization: "Bearer stolen", "x-extra": "yes" })
      )
      yield* service.chat(request)
      const [sent] = yield* upstream.requests
      expect(sent.headers["authorization"]).toBe(`Bearer ${Redacted.value(apiKey)}`)
      expect(sent.headers["x-extra"]).toBe("yes")
    })
  )
})

describe("Router: bad params, caps, dropParams or headers fail the build, naming the deployment and field", () => {
  const cases: ReadonlyArray<readonly [string, Extra, RegExp]> = [
    ["an unknown field", { params: { top_k: 5 } }, /params\.top_k .*extra_body/],
    ["the messages", { params: { messages: [] } }, /params\.messages cannot be forced/],
    ["stream", { params: { stream: true } }, /params\.stream cannot be forced/],
    ["a value of the wrong type", { params: { temperature: "hot" } }, /params\.temperature/],
    ["a value out of range", { params: { max_tokens: -1 } }, /params\.max_tokens: expected a number ≥ 0/],
    ["extra_body that is no object", { params: { extra_body: 3 } }, /params\.extra_body/],
    ["a cap on a field that is no number", { caps: { model: 3 } }, /caps\.model cannot be capped/],
    ["a cap that is no whole number", { caps: { max_tokens: 10.5 } }, /caps\.max_tokens: expected a whole number/],
    ["a cap that is NaN", { caps: { temperature: Number.NaN } }, /caps\.temperature: expected a finite number/],
    ["dropping the model", { dropParams: ["model"] }, /dropParams cannot remove model/],
    ["dropping an unknown field", { dropParams: ["nope"] }, /dropParams names nope/],
    ["a field forced and dropped", { params: { seed: 1 }, dropParams: ["seed"] }, /seed is both forced/],
    [
      "a credential header",
      { headers: { Authorization: "Bearer x" } },
      /headers\.Authorization would carry credentials/
    ],
    [
      "a header with a line break",
      { headers: { "x-a": "1\r\nx-b: 2" } },
      /headers\.x-a is invalid: it contains a line break/
    ],
    ["a header value that is no string", { headers: { "x-n": 5 as never } }, /headers\.x-n must be a string/],
    ["a header name that is no token", { headers: { "bad name": "1" } }, /headers\.bad name is invalid/]
  ]
  it.effect.each(cases)("%s", ([, extra, pattern]) =>
    Effect.gen(function* () {
      const a = yield* openAi("deploy-1", extra)
      const error = yield* Effect.flip(Router.make({ deployments: [a.deployment], strategy: Strategy.fallback() }))
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toContain('deployment "deploy-1"')
      expect(error.message).toMatch(pattern)
      expect(error.message).not.toContain("Bearer x")
      expect(yield* a.upstream.requests).toHaveLength(0)
    }).pipe(Effect.scoped)
  )
})
