import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { chatBody, dataEvents, events, leaveBeforeTheAnswer, post, start, streamFacts } from "./serverKit.js"

const streamBody = chatBody({ stream: true })

describe("gateway streams", () => {
  it.live("streams chunks as SSE, ending with [DONE], with the route in the headers", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start({ upstreams: [{ script: { reply: "abcdef", chunks: 3 } }] })
        const res = yield* post(`${url}/v1/chat/completions`, streamBody)
        expect(res.status).toBe(200)
        expect(res.headers.get("content-type")).toContain("text/event-stream")
        expect(res.headers.get("x-ell-deployment")).toBe("d0")
        const list = dataEvents(res.text)
        expect(list.at(-1)).toBe("[DONE]")
        const text = list
          .slice(0, -1)
          .map((e) => JSON.parse(e).choices[0]?.delta?.content ?? "")
          .join("")
        expect(text).toBe("abcdef")
        // The provider asked upstream for a usage chunk; the client did not, so it does not get one.
        expect(list.slice(0, -1).every((e) => JSON.parse(e).choices.length > 0)).toBe(true)
      })
    )
  )

  it.live("routing headers steer a stream as they steer a JSON answer", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url, upstreams } = yield* start({
          upstreams: [{ script: { status: 503 } }, { tags: ["eu"], script: { reply: "eu" } }],
          router: { circuit: false }
        })
        const capped = yield* post(`${url}/v1/chat/completions`, streamBody, { "x-ell-max-attempts": "1" })
        expect(capped.status).toBe(503)
        const tagged = yield* post(`${url}/v1/chat/completions`, streamBody, { "x-ell-tags": "eu" })
        expect(tagged.status).toBe(200)
        expect([tagged.headers.get("x-ell-deployment"), tagged.headers.get("x-ell-attempts")]).toEqual(["d1", "1"])
        expect(events(tagged.text).at(-1)).toBe("[DONE]")
        expect((yield* upstreams[0]!.requests).length).toBe(1) // only the capped request reached the first
      })
    )
  )

  it.live("fails over before the first chunk: the client sees one clean 200 stream", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start({
          upstreams: [{ script: { status: 503 } }, { script: { reply: "second" } }],
          router: { circuit: false }
        })
        const res = yield* post(`${url}/v1/chat/completions`, streamBody)
        expect(res.status).toBe(200)
        expect(res.headers.get("x-ell-deployment")).toBe("d1")
        expect(res.headers.get("x-ell-attempts")).toBe("2")
        expect(events(res.text).at(-1)).toBe("[DONE]")
        expect(streamFacts(res.text)).toMatchObject({ "x-ell-deployment": "d1", "x-ell-attempts": "2" })
      })
    )
  )

  it.live("a failure before the first chunk is an error status with retry-after, not a 200", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start({ upstreams: [{ script: { status: 429, headers: { "retry-after": "7" } } }] })
        const res = yield* post(`${url}/v1/chat/completions`, streamBody)
        expect(res.status).toBe(429)
        expect(res.headers.get("retry-after")).toBe("7")
        expect(res.headers.get("retry-after-ms")).toBe("7000")
        expect(res.json().error.type).toBe("rate_limit_error")
      })
    )
  )

  it.live("a failure after the first chunk is one error event, and no [DONE]", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start({ upstreams: [{ script: { reply: "abcdef", chunks: 3, dropAfter: 2 } }] })
        const res = yield* post(`${url}/v1/chat/completions`, streamBody)
        expect(res.status).toBe(200)
        const list = events(res.text)
        expect(list).not.toContain("[DONE]")
        const last = JSON.parse(list.at(-1)!)
        expect(last.error.message).toBeTypeOf("string")
        expect(last.error.type).toBe("server_error")
        expect(JSON.parse(list[0]!).choices).toBeDefined()
        // The route is known (the first chunk came), the cost is not (the usage never did).
        expect(list.at(-2)).toBe(": x-ell-deployment: d0\n: x-ell-attempts: 1\n: x-ell-group: gpt-4o")
      })
    )
  )

  it.live("sends : ping comments while the first chunk is slow, then the stream", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start({
          upstreams: [{ script: { reply: "late", firstChunkDelay: "600 millis" } }],
          server: { heartbeat: "100 millis" }
        })
        const res = yield* post(`${url}/v1/chat/completions`, streamBody)
        expect(res.status).toBe(200)
        const list = events(res.text)
        const pings = list.filter((e) => e === ": ping").length
        expect(pings).toBeGreaterThanOrEqual(2)
        expect(list[0]).toBe(": ping")
        expect(list.at(-1)).toBe("[DONE]")
        const firstData = list.findIndex((e) => !e.startsWith(":"))
        expect(firstData).toBeGreaterThan(0)
        expect(list.slice(firstData).some((e) => e === ": ping")).toBe(false)
      })
    )
  )

  it.live("the route and the cost close the stream as comment lines before [DONE]; the openai SDK skips them", () =>
    Effect.scoped(
      Effect.gen(function* () {
        // 1,000 prompt + 500 completion tokens at $1 / $2 per million: $0.002.
        const { url, client } = yield* start({
          upstreams: [{ script: { reply: "abcdef", chunks: 3, usage: { promptTokens: 1000, completionTokens: 500 } } }]
        })
        const res = yield* post(`${url}/v1/chat/completions`, streamBody)
        expect(res.headers.get("x-ell-cost")).toBeNull()
        const list = events(res.text)
        expect(list.at(-1)).toBe("[DONE]")
        expect(list.at(-2)).toBe(
          ": x-ell-deployment: d0\n: x-ell-attempts: 1\n: x-ell-group: gpt-4o\n: x-ell-cost: 0.00200000"
        )
        const text = yield* Effect.promise(async () => {
          const stream = await client.chat.completions.create({
            model: "gpt-4o",
            messages: [{ role: "user", content: "hi" }],
            stream: true
          })
          let text = ""
          for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ""
          return text
        })
        expect(text).toBe("abcdef")
      })
    )
  )

  it.live("a stream that started with pings has no route headers, and gets its route in the closing comments", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start({
          upstreams: [
            { script: { status: 503 } },
            {
              script: { reply: "late", firstChunkDelay: "400 millis", usage: { promptTokens: 10, completionTokens: 5 } }
            }
          ],
          server: { heartbeat: "100 millis" },
          router: { circuit: false }
        })
        const res = yield* post(`${url}/v1/chat/completions`, streamBody)
        expect(res.status).toBe(200)
        expect(res.headers.get("x-ell-deployment")).toBeNull()
        expect(events(res.text)[0]).toBe(": ping")
        expect(streamFacts(res.text)).toEqual({
          "x-ell-deployment": "d1",
          "x-ell-attempts": "2",
          "x-ell-group": "gpt-4o",
          "x-ell-cost": "0.00002000"
        })
      })
    )
  )

  it.live("a stream that fails after the pings started ends with an error event, and no route facts", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start({
          upstreams: [{ script: { status: 500, latency: "500 millis" } }],
          server: { heartbeat: "100 millis" },
          router: { circuit: false }
        })
        const res = yield* post(`${url}/v1/chat/completions`, streamBody)
        expect(res.status).toBe(200)
        const list = events(res.text)
        expect(list[0]).toBe(": ping")
        expect(list).not.toContain("[DONE]")
        expect(JSON.parse(list.at(-1)!).error.code).toBe("all_deployments_failed")
        expect(streamFacts(res.text)).toEqual({})
      })
    )
  )

  it.live("a client that disconnects mid-stream interrupts the upstream call", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url, upstream } = yield* start({
          upstreams: [{ script: { reply: "abcdef", chunks: 3, stallAfter: 1 } }]
        })
        const controller = new AbortController()
        const firstEvent = yield* Effect.promise(async () => {
          const res = await fetch(`${url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(streamBody),
            signal: controller.signal
          })
          const reader = res.body!.getReader()
          const { value } = await reader.read()
          controller.abort()
          return new TextDecoder().decode(value)
        })
        expect(firstEvent).toContain("data: ")
        yield* upstream.awaitDisconnects(1).pipe(Effect.timeout("5 seconds"))
        expect(yield* upstream.disconnects).toBe(1)
      })
    )
  )

  it.live("a client that leaves before the first chunk also interrupts the upstream call", () =>
    Effect.scoped(leaveBeforeTheAnswer(streamBody))
  )
})
