import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Config from "../../src/gateway/Config.js"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromJson(env))

const problemsOf = (text: string, env: Record<string, string> = {}, format?: "json") =>
  Config.parse(text, { format }).pipe(
    Effect.flip,
    Effect.map((error) => error.problems),
    withEnv(env)
  )

const good = `
router:
  strategy: latency
  timeout: 30 seconds
  fallbacks: { gpt-4o: [claude-sonnet] }
groups:
  gpt-4o:
    - name: openai-eu
      provider: openai
      model: gpt-4o-2024-11-20
      baseUrl: http://127.0.0.1:8081/v1
      apiKey: env:OPENAI_API_KEY
      weight: 2
  claude-sonnet:
    - { name: anthropic-1, provider: anthropic, model: claude-sonnet-4-5, apiKey: env:ANTHROPIC_API_KEY }
middleware: { cache: { capacity: 1000, ttl: 5 minutes }, budget: { globalLimit: 100 }, rateLimit: { rpm: 600 } }
masterKey: env:ELL_MASTER_KEY
keys:
  - { name: team-a, key: env:TEAM_A_KEY, groups: [gpt-4o], rpm: 60, tpm: 100000, budget: 10, expires: 2027-01-01 }
redis: { url: env:REDIS_URL, prefix: "ell:" }
`
const env = {
  OPENAI_API_KEY: "sk-openai",
  ANTHROPIC_API_KEY: "sk-ant",
  ELL_MASTER_KEY: "master",
  TEAM_A_KEY: "team-a-secret",
  REDIS_URL: "redis://127.0.0.1:6379"
}

describe("Config", () => {
  it.effect("decodes the documented example: secrets as Redacted, durations, dates", () =>
    Effect.gen(function* () {
      const config = yield* Config.parse(good).pipe(withEnv(env))
      const deployment = config.groups["gpt-4o"]![0]
      expect(deployment.name).toBe("openai-eu")
      expect(Redacted.value(deployment.apiKey!)).toBe("sk-openai")
      expect(Duration.toMillis(config.router!.timeout!)).toBe(30_000)
      expect(Duration.toMillis((config.middleware!.cache as { ttl: Duration.Duration }).ttl)).toBe(300_000)
      expect(config.keys![0]!.expires!.toISOString()).toBe("2027-01-01T00:00:00.000Z")
      expect(Redacted.value(config.masterKey!)).toBe("master")
      expect(Redacted.value(config.redis!.url)).toBe("redis://127.0.0.1:6379")
      expect(String(config.keys![0]!.key)).not.toContain("team-a-secret")
    })
  )

  it.effect("server.publicMetrics is a boolean (default: /metrics for the master key only)", () =>
    Effect.gen(function* () {
      const open = yield* Config.parse(`${good}server: { publicMetrics: true }\n`).pipe(withEnv(env))
      expect(open.server?.publicMetrics).toBe(true)
      expect((yield* Config.parse(good).pipe(withEnv(env))).server?.publicMetrics).toBeUndefined()
      const problems = yield* problemsOf(`${good}server: { publicMetrics: "yes" }\n`, env)
      expect(problems.some((p) => p.startsWith("server.publicMetrics:"))).toBe(true)
    })
  )

  it.effect("a missing env var is a problem at its path", () =>
    Effect.gen(function* () {
      const { OPENAI_API_KEY: _, ...rest } = env
      const problems = yield* problemsOf(good.replace("env:OPENAI_API_KEY", "env:OPENAI_KEY"), rest)
      expect(problems).toEqual(["groups.gpt-4o[0].apiKey: env var OPENAI_KEY is not set"])
    })
  )

  it.effect("reports every problem at once, each with its path, never echoing an inline secret", () =>
    Effect.gen(function* () {
      const bad = `
router: { strategy: fastest, fallbacks: { gpt-4o: [claude] } }
groups:
  gpt-4o:
    - { name: a, provider: openai, apiKey: env:MISSING, weight: -1, ratelimit: 3 }
  other:
    - { name: a, provider: anthropic, apiKey: sk-live-inline-secret }
middleware: { cache: { ttl: soon }, rateLimit: { rpm: 0 } }
keys:
  - { name: t, key: env:T, groups: [nope], expires: tomorrow }
  - { name: t, key: env:T }
`
      const problems = yield* problemsOf(bad, { T: "x" })
      const expected = [
        "router.strategy:",
        'router.fallbacks.gpt-4o[0]: no group is named "claude"',
        "groups.gpt-4o[0].ratelimit: is unexpected",
        "groups.gpt-4o[0].apiKey: env var MISSING is not set",
        "groups.gpt-4o[0].weight: expected a number ≥ 0",
        "groups.other[0].apiKey: expected an env:NAME reference",
        'groups.other[0].name: "a" is already the name of groups.gpt-4o[0]',
        "middleware.cache.ttl: expected a duration",
        "middleware.rateLimit.rpm: expected a number ≥ 1",
        "keys[0].expires: expected a date",
        'keys[0].groups[0]: no group is named "nope"',
        'keys[1].name: "t" is already the name of keys[0]'
      ]
      for (const start of expected)
        expect(
          problems.some((p) => p.startsWith(start)),
          start
        ).toBe(true)
      expect(problems.join("\n")).not.toContain("sk-live-inline-secret")
    })
  )

  it.effect("a blank env var counts as unset", () =>
    Effect.gen(function* () {
      const problems = yield* problemsOf(good, { ...env, TEAM_A_KEY: "  " })
      expect(problems).toEqual(["keys[0].key: env var TEAM_A_KEY is empty"])
    })
  )

  it.effect("JSON of the same shape decodes; a syntax error names the format", () =>
    Effect.gen(function* () {
      const json = JSON.stringify({
        groups: { m: [{ name: "d", provider: "openai-compatible", baseUrl: "http://x/v1" }] }
      })
      const config = yield* Config.parse(json, { format: "json" })
      expect(config.groups["m"]![0].provider).toBe("openai-compatible")
      const problems = yield* problemsOf("{ groups: ", {}, "json")
      expect(problems[0]).toMatch(/^not valid JSON: /)
    })
  )

  it.effect("groups are required and may not be empty", () =>
    Effect.gen(function* () {
      expect(yield* problemsOf("router: { strategy: fallback }")).toEqual(["groups: is missing"])
      expect(yield* problemsOf("groups: {}")).toEqual(["groups: expected at least one group"])
    })
  )

  it.effect("load reads a file by its extension, and a missing file is a ConfigError", () =>
    Effect.gen(function* () {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "ell-config-"))
      const file = Path.join(dir, "gateway.yaml")
      Fs.writeFileSync(file, "groups:\n  m:\n    - { name: d, provider: ollama }\n")
      const config = yield* Config.load(file)
      expect(Object.keys(config.groups)).toEqual(["m"])
      const error = yield* Effect.flip(Config.load(Path.join(dir, "absent.yaml")))
      expect(error._tag).toBe("ConfigError")
      expect(error.problems[0]).toMatch(/^cannot read the file/)
      Fs.rmSync(dir, { recursive: true, force: true })
    })
  )
})
