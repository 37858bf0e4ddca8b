/**
 * The deployments the demo routes over. Each fleet is a list of `Deployment`s — a name, a layer providing
 * `LlmService`, and the metadata strategies read (pricing, weight, priority).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import { Deployment, LlmService, LlmTest, OpenAiCompatible, Pricing, Provider } from "../../src/index.js"

/** A fleet: what the header says about it, its deployments, and router settings scaled to its latencies. */
export interface Fleet<R = never> {
  readonly title: string
  readonly notes: ReadonlyArray<string>
  /** Starts whatever the deployments need (servers, for the loopback fleet) for the life of the scope. */
  readonly deployments: Effect.Effect<ReadonlyArray<Deployment.Deployment<unknown, R>>, unknown, Scope.Scope>
  /** Per-call timeout and circuit cooldown, in proportion to the fleet's latencies. */
  readonly router: {
    readonly timeout: Duration.DurationInput
    readonly cooldown: Duration.DurationInput
  }
}

/**
 * A middleware of the kind users write: wraps a deployment and waits a random extra delay (up to `spread`) before
 * each chat call, because real deployments are never perfectly steady. It draws from Effect's `Random`, so a seeded
 * run is reproducible.
 */
const withJitter =
  (spread: Duration.DurationInput) =>
  (deployment: Layer.Layer<LlmService.LlmService>): Layer.Layer<LlmService.LlmService> => {
    const maxMillis = Duration.toMillis(spread)
    return Layer.effect(
      LlmService.LlmService,
      Effect.map(LlmService.LlmService, (service) => ({
        ...service,
        chat: (request) =>
          Random.next.pipe(
            // Squaring skews the delay towards zero with a long tail, as real latencies are.
            Effect.flatMap((r) => Effect.sleep(Duration.millis(Math.round(r * r * maxMillis)))),
            Effect.zipRight(service.chat(request))
          )
      }))
    ).pipe(Layer.provide(deployment))
  }

/** Completion length every simulated deployment reports, so cost differences come from prices alone. */
const completionTokens = 250

/**
 * Four simulated deployments (`LlmTest` layers) with different speed, price and reliability. Their latencies are
 * `Effect.sleep`s, so they run in whatever time the `Clock` says — simulated time in the demo and its test.
 */
export const simulated: Fleet = {
  title: "4 simulated deployments (LlmTest layers)",
  notes: [
    "fast     ~250 ms (+ up to 400 ms)  $2.50 / $10.00 per 1M tokens  fails 1%",
    "cheap    ~700 ms (+ up to 800 ms)  $0.15 / $0.60                  fails 2%   weight 3",
    "slow     ~1.5 s  (+ up to 2 s)     $0.60 / $0.80                  never fails",
    "flaky    ~300 ms (+ up to 300 ms)  $0.05 / $0.08                  fails 25%  priority first"
  ],
  router: { timeout: "10 seconds", cooldown: "5 seconds" },
  deployments: Effect.sync(() => [
    Deployment.make({
      name: "fast",
      model: "fast",
      priority: 1,
      pricing: { inputPerMillion: 2.5, outputPerMillion: 10 },
      layer: LlmTest.layer({
        model: "fast",
        latency: "250 millis",
        failureRate: 0.01,
        usage: { completion_tokens: completionTokens }
      }).pipe(withJitter("400 millis"))
    }),
    Deployment.make({
      name: "cheap",
      model: "cheap",
      priority: 2,
      weight: 3,
      pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
      layer: LlmTest.layer({
        model: "cheap",
        latency: "700 millis",
        failureRate: 0.02,
        usage: { completion_tokens: completionTokens }
      }).pipe(withJitter("800 millis"))
    }),
    Deployment.make({
      name: "slow",
      model: "slow",
      priority: 3,
      pricing: { inputPerMillion: 0.6, outputPerMillion: 0.8 },
      layer: LlmTest.layer({
        model: "slow",
        latency: "1500 millis",
        usage: { completion_tokens: completionTokens }
      }).pipe(withJitter("2 seconds"))
    }),
    Deployment.make({
      name: "flaky",
      model: "flaky",
      priority: 0,
      pricing: { inputPerMillion: 0.05, outputPerMillion: 0.08 },
      layer: LlmTest.layer({
        model: "flaky",
        latency: "300 millis",
        failureRate: 0.25,
        usage: { completion_tokens: completionTokens }
      }).pipe(withJitter("300 millis"))
    })
  ])
}

/**
 * The same four deployments as real HTTP servers on 127.0.0.1 (`FakeUpstream`), reached through
 * `OpenAiCompatible` over Node's HTTP client: every request is serialized, sent, parsed and decoded. Latencies are
 * ten times shorter than the simulated fleet's so the run takes seconds of real time (times `latencyScale`). Failures and jitter follow
 * each server's request count, so they are the same from run to run (the timing of real sockets is not).
 */
export const loopback = (latencyScale = 1): Fleet<HttpClient.HttpClient> => ({
  title: "4 HTTP servers on loopback (FakeUpstream), called with OpenAiCompatible over NodeHttpClient",
  notes: [
    "fast     ~25 ms (+ up to 40 ms)    $2.50 / $10.00 per 1M tokens  fails 1% (HTTP 500)",
    "cheap    ~70 ms (+ up to 80 ms)    $0.15 / $0.60                  fails 2% (HTTP 503)   weight 3",
    "slow     ~150 ms (+ up to 200 ms)  $0.60 / $0.80                  never fails",
    "flaky    ~30 ms (+ up to 30 ms)    $0.05 / $0.08                  fails 25% (HTTP 503)  priority first"
  ],
  router: { timeout: "1 second", cooldown: "500 millis" },
  deployments: Effect.gen(function* () {
    const server = (name: string, profile: ServerProfile) =>
      Effect.map(
        FakeUpstream.make({ script: (request) => scriptFor(name, profile, request.index, latencyScale) }),
        (upstream) => OpenAiCompatible.layer({ baseUrl: upstream.baseUrl, provider: name, model: name })
      )
    return [
      Deployment.make({
        name: "fast",
        priority: 1,
        pricing: { inputPerMillion: 2.5, outputPerMillion: 10 },
        layer: yield* server("fast", { latency: 25, spread: 40, failEvery: 100, status: 500 })
      }),
      Deployment.make({
        name: "cheap",
        priority: 2,
        weight: 3,
        pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
        layer: yield* server("cheap", { latency: 70, spread: 80, failEvery: 50, status: 503 })
      }),
      Deployment.make({
        name: "slow",
        priority: 3,
        pricing: { inputPerMillion: 0.6, outputPerMillion: 0.8 },
        layer: yield* server("slow", { latency: 150, spread: 200 })
      }),
      Deployment.make({
        name: "flaky",
        priority: 0,
        pricing: { inputPerMillion: 0.05, outputPerMillion: 0.08 },
        layer: yield* server("flaky", { latency: 30, spread: 30, failEvery: 4, status: 503 })
      })
    ]
  })
})

/** How one loopback server behaves: latency in ms plus up to `spread` ms, and every `failEvery`-th call fails. */
interface ServerProfile {
  readonly latency: number
  readonly spread: number
  readonly failEvery?: number
  readonly status?: number
}

/**
 * The script of a server's `index`-th request: jitter from a hash of the index, so runs repeat exactly. Latencies
 * are multiplied by `scale` (0 in the tests, which must not wait for real).
 */
const scriptFor = (name: string, profile: ServerProfile, index: number, scale: number): FakeUpstream.Script => {
  const r = unitHash(index)
  const millis = Math.round(scale * (profile.latency + r * r * profile.spread))
  const latency = millis > 0 ? millis : undefined
  const fails = profile.failEvery !== undefined && index % profile.failEvery === profile.failEvery - 1
  return fails
    ? { status: profile.status ?? 503, latency }
    : { model: name, latency, usage: { completionTokens: completionTokens } }
}

/** A number in [0, 1) that looks random but depends only on `n`. */
const unitHash = (n: number): number => {
  let h = Math.imul(n + 0x9e3779b9, 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296
}

/** Two models of one provider for `--live`, picked by the first API key found in the environment. */
export const livePresets: ReadonlyArray<{ readonly env: string; readonly models: ReadonlyArray<string> }> = [
  { env: "GROQ_API_KEY", models: ["groq/llama-3.1-8b-instant", "groq/llama-3.3-70b-versatile"] },
  { env: "OPENAI_API_KEY", models: ["openai/gpt-4.1-nano", "openai/gpt-4o-mini"] },
  { env: "GEMINI_API_KEY", models: ["gemini/gemini-2.0-flash-lite", "gemini/gemini-2.0-flash"] },
  { env: "ANTHROPIC_API_KEY", models: ["anthropic/claude-3-5-haiku-latest", "anthropic/claude-haiku-4-5"] }
]

/**
 * Real provider deployments, one per `"provider/model"` name, through the provider registry: base URL and key
 * variable come from `Provider`, prices from `Pricing.lookup` (genai-prices data bundled with the package).
 */
export const live = (models: ReadonlyArray<string>): Fleet<HttpClient.HttpClient> => ({
  title: `${models.length} real deployments: ${models.join(", ")}`,
  notes: models.map((model) => {
    const price = Option.getOrUndefined(Pricing.lookup(model))
    return `${model}  ${
      price === undefined ? "price unknown" : `$${price.inputPerMillion} / $${price.outputPerMillion} per 1M tokens`
    }`
  }),
  router: { timeout: "30 seconds", cooldown: "10 seconds" },
  deployments: Effect.succeed(
    models.map((model) =>
      Deployment.make({
        name: model,
        model,
        pricing: Option.getOrUndefined(Pricing.lookup(model)),
        layer: Provider.layer(model, { timeout: "30 seconds" })
      })
    )
  )
})
