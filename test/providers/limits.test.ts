/**
 * Upstream bodies are bounded: a successful JSON body past `maxBodySize`, one server-sent event past `maxEventSize`,
 * or an error body past the error-body cap stops the read at once — the loopback server sees its connection closed
 * long before it sent what it meant to — and the failure is typed and not transient, so a router does not fail over.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as NodeHttp from "node:http"
import type * as Chat from "../../src/Chat.js"
import * as Deployment from "../../src/Deployment.js"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import * as Http from "../../src/internal/http.js"
import * as LiterLlmError from "../../src/LiterLlmError.js"
import * as LlmService from "../../src/LlmService.js"
import * as Anthropic from "../../src/providers/Anthropic.js"
import * as Gemini from "../../src/providers/Gemini.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"
import * as Provider from "../../src/providers/Provider.js"
import * as Router from "../../src/Router.js"
import * as Strategy from "../../src/Strategy.js"

const MiB = 1024 * 1024
/** What the server would send: far more than any cap under test. */
const wouldSend = 64 * MiB
const cap = 1 * MiB
/** Below the parser's 1 MiB default, so the tests prove the option reaches every provider. */
const eventCap = 256 * 1024

const request: Chat.ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "hi" }] }

interface Served {
  /** Bytes written before the response ended or the client went away. */
  readonly sent: number
  /** The client closed the connection before the whole body was written. */
  readonly early: boolean
}

interface BigReply {
  readonly status?: number
  readonly contentType: string
  /** Written first, then filler up to {@link wouldSend}. */
  readonly prefix: string
  /** Announce the full size in content-length (otherwise chunked). */
  readonly declare?: boolean
}

/**
 * A loopback server answering every request with a huge body, written with backpressure so that what it "sent" is
 * what the client actually took; `served` waits for the end of the next response.
 */
const bigServer = (reply: BigReply) =>
  Effect.gen(function* () {
    const done: Array<Served> = []
    const waiters: Array<(served: Served) => void> = []
    const finish = (served: Served) => {
      const waiter = waiters.shift()
      if (waiter === undefined) done.push(served)
      else waiter(served)
    }
    const filler = Buffer.alloc(64 * 1024, "a")
    const server = yield* Effect.acquireRelease(
      Effect.async<NodeHttp.Server>((resume) => {
        const server = NodeHttp.createServer((req, res) => {
          req.resume()
          res.writeHead(reply.status ?? 200, {
            "content-type": reply.contentType,
            ...(reply.declare === true ? { "content-length": String(wouldSend) } : {})
          })
          let sent = 0
          let over = false
          const end = (early: boolean) => {
            if (over) return
            over = true
            finish({ sent, early })
          }
          res.on("close", () => end(!res.writableFinished))
          const pump = () => {
            while (sent < wouldSend) {
              const chunk =
                sent === 0 ? Buffer.from(reply.prefix) : filler.subarray(0, Math.min(filler.length, wouldSend - sent))
              sent += chunk.length
              if (!res.write(chunk)) {
                res.once("drain", pump)
                return
              }
            }
            res.end()
          }
          pump()
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.sync(() => {
          server.closeAllConnections()
          server.close()
        })
    )
    const port = (server.address() as { readonly port: number }).port
    const served = Effect.async<Served>((resume) => {
      const ready = done.shift()
      if (ready !== undefined) resume(Effect.succeed(ready))
      else waiters.push((s) => resume(Effect.succeed(s)))
    })
    return { url: `http://127.0.0.1:${port}`, served }
  })

const apiKey = Redacted.make("sk-limits-0123456789")

type Make = (url: string) => Effect.Effect<LlmService.Service, LiterLlmError.LiterLlmError, HttpClient.HttpClient>

const openai: Make = (url) =>
  OpenAiCompatible.make({ baseUrl: `${url}/v1`, apiKey, provider: "big", maxBodySize: cap, maxEventSize: eventCap })
const anthropic: Make = (url) => Anthropic.make({ baseUrl: url, apiKey, maxBodySize: cap, maxEventSize: eventCap })
const registry: Make = (url) =>
  Provider.make("groq/llama-3.1-8b-instant", { baseUrl: `${url}/v1`, apiKey, maxBodySize: cap })
const gemini: Make = (url) => Gemini.make({ baseUrl: url, apiKey, maxBodySize: cap, maxEventSize: eventCap })

const jsonPrefix =
  '{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"'
const ssePrefix = 'data: {"choices":[{"index":0,"delta":{"content":"'

/** Runs `call` against a server sending `reply`, and checks the failure and the early close. */
const expectCut = (
  reply: BigReply,
  make: Make,
  call: (service: LlmService.Service) => Effect.Effect<unknown, LiterLlmError.LiterLlmError>,
  tag: LiterLlmError.LiterLlmError["_tag"]
) =>
  Effect.gen(function* () {
    const server = yield* bigServer(reply)
    const service = yield* Effect.provide(make(server.url), FetchHttpClient.layer)
    const error = yield* Effect.flip(call(service))
    const served = yield* server.served
    expect(error._tag).toBe(tag)
    expect(served.early).toBe(true)
    // the client stopped within a few socket buffers of the cap, not at the 64 MiB the server had
    expect(served.sent).toBeLessThan(wouldSend / 4)
    return error
  })

type Call = (service: LlmService.Service) => Effect.Effect<unknown, LiterLlmError.LiterLlmError>

const chat: Call = (service) => service.chat(request)
const stream: Call = (service) => Stream.runDrain(service.chatStream(request))
const embed: Call = (service) => service.embed({ model: "e", input: "x" })

describe("successful bodies past maxBodySize", () => {
  const cases: ReadonlyArray<readonly [string, Make, Call]> = [
    ["openai chat", openai, chat],
    ["openai embeddings", openai, embed],
    ["anthropic chat", anthropic, chat],
    ["gemini chat", gemini, chat],
    ["gemini embeddings", gemini, embed],
    ["Provider.make (groq)", registry, chat]
  ]
  for (const [name, make, call] of cases) {
    it.scoped(`${name}: a chunked body fails while reading, as non-transient Serialization`, () =>
      Effect.gen(function* () {
        const error = yield* expectCut(
          { contentType: "application/json", prefix: jsonPrefix },
          make,
          call,
          "Serialization"
        )
        expect(LiterLlmError.isTransient(error)).toBe(false)
        expect(error.message).toContain(`maxBodySize (${cap} bytes)`)
      })
    )
  }

  it.scoped("a content-length over the cap fails at the first chunk, naming the declared size", () =>
    Effect.gen(function* () {
      const error = yield* expectCut(
        { contentType: "application/json", prefix: jsonPrefix, declare: true },
        openai,
        chat,
        "Serialization"
      )
      expect(error.message).toContain(`declared ${wouldSend} bytes`)
    })
  )
})

describe("one server-sent event past maxEventSize", () => {
  for (const [name, make] of [
    ["openai", openai],
    ["anthropic", anthropic],
    ["gemini", gemini]
  ] as const) {
    it.scoped(`${name}: the stream fails while reading, as non-transient Streaming`, () =>
      Effect.gen(function* () {
        const error = yield* expectCut(
          { contentType: "text/event-stream", prefix: ssePrefix },
          make,
          stream,
          "Streaming"
        )
        expect(LiterLlmError.isTransient(error)).toBe(false)
        expect(error.message).toContain(`exceeded ${eventCap} characters`)
      })
    )
  }
})

describe("error bodies", () => {
  for (const [name, make, call] of [
    ["openai chat", openai, chat],
    ["openai stream", openai, stream],
    ["anthropic chat", anthropic, chat],
    ["gemini embeddings", gemini, embed],
    ["Provider.make (groq)", registry, chat]
  ] as const) {
    it.scoped(`${name}: a huge error body is read only up to its cap; the status decides the error`, () =>
      Effect.gen(function* () {
        const error = yield* expectCut(
          { status: 500, contentType: "application/json", prefix: '{"error":{"message":"' },
          make,
          call,
          "ServerError"
        )
        expect(error.message.length).toBeLessThan(2000)
      })
    )
  }
})

describe("options", () => {
  it.effect("a maxBodySize or maxEventSize that is not a whole number ≥ 1 fails the layer, naming the option", () =>
    Effect.gen(function* () {
      for (const options of [
        { maxBodySize: 0 },
        { maxBodySize: Number.NaN },
        { maxEventSize: -1 },
        { maxEventSize: 1.5 }
      ]) {
        const error = yield* Effect.flip(
          Effect.provide(OpenAiCompatible.make({ baseUrl: "http://127.0.0.1:1/v1", ...options }), FetchHttpClient.layer)
        )
        expect(error._tag).toBe("BadRequest")
        expect(error.message).toContain(Object.keys(options)[0])
      }
    })
  )
})

describe("layerConfig", () => {
  it.effect("OpenAiCompatible.layerConfig passes the caps on (a bad one fails the layer)", () =>
    Effect.gen(function* () {
      const layer = OpenAiCompatible.layerConfig({ baseUrl: Config.succeed("http://127.0.0.1:1/v1"), maxBodySize: -5 })
      const error = yield* Effect.flip(Layer.build(layer.pipe(Layer.provide(FetchHttpClient.layer))))
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toContain("maxBodySize")
    }).pipe(Effect.scoped)
  )
})

describe("the router", () => {
  const routerOver = (bigUrl: string, healthyUrl: string) => {
    const deployment = (name: string, baseUrl: string) =>
      Deployment.make({
        name,
        layer: OpenAiCompatible.layer({
          baseUrl,
          apiKey,
          provider: name,
          maxBodySize: cap,
          maxEventSize: eventCap
        }).pipe(Layer.provide(FetchHttpClient.layer))
      })
    return Router.layer({
      deployments: [deployment("big", `${bigUrl}/v1`), deployment("healthy", healthyUrl)],
      strategy: Strategy.fallback()
    })
  }

  it.scoped("does not fail over a body past the cap: the error comes back unchanged, the next deployment is idle", () =>
    Effect.gen(function* () {
      const big = yield* bigServer({ contentType: "application/json", prefix: jsonPrefix })
      const healthy = yield* FakeUpstream.make()
      const error = yield* Effect.flip(Effect.provide(LlmService.chat(request), routerOver(big.url, healthy.baseUrl)))
      expect(error._tag).toBe("Serialization")
      expect(error.message).toContain("maxBodySize")
      expect((yield* big.served).early).toBe(true)
      expect(yield* healthy.requests).toHaveLength(0)
    })
  )

  it.scoped("does not fail over a stream whose first event is past the cap", () =>
    Effect.gen(function* () {
      const big = yield* bigServer({ contentType: "text/event-stream", prefix: ssePrefix })
      const healthy = yield* FakeUpstream.make()
      const error = yield* Effect.flip(
        Effect.provide(Stream.runDrain(LlmService.chatStream(request)), routerOver(big.url, healthy.baseUrl))
      )
      expect(error._tag).toBe("Streaming")
      expect(error.message).toContain(`exceeded ${eventCap} characters`)
      expect((yield* big.served).early).toBe(true)
      expect(yield* healthy.requests).toHaveLength(0)
    })
  )
})

describe("defaults", () => {
  it.effect("an endpoint reads at most 64 MiB of a successful body unless told otherwise", () =>
    Effect.gen(function* () {
      const endpoint = yield* Http.makeEndpoint({ provider: "p", baseUrl: "http://127.0.0.1:1/v1" })
      expect(endpoint.maxBodySize).toBe(64 * MiB)
      expect(Http.defaultMaxBodySize).toBe(64 * MiB)
    })
  )
})
