import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Http from "node:http"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import * as Cli from "../../src/gateway/internal/cli.js"
import * as RedisServer from "../support/redisServer.js"
import { configFile, run, spawn } from "./support/cli.js"

/** Each test starts real processes that compile the sources with tsx: slow on a busy machine. */
const slow = 400_000

const secured = (baseUrl: string) => `
router: { strategy: fallback, timeout: 10 seconds }
groups:
  gpt-4o:
    - { name: fake-1, provider: openai-compatible, model: upstream-model, baseUrl: "${baseUrl}", apiKey: env:UPSTREAM_KEY }
middleware: { rateLimit: { rpm: 600 } }
masterKey: env:ELL_MASTER_KEY
keys:
  - { name: team-a, key: env:TEAM_A_KEY, groups: [gpt-4o], rpm: 60 }
`
const env = { UPSTREAM_KEY: "sk-upstream", ELL_MASTER_KEY: "master-secret", TEAM_A_KEY: "team-a-secret" }

const get = (url: string, key?: string) =>
  Effect.promise(() => fetch(url, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } }))

/** A chat call on a connection of its own (no keep-alive), so the cluster's primary hands each to the next worker. */
const chatOnce = (url: string, key: string) =>
  Effect.async<number>((resume) => {
    const body = JSON.stringify({ model: "gpt-4o", max_tokens: 5, messages: [{ role: "user", content: "hi" }] })
    const request = Http.request(
      `${url}/v1/chat/completions`,
      {
        method: "POST",
        agent: false,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json", connection: "close" }
      },
      (response) => {
        response.resume()
        response.on("end", () => resume(Effect.succeed(response.statusCode ?? 0)))
      }
    )
    request.on("error", () => resume(Effect.succeed(-1)))
    request.end(body)
  })

describe("effect-liter-llm (CLI)", () => {
  it("parses its arguments, naming what is wrong", () => {
    expect(Cli.parseArgs(["serve", "--config", "g.yaml", "--port=0", "--workers", "2"])).toEqual({
      command: "serve",
      config: "g.yaml",
      host: undefined,
      port: 0,
      workers: 2
    })
    expect(Cli.parseArgs(["serve"])).toBe("--config FILE is required")
    expect(Cli.parseArgs(["serve", "--config", "g", "--port", "http"])).toBe(
      `--port expects a whole number from 0 to 65535, got "http"`
    )
    expect(Cli.parseArgs(["check", "--config", "g", "--port", "1"])).toBe("check takes only --config, not --port")
    expect(Cli.parseArgs(["start"])).toBe(`unknown command "start"`)
    expect(Cli.parseArgs(["serve", "--config", "g", "--verbose"])).toBe(`unknown option "--verbose"`)
  })

  it.scopedLive(
    "check: prints every problem with its path and exits 1; a good file exits 0",
    () =>
      Effect.gen(function* () {
        const bad = yield* configFile(`
groups:
  gpt-4o:
    - { name: a, provider: openai, apiKey: env:OPENAI_KEY, weight: -1 }
    - { name: a, provider: nonsense }
keys: [{ name: k, key: env:K, groups: [claude] }]
`)
        const failed = yield* run(["check", "--config", bad])
        expect(failed.code).toBe(1)
        expect(failed.stderr).toContain("groups.gpt-4o[0].apiKey: env var OPENAI_KEY is not set")
        expect(failed.stderr).toContain("groups.gpt-4o[0].weight: expected a number ≥ 0")
        expect(failed.stderr).toContain(`groups.gpt-4o[1].provider: unknown provider "nonsense"`)
        expect(failed.stderr).toContain(`groups.gpt-4o[1].name: "a" is already the name of groups.gpt-4o[0]`)
        expect(failed.stderr).toContain("keys[0].key: env var K is not set")
        expect(failed.stderr).toContain(`keys[0].groups[0]: no group is named "claude"`)
        const good = yield* configFile(secured("http://127.0.0.1:9/v1"))
        const passed = yield* run(["check", "--config", good], env)
        expect(passed).toMatchObject({ code: 0, stderr: "" })
        expect(passed.stdout).toContain("ok (1 group, 1 deployment, 1 key)")
        const usage = yield* run(["serve"])
        expect(usage.code).toBe(2)
        expect(usage.stderr).toContain("--config FILE is required")
      }),
    slow
  )

  it.scopedLive(
    "serve on port 0: prints the address, serves models and chat with keys, and exits cleanly on SIGTERM",
    () =>
      Effect.gen(function* () {
        const upstream = yield* FakeUpstream.make({ script: { reply: "hello from upstream" } })
        const file = yield* configFile(secured(upstream.baseUrl))
        const child = yield* spawn(["serve", "--config", file, "--port", "0"], env)
        const [, url] = yield* child.line(/listening on (http:\/\/127\.0\.0\.1:\d+)\n/)
        expect(child.stdout().match(/listening on/g)).toHaveLength(1)

        const models = yield* get(`${url}/v1/models`, "team-a-secret")
        expect(models.status).toBe(200)
        const list = (yield* Effect.promise(() => models.json())) as { data: Array<{ id: string }> }
        expect(list.data.map((m) => m.id)).toEqual(["gpt-4o"])
        expect((yield* get(`${url}/v1/models`, "wrong")).status).toBe(401)

        const chat = yield* Effect.promise(() =>
          fetch(`${url}/v1/chat/completions`, {
            method: "POST",
            headers: { authorization: "Bearer team-a-secret", "content-type": "application/json" },
            body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })
          })
        )
        expect(chat.status).toBe(200)
        // The file's router.timeout (10 seconds) is the most a request's x-ell-timeout may ask for.
        const raised = yield* Effect.promise(() =>
          fetch(`${url}/v1/chat/completions`, {
            method: "POST",
            headers: {
              authorization: "Bearer team-a-secret",
              "content-type": "application/json",
              "x-ell-timeout": "20 seconds"
            },
            body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })
          })
        )
        expect(raised.status).toBe(400)
        expect(((yield* Effect.promise(() => raised.json())) as { error: { param: string } }).error.param).toBe(
          "x-ell-timeout"
        )
        const answer = (yield* Effect.promise(() => chat.json())) as {
          choices: Array<{ message: { content: string } }>
        }
        expect(answer.choices[0]!.message.content).toBe("hello from upstream")
        const [sent] = yield* upstream.requests
        expect((sent!.body as { model: string }).model).toBe("upstream-model")
        expect(sent!.headers["authorization"]).toBe("Bearer sk-upstream")

        expect((yield* get(`${url}/metrics`)).status).toBe(401)
        expect((yield* get(`${url}/metrics`, "team-a-secret")).status).toBe(403)
        const metrics = yield* get(`${url}/metrics`, "master-secret")
        const text = yield* Effect.promise(() => metrics.text())
        expect(text).toContain(
          `gen_ai_client_requests_total{gen_ai_operation_name="chat",gen_ai_request_model="upstream-model",deployment="fake-1"`
        )
        expect(text).toContain(`ell_router_circuit_state{deployment="fake-1",state="closed"} 1`)

        child.process.kill("SIGTERM")
        expect(yield* child.exited).toBe(0)
        expect(child.stdout() + child.stderr()).not.toMatch(/master-secret|team-a-secret|sk-upstream/)
      }),
    slow
  )

  it.scopedLive(
    "without a masterKey or keys it binds 127.0.0.1 only, and says so",
    () =>
      Effect.gen(function* () {
        const upstream = yield* FakeUpstream.make()
        const file = yield* configFile(
          `groups: { m: [{ name: d, provider: openai-compatible, baseUrl: "${upstream.baseUrl}" }] }`
        )
        const child = yield* spawn(["serve", "--config", file, "--port", "0", "--host", "0.0.0.0"])
        const [, url] = yield* child.line(/listening on (http:\/\/[^\s]+)\n/)
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        expect(child.stderr()).toContain("binding 127.0.0.1 only (not 0.0.0.0)")
        expect((yield* get(`${url}/v1/models`)).status).toBe(200)
        child.process.kill("SIGTERM")
        expect(yield* child.exited).toBe(0)
      }),
    slow
  )

  it.scopedLive(
    "--workers 2 with redis: a virtual key's budget holds across the workers",
    () =>
      Effect.gen(function* () {
        const redis = yield* RedisServer.start()
        // Every call costs $1: 5 + 5 tokens at $0.10 a token. The key may spend $3.
        const upstream = yield* FakeUpstream.make({ script: { usage: { promptTokens: 5, completionTokens: 5 } } })
        const file = yield* configFile(`
groups:
  gpt-4o:
    - name: fake-1
      provider: openai-compatible
      baseUrl: "${upstream.baseUrl}"
      pricing: { inputPerMillion: 100000, outputPerMillion: 100000 }
masterKey: env:ELL_MASTER_KEY
keys:
  - { name: team-a, key: env:TEAM_A_KEY, budget: 3 }
redis: { url: env:REDIS_URL, prefix: "ell-test:", timeout: 2 seconds }
`)
        const child = yield* spawn(["serve", "--config", file, "--port", "0", "--workers", "2"], {
          ...env,
          REDIS_URL: Redacted.value(redis.url)
        })
        const [, url] = yield* child.line(/listening on (http:\/\/127\.0\.0\.1:\d+)\n/, 300)
        const statuses: Array<number> = []
        for (let i = 0; i < 8; i++) statuses.push(yield* chatOnce(url!, "team-a-secret"))
        // Each worker alone would have let $3 through: six calls over two workers taking turns.
        expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429])
        expect(yield* upstream.requests).toHaveLength(3)
        child.process.kill("SIGTERM")
        expect(yield* child.exited).toBe(0)
        expect(child.stdout().match(/listening on/g)).toHaveLength(1)
      }),
    slow
  )
})
