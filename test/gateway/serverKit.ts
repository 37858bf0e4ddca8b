/** A gateway on port 0 in front of FakeUpstreams through a router, and an `openai` SDK client pointed at it. */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { expect } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import OpenAI from "openai"
import * as Deployment from "../../src/Deployment.js"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import type * as LiterLlmError from "../../src/LiterLlmError.js"
import type * as LlmService from "../../src/LlmService.js"
import * as Access from "../../src/gateway/Access.js"
import * as Server from "../../src/gateway/Server.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"
import * as Router from "../../src/Router.js"
import * as Strategy from "../../src/Strategy.js"

export interface Upstream extends FakeUpstream.Options {
  readonly group?: string | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  readonly pricing?: Deployment.Deployment["pricing"] | undefined
}

export interface Setup {
  /** One upstream per deployment, named "d0", "d1", …, in the group "gpt-4o" unless given. */
  readonly upstreams?: ReadonlyArray<Upstream> | undefined
  readonly server?: Server.Options | undefined
  readonly router?: Partial<Router.Options<Deployment.Deployment<any, any>>> | undefined
  /** Access control; default: open. */
  readonly access?: Layer.Layer<Access.Access, never, LlmService.LlmService> | undefined
  readonly maxRetries?: number | undefined
  /** Where the gateway lives (default: the current scope, with the upstreams). */
  readonly gatewayScope?: Scope.Scope | undefined
}

export const start = (setup: Setup = {}) =>
  Effect.gen(function* () {
    const upstreams = yield* Effect.forEach(setup.upstreams ?? [{}], (options) => FakeUpstream.make(options))
    const deployments = upstreams.map((upstream, i) => {
      const given = setup.upstreams?.[i]
      return Deployment.make({
        name: `d${i}`,
        group: given?.group ?? "gpt-4o",
        model: "upstream-model",
        tags: given?.tags ?? [],
        pricing: given?.pricing ?? { inputPerMillion: 1, outputPerMillion: 2 },
        layer: OpenAiCompatible.layer({ baseUrl: upstream.baseUrl, provider: `fake${i}` })
      })
    })
    const router = Router.layerWithStats({ deployments, strategy: Strategy.fallback(), ...setup.router }).pipe(
      Layer.provide(FetchHttpClient.layer)
    ) as Layer.Layer<LlmService.LlmService | Router.Router, LiterLlmError.BadRequest>
    const access = setup.access ?? Access.layerOpen
    const layer = Server.layer({ port: 0, ...setup.server }).pipe(Layer.provide(access), Layer.provideMerge(router))
    const build = Layer.build(layer)
    const context = yield* setup.gatewayScope === undefined ? build : Scope.extend(build, setup.gatewayScope)
    const address = Context.get(context, Server.Listening)
    const client = new OpenAI({
      baseURL: `${address.url}/v1`,
      apiKey: "sk-gateway-test",
      maxRetries: setup.maxRetries ?? 0
    })
    return { upstreams, upstream: upstreams[0]!, url: address.url, client, context }
  })

/** A plain HTTP call to the gateway. */
export const call = (url: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    const text = await response.text()
    return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as any }
  })

/** A POST of a JSON body. */
export const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  call(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

export const chatBody = (extra: Record<string, unknown> = {}) => ({
  model: "gpt-4o",
  messages: [{ role: "user", content: "hi" }],
  ...extra
})

/** The events of an SSE text: `data` payloads as text, comment blocks as `:…`. */
export const events = (text: string): ReadonlyArray<string> =>
  text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => (block.startsWith(":") ? block.trim() : block.replace(/^data: /, "")))

/** The `data` payloads of an SSE text, comments left out. */
export const dataEvents = (text: string): ReadonlyArray<string> => events(text).filter((e) => !e.startsWith(":"))

/** The `x-ell-*` facts of a stream's comment lines (`: x-ell-cost: 0.00001100`). */
export const streamFacts = (text: string): Record<string, string> =>
  Object.fromEntries(Array.from(text.matchAll(/^: (x-ell-[a-z-]+): (.*)$/gm), (m) => [m[1]!, m[2]!]))

/**
 * A client that goes away while the upstream has not answered yet: the gateway must interrupt the upstream call.
 * Asserts the client saw its abort and the upstream its disconnect.
 */
export const leaveBeforeTheAnswer = (body: unknown) =>
  Effect.gen(function* () {
    const { url, upstream } = yield* start({ upstreams: [{ script: { hang: true } }] })
    const controller = new AbortController()
    const request = fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal
    }).catch((error: Error) => error.name)
    yield* upstream.awaitRequests(1)
    controller.abort()
    expect(yield* Effect.promise(() => request)).toBe("AbortError")
    yield* upstream.awaitDisconnects(1).pipe(Effect.timeout("5 seconds"))
    expect(yield* upstream.disconnects).toBe(1)
  })
