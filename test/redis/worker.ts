/**
 * One router process of `processes.test.ts`: run as `node --import tsx test/redis/worker.ts`, it reads commands as
 * JSON lines on stdin and answers each with one JSON line on stdout.
 *
 * - `{ op: "setup", config }` builds (again) a client: a router over the test's loopback upstream, with the
 *   middleware the config names, every store on the Redis the config names (`Redis.layer`).
 * - `{ op: "chat", n, concurrency, maxTokens? }` sends `n` chat requests, `concurrency` at a time, and tallies how
 *   they ended: answered (by reply text, which names the deployment) or failed (by error tag).
 * - `{ op: "stats" }`: `Router.stats`; `{ op: "spend" }`: `Budget.spend`.
 *
 * Building once per test rather than spawning a process per test keeps the file's wall time down: starting Node with
 * tsx costs seconds on a shared machine.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Readline from "node:readline"
import * as Budget from "../../src/Budget.js"
import type * as Chat from "../../src/Chat.js"
import * as Deployment from "../../src/Deployment.js"
import * as LlmClient from "../../src/LlmClient.js"
import * as LlmService from "../../src/LlmService.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"
import * as Router from "../../src/Router.js"
import * as Strategy from "../../src/Strategy.js"
import { Redis } from "../../src/redis/index.js"

/** What a test asks a worker to build. */
export interface Config {
  readonly redisUrl: string
  readonly prefix: string
  readonly timeout?: Duration.DurationInput
  /** The upstream's base URL; a deployment named `d` calls `${upstream}/d/v1`. */
  readonly upstream: string
  readonly deployments: ReadonlyArray<string>
  readonly strategy: "fallback" | "latency"
  readonly circuit?: { readonly failures: number; readonly cooldown: Duration.DurationInput }
  readonly rateLimit?: { readonly rpm?: number; readonly tpm?: number }
  readonly budget?: { readonly globalLimit: number; readonly enforcement?: "hard" | "soft" }
  readonly cache?: { readonly ttl: Duration.DurationInput }
}

/** Prices every deployment charges (USD per million tokens): a call of 10 + 10 tokens costs $0.1. */
const pricing = { inputPerMillion: 5_000, outputPerMillion: 5_000 }

const build = (config: Config) => {
  const router = Router.layerWithStats({
    deployments: config.deployments.map((name) =>
      Deployment.make({
        name,
        model: "test-model",
        pricing,
        layer: OpenAiCompatible.layer({ baseUrl: `${config.upstream}/${name}/v1` })
      })
    ),
    strategy: config.strategy === "latency" ? Strategy.latencyBased() : Strategy.fallback(),
    circuit: config.circuit ?? false
  })
  const client = LlmClient.layer({
    layer: router,
    rateLimit: config.rateLimit,
    budget: config.budget === undefined ? undefined : { ...config.budget, prices: { "test-model": pricing } },
    cache: config.cache
  })
  const redis = Redis.layer({
    url: Redacted.make(config.redisUrl),
    prefix: config.prefix,
    timeout: config.timeout ?? "1 second"
  })
  return client.pipe(
    Layer.provide(redis),
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
  )
}

type Runtime = ManagedRuntime.ManagedRuntime<LlmService.LlmService | Router.Router, unknown>

const chat = (n: number, concurrency: number, maxTokens: number | undefined) =>
  Effect.gen(function* () {
    const service = yield* LlmService.LlmService
    const request: Chat.ChatCompletionRequest = {
      model: "test-model",
      messages: [{ role: "user", content: "hello" }],
      ...(maxTokens === undefined ? {} : { max_tokens: maxTokens })
    }
    const tally: Record<string, number> = {}
    const count = (key: string) => void (tally[key] = (tally[key] ?? 0) + 1)
    yield* Effect.forEach(
      Array.from({ length: n }),
      () =>
        Effect.match(service.chat(request), {
          onFailure: (error) => count(`error:${error._tag}`),
          onSuccess: (response) => count(`reply:${String(response.choices[0]?.message.content)}`)
        }),
      { concurrency, discard: true }
    )
    return tally
  })

const handle = async (
  runtime: Runtime | undefined,
  command: Record<string, any>
): Promise<[Runtime | undefined, unknown]> => {
  switch (command.op) {
    case "setup": {
      if (runtime !== undefined) await runtime.dispose()
      const next: Runtime = ManagedRuntime.make(build(command.config as Config) as Layer.Layer<any, any>)
      await next.runPromise(Effect.void)
      return [next, { ok: true }]
    }
    case "chat":
      return [runtime, await runtime!.runPromise(chat(command.n, command.concurrency, command.maxTokens))]
    case "stats":
      return [runtime, await runtime!.runPromise(Router.stats)]
    case "spend":
      return [
        runtime,
        await runtime!.runPromise(
          Effect.map(
            Effect.serviceOption(Budget.Budget),
            Option.map((b) => b.spend)
          ).pipe(Effect.flatMap(Option.getOrElse(() => Effect.succeed(undefined)))) as Effect.Effect<unknown>
        )
      ]
    default:
      return [runtime, { error: `unknown op ${String(command.op)}` }]
  }
}

const main = async () => {
  let runtime: Runtime | undefined
  const lines = Readline.createInterface({ input: process.stdin })
  process.stdout.write(JSON.stringify({ ready: true }) + "\n")
  for await (const line of lines) {
    if (line.trim() === "") continue
    const command = JSON.parse(line) as Record<string, any>
    try {
      const [next, result] = await handle(runtime, command)
      runtime = next
      process.stdout.write(JSON.stringify({ id: command.id, result }) + "\n")
    } catch (error) {
      process.stdout.write(JSON.stringify({ id: command.id, error: String(error) }) + "\n")
    }
  }
  if (runtime !== undefined) await runtime.dispose()
}

void main()
