/** The gateway driven by the official `openai` SDK, unchanged: what any OpenAI client sees. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import OpenAI from "openai"
import * as Access from "../../src/gateway/Access.js"
import * as LlmService from "../../src/LlmService.js"
import { start } from "./serverKit.js"

const messages = [{ role: "user" as const, content: "hi" }]

/** Keys: "sk-team" may use gpt-4o only; its service is the router behind a wrapper, as key middleware would be. */
const keyed = Layer.effect(
  Access.Access,
  Effect.map(LlmService.LlmService, (router): Access.Service => ({
    authenticate: (authorization) =>
      Access.bearerToken(authorization) === "sk-team"
        ? Effect.succeed({ name: "team", groups: ["gpt-4o"] })
        : Effect.fail(Access.unauthorized("the API key is not known to the gateway")),
    serviceFor: (caller, model) =>
      caller.groups?.includes(model)
        ? Effect.succeed({ ...router, chat: (request) => Effect.suspend(() => router.chat(request)) })
        : Effect.fail(Access.forbidden(`key "${caller.name}" may not use model "${model}"`))
  }))
)

const rejects = <A>(promise: () => Promise<A>) =>
  Effect.flip(Effect.tryPromise({ try: promise, catch: (error) => error }))

describe("gateway with the openai SDK", () => {
  it.live("chat, with the route headers on the raw response", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { client } = yield* start({ upstreams: [{ script: { reply: "Hello from the gateway" } }] })
        const { data, response } = yield* Effect.promise(() =>
          client.chat.completions.create({ model: "gpt-4o", messages }).withResponse()
        )
        expect(data.choices[0]!.message.content).toBe("Hello from the gateway")
        expect(data.usage?.total_tokens).toBeGreaterThan(0)
        expect(response.headers.get("x-ell-deployment")).toBe("d0")
      })
    )
  )

  it.live("stream, with usage in the last chunk", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { client } = yield* start({ upstreams: [{ script: { reply: "streamed words", chunks: 4 } }] })
        const { text, usage } = yield* Effect.promise(async () => {
          const stream = await client.chat.completions.create({
            model: "gpt-4o",
            messages,
            stream: true,
            stream_options: { include_usage: true }
          })
          let text = ""
          let usage: OpenAI.CompletionUsage | null | undefined
          for await (const chunk of stream) {
            text += chunk.choices[0]?.delta?.content ?? ""
            usage = chunk.usage ?? usage
          }
          return { text, usage }
        })
        expect(text).toBe("streamed words")
        expect(usage?.completion_tokens).toBeGreaterThan(0)
      })
    )
  )

  it.live("tools: the request's tools reach the upstream and its tool calls come back", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { client, upstream } = yield* start({
          upstreams: [{ script: { toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' }] } }]
        })
        const tools: Array<OpenAI.ChatCompletionTool> = [
          {
            type: "function",
            function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }
          }
        ]
        const completion = yield* Effect.promise(() =>
          client.chat.completions.create({ model: "gpt-4o", messages, tools, tool_choice: "auto" })
        )
        const call = completion.choices[0]!.message.tool_calls![0]!
        expect(call.type).toBe("function")
        expect(call.type === "function" && call.function.name).toBe("get_weather")
        expect(call.type === "function" && JSON.parse(call.function.arguments)).toEqual({ city: "Oslo" })
        const [received] = yield* upstream.requests
        expect((received!.body as { tools: unknown }).tools).toEqual(tools)
      })
    )
  )

  it.live("embeddings and models", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { client } = yield* start({ upstreams: [{ script: { dimensions: 4 } }, { group: "embedder" }] })
        const embeddings = yield* Effect.promise(() =>
          client.embeddings.create({ model: "gpt-4o", input: ["one", "two"] })
        )
        expect(embeddings.data).toHaveLength(2)
        expect(embeddings.data[0]!.embedding).toHaveLength(4)
        const models = yield* Effect.promise(async () => {
          const ids: Array<string> = []
          for await (const model of client.models.list()) ids.push(model.id)
          return ids
        })
        expect(models).toEqual(["gpt-4o", "embedder"])
      })
    )
  )

  it.live("AuthenticationError for an unknown key, PermissionDeniedError for a model outside the key's groups", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url, client } = yield* start({ access: keyed, upstreams: [{}, { group: "claude" }] })
        const anonymous = yield* rejects(() => client.chat.completions.create({ model: "gpt-4o", messages }))
        expect(anonymous).toBeInstanceOf(OpenAI.AuthenticationError)
        expect((anonymous as InstanceType<typeof OpenAI.APIError>).message).toContain("not known")
        const team = new OpenAI({ baseURL: `${url}/v1`, apiKey: "sk-team", maxRetries: 0 })
        const denied = yield* rejects(() => team.chat.completions.create({ model: "claude", messages }))
        expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError)
        const { data, response } = yield* Effect.promise(() =>
          team.chat.completions.create({ model: "gpt-4o", messages }).withResponse()
        )
        expect(data.choices[0]!.message.content).toBe("ok")
        // The route is reported through the key's wrapper around the router.
        expect(response.headers.get("x-ell-deployment")).toBe("d0")
        const models = yield* Effect.promise(() => team.models.list())
        expect(models.data.map((m) => m.id)).toEqual(["gpt-4o"])
      })
    )
  )

  it.live("BadRequestError names the field as param, and the SDK does not retry it", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { client, upstream } = yield* start({ maxRetries: 2 })
        const error = yield* rejects(() =>
          client.chat.completions.create({ model: "gpt-4o", messages, max_tokens: -1 })
        )
        expect(error).toBeInstanceOf(OpenAI.BadRequestError)
        expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("max_tokens")
        expect((error as InstanceType<typeof OpenAI.BadRequestError>).type).toBe("invalid_request_error")
        expect(yield* upstream.requests).toHaveLength(0)
      })
    )
  )

  it.live("routing headers above the router's own limits are a BadRequestError naming the header", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const limits = { maxAttempts: 2, timeout: "2 seconds" as const }
        const { client, upstream } = yield* start({ router: limits, server: { routingLimits: limits } })
        const ask = (headers: Record<string, string>) => () =>
          client.chat.completions.create({ model: "gpt-4o", messages }, { headers })
        for (const [header, value, most] of [
          ["x-ell-max-attempts", "3", "at most 2"],
          ["x-ell-timeout", "2001", "at most 2s"],
          ["x-ell-timeout", "1 minute", "at most 2s"]
        ] as const) {
          const error = yield* rejects(ask({ [header]: value }))
          expect(error).toBeInstanceOf(OpenAI.BadRequestError)
          expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(header)
          expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain(most)
        }
        expect(yield* upstream.requests).toHaveLength(0)
        // At the limits, or below them, the headers steer as before.
        yield* Effect.promise(ask({ "x-ell-max-attempts": "2", "x-ell-timeout": "2 seconds" }))
        yield* Effect.promise(ask({ "x-ell-max-attempts": "1", "x-ell-timeout": "500" }))
        expect(yield* upstream.requests).toHaveLength(2)
      })
    )
  )

  it.live("RateLimitError carries retry-after; the SDK's own retries wait that long and then succeed", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const limited = { status: 429, headers: { "retry-after-ms": "30" } }
        const { client, upstream } = yield* start({
          upstreams: [{ scripts: [limited, limited] }],
          router: { circuit: false }
        })
        const error = yield* rejects(() => client.chat.completions.create({ model: "gpt-4o", messages }))
        expect(error).toBeInstanceOf(OpenAI.RateLimitError)
        expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get("retry-after-ms")).toBe("30")
        const patient = client.withOptions({ maxRetries: 2 })
        const started = Date.now()
        const completion = yield* Effect.promise(() => patient.chat.completions.create({ model: "gpt-4o", messages }))
        expect(completion.choices[0]!.message.content).toBe("ok")
        expect(Date.now() - started).toBeGreaterThanOrEqual(30)
        expect(yield* upstream.requests).toHaveLength(3)
      })
    )
  )

  it.live("a stream that breaks after its first chunk raises the SDK's APIError, after the text so far", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { client } = yield* start({ upstreams: [{ script: { reply: "abcdef", chunks: 3, dropAfter: 2 } }] })
        const { text, error } = yield* Effect.promise(async () => {
          let text = ""
          try {
            const stream = await client.chat.completions.create({ model: "gpt-4o", messages, stream: true })
            for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ""
            return { text, error: undefined }
          } catch (error) {
            return { text, error }
          }
        })
        expect(text.length).toBeGreaterThan(0)
        expect(text.length).toBeLessThan(6)
        expect(error).toBeInstanceOf(OpenAI.APIError)
        expect((error as InstanceType<typeof OpenAI.APIError>).type).toBe("server_error")
      })
    )
  )

  it.live("an aborted stream: the upstream sees the client go away", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { client, upstream } = yield* start({
          upstreams: [{ script: { reply: "a long answer", chunks: 5, stallAfter: 2 } }]
        })
        const controller = new AbortController()
        const received = yield* Effect.promise(async () => {
          const stream = await client.chat.completions.create(
            { model: "gpt-4o", messages, stream: true },
            { signal: controller.signal }
          )
          let seen = 0
          try {
            for await (const _ of stream) {
              seen++
              if (seen === 1) controller.abort()
            }
          } catch (error) {
            if (!(error instanceof OpenAI.APIUserAbortError) && (error as Error).name !== "AbortError") throw error
          }
          return seen
        })
        expect(received).toBe(1)
        yield* upstream.awaitDisconnects(1).pipe(Effect.timeout("5 seconds"))
        expect(yield* upstream.disconnects).toBe(1)
      })
    )
  )
})
