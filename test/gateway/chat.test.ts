import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Access from "../../src/gateway/Access.js"
import * as Server from "../../src/gateway/Server.js"
import * as LlmTest from "../../src/LlmTest.js"
import { chatBody, leaveBeforeTheAnswer, post, start } from "./serverKit.js"

describe("gateway requests", () => {
  it.live("a model the router does not serve is a 404 naming the groups it has", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start()
        const res = yield* post(`${url}/v1/chat/completions`, chatBody({ model: "gpt-5" }))
        expect(res.status).toBe(404)
        expect(res.json().error.param).toBe("model")
        expect(res.json().error.message).toContain("gpt-4o")
        expect(res.headers.get("x-should-retry")).toBe("false")
      })
    )
  )

  it.live("embeddings: the input is checked and named as param; good requests pass unknown fields on", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url, upstream } = yield* start()
        const bad = yield* post(`${url}/v1/embeddings`, { model: "gpt-4o", input: 42 })
        expect(bad.status).toBe(400)
        expect(bad.json().error.param).toBe("input")
        const ok = yield* post(`${url}/v1/embeddings`, { model: "gpt-4o", input: "hello", custom: true })
        expect(ok.status).toBe(200)
        expect(ok.json().data).toHaveLength(1)
        const [received] = yield* upstream.requests
        expect(received!.url).toBe("/v1/embeddings")
        expect(received!.body).toMatchObject({ input: "hello", custom: true })
      })
    )
  )

  it.live("a client that leaves during a JSON chat interrupts the upstream call", () =>
    Effect.scoped(leaveBeforeTheAnswer(chatBody()))
  )

  it.live("the path without /v1 works too, as some clients drop it", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start()
        expect((yield* post(`${url}/chat/completions`, chatBody())).status).toBe(200)
      })
    )
  )

  it.effect("options out of range fail the layer with a BadRequest naming the option", () =>
    Effect.gen(function* () {
      const build = (options: Server.Options) =>
        Effect.exit(
          Layer.build(
            Server.layer({ port: 0, ...options }).pipe(Layer.provide(Access.layerOpen), Layer.provide(LlmTest.layer()))
          ).pipe(Effect.scoped)
        )
      for (const [options, name] of [
        [{ maxBodySize: 0 }, "maxBodySize"],
        [{ port: 70000 }, "port"],
        [{ heartbeat: "soon" as never }, "heartbeat"],
        [{ shutdownTimeout: -1 }, "shutdownTimeout"],
        [{ routingLimits: { maxAttempts: 0 } }, "maxAttempts"],
        [{ routingLimits: { timeout: "soon" as never } }, "routingLimits.timeout"]
      ] as const) {
        const exit = yield* build(options)
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain(name)
      }
    })
  )
})
