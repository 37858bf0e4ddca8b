/**
 * The gateway's other endpoints, driven by the official `openai` SDK unchanged (and plain HTTP for rerank, which the
 * SDK has no method for): images, moderations, speech streamed back, transcriptions uploaded as multipart, rerank in
 * Cohere's shape; failover for each through the router; limits and errors as OpenAI's error bodies.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import OpenAI, { toFile } from "openai"
import * as Deployment from "../../src/Deployment.js"
import * as Access from "../../src/gateway/Access.js"
import * as Server from "../../src/gateway/Server.js"
import * as LiterLlmError from "../../src/LiterLlmError.js"
import type * as LlmService from "../../src/LlmService.js"
import * as LlmTest from "../../src/LlmTest.js"
import * as Router from "../../src/Router.js"
import * as Strategy from "../../src/Strategy.js"
import { post } from "./serverKit.js"

const unavailable = new LiterLlmError.ServiceUnavailable({ provider: "test" })

/** A gateway over a router whose first deployment is down: every call below fails over to the second. */
const start = (
  options: {
    readonly maxFileSize?: number
    readonly first?: LlmTest.Options
    readonly second?: LlmTest.Options
  } = {}
) =>
  Effect.gen(function* () {
    const router = Router.layerWithStats({
      deployments: [
        Deployment.make({ name: "down", layer: LlmTest.layer(options.first ?? { fail: unavailable }) }),
        Deployment.make({
          name: "up",
          layer: LlmTest.layer({
            reply: "hello there",
            flagged: ["hate"],
            audio: new Uint8Array([1, 2, 3, 4]),
            ...options.second
          })
        })
      ],
      strategy: Strategy.fallback()
    }) as Layer.Layer<LlmService.LlmService | Router.Router, LiterLlmError.BadRequest>
    const layer = Server.layer({ port: 0, maxFileSize: options.maxFileSize }).pipe(
      Layer.provide(Access.layerOpen),
      Layer.provideMerge(router)
    )
    const context = yield* Layer.build(layer)
    const { url } = Context.get(context, Server.Listening)
    return { url, client: new OpenAI({ baseURL: `${url}/v1`, apiKey: "sk-gateway-test", maxRetries: 0 }) }
  })

describe("gateway: the other operations", () => {
  it.live("images and moderations through the SDK, failed over, with route headers", () =>
    Effect.gen(function* () {
      const { client } = yield* start()
      const image = yield* Effect.promise(() =>
        client.images.generate({ model: "dall-e-3", prompt: "a fox", n: 2 }).withResponse()
      )
      expect(image.data.data).toHaveLength(2)
      expect(image.response.headers.get("x-ell-deployment")).toBe("up")
      expect(image.response.headers.get("x-ell-attempts")).toBe("2")
      const moderation = yield* Effect.promise(() =>
        client.moderations.create({ model: "omni-moderation-latest", input: ["fine", "I hate this"] })
      )
      expect(moderation.results.map((r) => r.flagged)).toEqual([false, true])
    }).pipe(Effect.scoped)
  )

  it.live("speech: the audio bytes stream back with their content type", () =>
    Effect.gen(function* () {
      const { client } = yield* start()
      const response = yield* Effect.promise(() =>
        client.audio.speech.create({ model: "tts-1", input: "hello", voice: "alloy" })
      )
      expect(response.headers.get("content-type")).toBe("audio/mpeg")
      const bytes = new Uint8Array(yield* Effect.promise(() => response.arrayBuffer()))
      expect([...bytes]).toEqual([1, 2, 3, 4])
    }).pipe(Effect.scoped)
  )

  it.live("transcriptions: the SDK's multipart upload reaches the deployment whole; text formats answer text", () =>
    Effect.gen(function* () {
      const { client } = yield* start()
      const audio = new Uint8Array(32000).fill(5)
      const { data: json, response } = yield* Effect.promise(() =>
        toFile(audio, "talk.wav", { type: "audio/wav" }).then((file) =>
          client.audio.transcriptions.create({ model: "whisper-1", file, language: "en" }).withResponse()
        )
      )
      expect(json.text).toBe("hello there")
      // LlmTest reports the bytes it read as duration (16000 bytes a second): the whole upload arrived
      expect((json as unknown as { duration: number }).duration).toBe(2)
      // and the route's cost is those 2 seconds at whisper-1's $0.36 an hour
      expect(response.headers.get("x-ell-cost")).toBe(((0.36 * 2) / 3600).toFixed(8))
      const text = yield* Effect.promise(() =>
        toFile(audio, "talk.wav").then((file) =>
          client.audio.transcriptions.create({ model: "whisper-1", file, response_format: "text" })
        )
      )
      expect(text).toBe("hello there")
    }).pipe(Effect.scoped)
  )

  it.live("transcriptions: an upload over maxFileSize is a 413; a form without a file a 400 naming it", () =>
    Effect.gen(function* () {
      const { client } = yield* start({ maxFileSize: 1000 })
      const error = yield* Effect.promise(() =>
        toFile(new Uint8Array(5000), "big.wav").then((file) =>
          client.audio.transcriptions.create({ model: "whisper-1", file }).then(
            () => undefined,
            (e: unknown) => e
          )
        )
      )
      expect(error).toBeInstanceOf(OpenAI.APIError)
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(413)
    }).pipe(Effect.scoped)
  )

  it.live("rerank in Cohere's shape, and bad input as a 400 naming the field", () =>
    Effect.gen(function* () {
      const { url } = yield* start()
      const ok = yield* post(`${url}/v1/rerank`, {
        model: "rerank-v3.5",
        query: "french city",
        documents: ["berlin", "a french city"],
        top_n: 1
      })
      expect(ok.status).toBe(200)
      expect(ok.json().results).toEqual([{ index: 1, relevance_score: 1 }])
      const bad = yield* post(`${url}/v1/rerank`, { model: "rerank-v3.5", query: "q", documents: [] })
      expect(bad.status).toBe(400)
      expect(bad.json().error.message).toContain("documents:")
    }).pipe(Effect.scoped)
  )

  it.live("an operation no deployment can do is a 400 naming it, not a 404 from upstream", () =>
    Effect.gen(function* () {
      const { url } = yield* start({ first: { operations: ["chat"] }, second: { operations: ["chat"] } })
      const answer = yield* post(`${url}/v1/rerank`, { model: "m", query: "q", documents: ["a"] })
      expect(answer.status).toBe(400)
      expect(answer.json().error.message).toContain(`"rerank"`)
    }).pipe(Effect.scoped)
  )
})
