import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Access from "../../src/gateway/Access.js"
import * as Keys from "../../src/gateway/internal/keys.js"
import * as LlmService from "../../src/LlmService.js"
import { call, chatBody, post, start } from "./serverKit.js"

/** The gateway's own keys: a master key and a team key. */
const keyed = Layer.scoped(
  Access.Access,
  Effect.flatMap(LlmService.LlmService, (service) =>
    Keys.make({
      service,
      masterKey: Redacted.make("sk-master"),
      keys: [{ name: "team-a", key: Redacted.make("sk-team") }]
    })
  ).pipe(Effect.orDie)
)

describe("gateway server", () => {
  it.live("answers a chat completion through the router, passing unknown fields upstream", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url, upstream } = yield* start({ upstreams: [{ script: { reply: "hello" } }] })
        const res = yield* post(`${url}/v1/chat/completions`, chatBody({ my_field: { nested: [1, 2] }, top_k: 3 }))
        expect(res.status).toBe(200)
        expect(res.json().choices[0].message.content).toBe("hello")
        expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{24}$/)
        expect(res.headers.get("x-ell-deployment")).toBe("d0")
        expect(res.headers.get("x-ell-attempts")).toBe("1")
        expect(Number(res.headers.get("x-ell-cost"))).toBeGreaterThan(0)
        const [received] = yield* upstream.requests
        expect(received!.body).toMatchObject({ model: "upstream-model", my_field: { nested: [1, 2] }, top_k: 3 })
      })
    )
  )

  it.live("echoes the client's x-request-id, also on errors", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start()
        const ok = yield* post(`${url}/v1/chat/completions`, chatBody(), { "x-request-id": "abc-123" })
        expect(ok.headers.get("x-request-id")).toBe("abc-123")
        const bad = yield* post(`${url}/v1/chat/completions`, "{", { "x-request-id": "abc-456" })
        expect(bad.status).toBe(400)
        expect(bad.headers.get("x-request-id")).toBe("abc-456")
      })
    )
  )

  it.live("malformed JSON and non-object bodies are 400s that say what is wrong", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url, upstream } = yield* start()
        const broken = yield* post(`${url}/v1/chat/completions`, '{"model": "gpt-4o",')
        expect(broken.status).toBe(400)
        expect(broken.json().error.message).toMatch(/not valid JSON/)
        expect(broken.json().error.type).toBe("invalid_request_error")
        const array = yield* post(`${url}/v1/chat/completions`, "[1]")
        expect(array.json().error.message).toMatch(/must be a JSON object, got an array/)
        const empty = yield* post(`${url}/v1/embeddings`, "")
        expect(empty.json().error.message).toMatch(/empty/)
        const noMessages = yield* post(`${url}/v1/chat/completions`, { model: "gpt-4o" })
        expect(noMessages.status).toBe(400)
        expect(noMessages.json().error.param).toBe("messages")
        expect(yield* upstream.requests).toHaveLength(0)
      })
    )
  )

  it.live("a body over the cap is a 413, by declared length or while streaming in", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url, upstream } = yield* start({ server: { maxBodySize: 1000 } })
        const declared = yield* post(`${url}/v1/chat/completions`, chatBody({ pad: "x".repeat(2000) }))
        expect(declared.status).toBe(413)
        expect(declared.json().error.code).toBe("request_too_large")
        const chunked = yield* Effect.async<number>((resume) => {
          const req = Http.request(`${url}/v1/chat/completions`, { method: "POST" }, (res) => {
            res.resume()
            resume(Effect.succeed(res.statusCode ?? 0))
          })
          req.on("error", () => undefined)
          for (let i = 0; i < 20; i++) req.write("x".repeat(100))
          req.end()
        })
        expect(chunked).toBe(413)
        const fits = yield* post(`${url}/v1/chat/completions`, chatBody({ pad: "x".repeat(500) }))
        expect(fits.status).toBe(200)
        expect(yield* upstream.requests).toHaveLength(1)
      })
    )
  )

  it.live("lists the router's groups as models", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start({ upstreams: [{}, { group: "claude" }, {}] })
        const res = yield* call(`${url}/v1/models`)
        expect(res.status).toBe(200)
        expect(res.json().data.map((m: { id: string }) => m.id)).toEqual(["gpt-4o", "claude"])
      })
    )
  )

  it.live("health: liveliness always, readiness 503 once a group has no available deployment", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start({
          upstreams: [{ script: { status: 503 } }, { group: "claude" }],
          router: { circuit: { failures: 1, cooldown: "1 minute" } }
        })
        expect((yield* call(`${url}/health/liveliness`)).status).toBe(200)
        const before = yield* call(`${url}/health/readiness`)
        expect(before.status).toBe(200)
        expect(before.json().groups).toEqual({ "gpt-4o": true, claude: true })
        const failed = yield* post(`${url}/v1/chat/completions`, chatBody())
        expect(failed.status).toBe(503)
        const after = yield* call(`${url}/health/readiness`)
        expect(after.status).toBe(503)
        expect(after.json().groups).toEqual({ "gpt-4o": false, claude: true })
      })
    )
  )

  it.live("metrics: the option's text as Prometheus exposition; 404 without it; unknown routes 404", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* start({ server: { metrics: Effect.succeed("ell_requests_total 3\n") } })
        const res = yield* call(`${url}/metrics`)
        expect(res.status).toBe(200)
        expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4")
        expect(res.text).toBe("ell_requests_total 3\n")
        const unknown = yield* call(`${url}/v1/nothing`)
        expect(unknown.status).toBe(404)
        expect(unknown.json().error.type).toBe("not_found_error")
        const { url: bare } = yield* start()
        expect((yield* call(`${bare}/metrics`)).status).toBe(404)
      })
    )
  )

  it.live("with keys, /metrics takes the master key (401 without a key, 403 for a team key); health stays open", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const metrics = Effect.succeed("ell_requests_total 3\n")
        const { url } = yield* start({ access: keyed, server: { metrics } })
        const as = (key?: string) =>
          call(`${url}/metrics`, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } })
        const anonymous = yield* as()
        expect([anonymous.status, anonymous.json().error.type]).toEqual([401, "authentication_error"])
        const team = yield* as("sk-team")
        expect([team.status, team.json().error.type]).toEqual([403, "permission_denied_error"])
        expect(team.json().error.message).toContain("master key")
        expect(team.text).not.toContain("sk-team")
        const master = yield* as("sk-master")
        expect([master.status, master.text]).toEqual([200, "ell_requests_total 3\n"])
        expect((yield* call(`${url}/health/liveliness`)).status).toBe(200)
        // readiness answers everyone, but names the groups only to a caller who may read /metrics
        const ready = (base: string, key?: string) =>
          call(`${base}/health/readiness`, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } })
        const strangers = yield* ready(url)
        expect([strangers.status, strangers.json()]).toEqual([200, { status: "ready" }])
        expect((yield* ready(url, "sk-team")).json()).toEqual({ status: "ready" })
        const admin = (yield* ready(url, "sk-master")).json()
        expect([admin.status, Object.keys(admin.groups).length > 0, typeof admin.failovers]).toEqual([
          "ready",
          true,
          "number"
        ])
        const { url: open } = yield* start({ access: keyed, server: { metrics, publicMetrics: true } })
        expect((yield* call(`${open}/metrics`)).status).toBe(200)
        expect(Object.keys((yield* ready(open)).json())).toEqual(["status", "groups", "failovers"])
      })
    )
  )

  it.live("routing headers steer the router; bad values are 400s naming the header", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url, upstreams } = yield* start({
          upstreams: [{ script: { status: 503 } }, { tags: ["eu"], script: { reply: "eu" } }],
          router: { circuit: false }
        })
        const failover = yield* post(`${url}/v1/chat/completions`, chatBody())
        expect(failover.status).toBe(200)
        expect(failover.headers.get("x-ell-attempts")).toBe("2")
        expect(failover.headers.get("x-ell-deployment")).toBe("d1")
        const capped = yield* post(`${url}/v1/chat/completions`, chatBody(), { "x-ell-max-attempts": "1" })
        expect(capped.status).toBe(503)
        const tagged = yield* post(`${url}/v1/chat/completions`, chatBody(), { "x-ell-tags": "eu" })
        expect(tagged.headers.get("x-ell-attempts")).toBe("1")
        expect(tagged.json().choices[0].message.content).toBe("eu")
        expect((yield* upstreams[0]!.requests).length).toBe(2)
        for (const [name, value] of [
          ["x-ell-max-attempts", "0"],
          ["x-ell-timeout", "soon"],
          ["x-ell-tags", "eu,,us"]
        ] as const) {
          const bad = yield* post(`${url}/v1/chat/completions`, chatBody(), { [name]: value })
          expect(bad.status).toBe(400)
          expect(bad.json().error.param).toBe(name)
          expect(bad.json().error.message).toContain(name)
        }
      })
    )
  )

  describe("shutdown", () => {
    /** Polls until a new connection is refused (the server stopped accepting), at most 100 tries. */
    const refused = (url: string) =>
      Effect.gen(function* () {
        for (let i = 0; i < 100; i++) {
          const attempt = yield* Effect.either(Effect.tryPromise(() => fetch(`${url}/health/liveliness`)))
          if (Either.isLeft(attempt)) return true
          yield* Effect.sleep("20 millis")
        }
        return false
      })

    it.live("stops accepting, and lets an in-flight request finish", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const gatewayScope = yield* Scope.make()
          const { url, upstream } = yield* start({
            upstreams: [{ script: { reply: "finished", latency: "500 millis" } }],
            server: { shutdownTimeout: "10 seconds" },
            gatewayScope
          })
          const inFlight = yield* Effect.fork(post(`${url}/v1/chat/completions`, chatBody()))
          yield* upstream.awaitRequests(1)
          const closing = yield* Effect.fork(Scope.close(gatewayScope, Exit.void))
          expect(yield* refused(url)).toBe(true)
          const res = yield* Fiber.join(inFlight)
          expect(res.status).toBe(200)
          expect(res.json().choices[0].message.content).toBe("finished")
          yield* Fiber.join(closing)
          expect(yield* upstream.disconnects).toBe(0)
        })
      )
    )

    it.live("drops what is still running after shutdownTimeout, interrupting the upstream call", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const gatewayScope = yield* Scope.make()
          const { url, upstream } = yield* start({
            upstreams: [{ script: { hang: true } }],
            server: { shutdownTimeout: "200 millis" },
            gatewayScope
          })
          const inFlight = yield* Effect.fork(Effect.exit(post(`${url}/v1/chat/completions`, chatBody())))
          yield* upstream.awaitRequests(1)
          yield* Scope.close(gatewayScope, Exit.void).pipe(Effect.timeout("5 seconds"))
          expect(Exit.isFailure(yield* Fiber.join(inFlight))).toBe(true)
          yield* upstream.awaitDisconnects(1).pipe(Effect.timeout("5 seconds"))
          expect(yield* upstream.disconnects).toBe(1)
        })
      )
    )
  })
})
