/**
 * What sharing the router's state through Redis costs, in one run: one process on the memory store, one on the Redis
 * store, two on the Redis store (sharing it, on the same deployment names), each a router of two deployments
 * (latency-based, circuit on) over our OpenAI-compatible client to a loopback upstream in its own process, and one
 * redis-server started here (no persistence).
 *
 * - The store's cost per routed call in CPU time, in this process, over instant `LlmTest` deployments.
 * - p50 of a routed request, one in flight, Redis vs memory, in wall time. Target (issue 14): ≤ 0.3 ms added.
 * - Throughput with 32 in flight for one second: one process on Redis vs memory (information), and two processes on
 *   Redis together vs one (target: ≥ 1.5×). Figures are µs per request (the inverse of requests per second).
 *
 * The router processes stay up across rounds (warm JIT, warm connection pools, as in an application); each round
 * asks each configuration in turn, so slow stretches of a shared machine hit all of them alike.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { type ChildProcess, spawn } from "node:child_process"
import * as Net from "node:net"
import { performance } from "node:perf_hooks"
import * as Readline from "node:readline"
import { fileURLToPath } from "node:url"
import type * as Chat from "../src/Chat.js"
import type * as LlmServiceTypes from "../src/LlmService.js"
import { compiled, Lib } from "./library.js"
import { type Arm, compare, median, perOp, rounds } from "./measure.js"
import { type Row, setting, table } from "./report.js"
import { start } from "./upstream.js"

const { Deployment, LlmService, LlmTest, OpenAiCompatible, Router, Strategy } = Lib

type RedisModule = typeof import("../src/redis/index.js")
const loadRedis = async (): Promise<RedisModule> =>
  (await import(
    process.env.BENCH_LIBRARY === undefined
      ? new URL("../src/redis/index.ts", import.meta.url).href
      : new URL("./redis/index.js", process.env.BENCH_LIBRARY).href
  )) as RedisModule

const SEQUENTIAL = 300
const CONCURRENCY = 32
const LOAD_MILLIS = 1_000

const request: Chat.ChatCompletionRequest = {
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Describe a fox in one sentence." }],
  max_tokens: 64
}

// ---------------------------------------------------------------------------------------------------------------
// A router process: `--worker memory|redis <upstream> <redisUrl>`; commands on stdin, one answer line each.

const worker = async (store: string, upstream: string, redisUrl: string) => {
  const { Redis } = await loadRedis()
  const deployment = (name: string) =>
    Deployment.make({
      name,
      layer: OpenAiCompatible.layer({ baseUrl: upstream, apiKey: Redacted.make("sk-bench"), provider: name })
    })
  const router = Router.layer({ deployments: [deployment("a"), deployment("b")], strategy: Strategy.latencyBased() })
  const stores =
    store === "redis" ? Layer.provide(router, Redis.layer({ url: Redacted.make(redisUrl), prefix: "bench:" })) : router
  // Logs (a Redis outage on a busy machine) go to stderr: stdout carries the answers.
  const logs = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))
  const runtime = ManagedRuntime.make(stores.pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.provide(logs)))
  // A failed call is counted, not thrown: the figures say how many there were.
  let failed = 0
  const call = () =>
    runtime.runPromise(LlmService.chat(request)).then(
      () => undefined,
      () => void failed++
    )
  await call()
  process.stdout.write("ready\n")
  for await (const line of Readline.createInterface({ input: process.stdin })) {
    const [op, arg] = line.split(" ")
    if (op === "seq") {
      const times: Array<number> = []
      for (let i = 0; i < Number(arg); i++) {
        const begin = performance.now()
        await call()
        times.push((performance.now() - begin) * 1000)
      }
      process.stdout.write(`${median(times)} ${failed}\n`)
    } else if (op === "load") {
      const until = performance.now() + Number(arg)
      let done = 0
      const loop = async () => {
        while (performance.now() < until) {
          await call()
          done++
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, loop))
      process.stdout.write(`${done} ${failed}\n`)
    }
  }
  await runtime.dispose()
}

// ---------------------------------------------------------------------------------------------------------------
// The parent: redis-server, the upstream, three router processes, the rounds.

interface Handle {
  /** Sends a command; its figure, and the calls that failed so far in that process. */
  readonly ask: (line: string) => Promise<number>
  readonly failed: () => number
  readonly stop: () => void
}

const startWorker = async (store: string, upstream: string, redisUrl: string): Promise<Handle> => {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(import.meta.url), "--worker", store, upstream, redisUrl],
    { stdio: ["pipe", "pipe", "inherit"], env: process.env }
  )
  const lines = Readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const next = async () => {
    const { done, value } = await lines.next()
    if (done === true) throw new Error(`the ${store} worker exited`)
    return value as string
  }
  if ((await next()) !== "ready") throw new Error(`the ${store} worker did not start`)
  let failed = 0
  return {
    ask: async (line) => {
      child.stdin!.write(`${line}\n`)
      const [figure, failures] = (await next()).split(" ").map(Number)
      failed = failures!
      return figure!
    },
    failed: () => failed,
    stop: () => void child.kill()
  }
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

const pings = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Net.connect({ port, host: "127.0.0.1" })
    socket.once("error", () => resolve(false))
    socket.once("data", (data) => {
      socket.destroy()
      resolve(String(data).includes("PONG"))
    })
    socket.once("connect", () => socket.write("PING\r\n"))
  })

const startRedis = async (): Promise<{ readonly url: string; readonly child: ChildProcess }> => {
  const port = await freePort()
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore"
    }
  )
  for (let i = 0; i < 250; i++) {
    if (await pings(port)) return { url: `redis://127.0.0.1:${port}`, child }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  child.kill()
  throw new Error("redis-server did not answer within 5 s (is it installed? apt-get install -y redis-server)")
}

/**
 * The store's own cost, in this process's CPU time (which the machine's other load does not inflate): 1,000 routed
 * calls over two instant `LlmTest` deployments, memory store vs Redis store (its background sync included).
 */
const cpuRow = async (redisUrl: string): Promise<Row> => {
  const { Redis } = await loadRedis()
  const router = Router.layer({
    deployments: [
      Deployment.make({ name: "a", layer: LlmTest.layer() }),
      Deployment.make({ name: "b", layer: LlmTest.layer() })
    ],
    strategy: Strategy.latencyBased()
  })
  const arm = (layer: Layer.Layer<any, any>): { arm: Arm; dispose: () => Promise<void> } => {
    const runtime = ManagedRuntime.make(layer as Layer.Layer<LlmServiceTypes.LlmService>)
    const calls = Effect.forEach(Array.from({ length: 1_000 }), () => LlmService.chat(request), { discard: true })
    return { arm: () => runtime.runPromise(perOp("cpu", 1_000, calls)), dispose: () => runtime.dispose() }
  }
  const memory = arm(router)
  const shared = arm(Layer.provide(router, Redis.layer({ url: Redacted.make(redisUrl), prefix: "bench-cpu:" })))
  const samples = await compare(memory.arm, shared.arm)
  await memory.dispose()
  await shared.dispose()
  return {
    name: "CPU µs per routed call (instant deployments): Redis store vs memory store",
    samples,
    target: { _tag: "Added", max: 300 }
  }
}

const main = async () => {
  const upstream = await start()
  const redis = await startRedis()
  const handles: Array<Handle> = []
  try {
    const cpu = await cpuRow(redis.url)
    const [memory, one, two] = await Promise.all([
      startWorker("memory", upstream.baseUrl, redis.url),
      startWorker("redis", upstream.baseUrl, redis.url),
      startWorker("redis", upstream.baseUrl, redis.url)
    ])
    handles.push(memory, one, two)
    const perRequest = (count: number) => (LOAD_MILLIS * 1000) / count
    const p50 = { memory: [] as Array<number>, redis: [] as Array<number> }
    const load = { memory: [] as Array<number>, one: [] as Array<number>, two: [] as Array<number> }
    for (let round = -Math.min(3, rounds); round < rounds; round++) {
      const memoryP50 = await memory.ask(`seq ${SEQUENTIAL}`)
      const redisP50 = await one.ask(`seq ${SEQUENTIAL}`)
      const memoryLoad = await memory.ask(`load ${LOAD_MILLIS}`)
      const oneLoad = await one.ask(`load ${LOAD_MILLIS}`)
      const [a, b] = await Promise.all([one.ask(`load ${LOAD_MILLIS}`), two.ask(`load ${LOAD_MILLIS}`)])
      if (round < 0) continue // untimed warm-up
      p50.memory.push(memoryP50)
      p50.redis.push(redisP50)
      load.memory.push(perRequest(memoryLoad))
      load.one.push(perRequest(oneLoad))
      load.two.push(perRequest(a + b))
    }
    const rows: Array<Row> = [
      cpu,
      {
        name: "p50 of a routed request, 1 in flight: Redis store vs memory store",
        samples: { base: p50.memory, subject: p50.redis },
        target: { _tag: "Added", max: 300 }
      },
      {
        name: `throughput, ${CONCURRENCY} in flight: 1 process on Redis vs 1 on memory`,
        samples: { base: load.memory, subject: load.one },
        target: { _tag: "None" }
      },
      {
        name: `throughput, ${CONCURRENCY} in flight each: 2 processes on Redis vs 1 on Redis`,
        samples: { base: load.one, subject: load.two },
        target: { _tag: "Faster", times: 1.5 }
      }
    ]
    const rps = (values: ReadonlyArray<number>) => Math.round(1e6 / median(values))
    process.stdout.write(
      setting(
        `Routed chat calls (router of two deployments, latency-based, to a loopback upstream in its own process; ` +
          `${compiled ? "library compiled by tsc" : "sources through tsx"}); wall µs per request. A round is ` +
          `${SEQUENTIAL} sequential calls per store, then ${LOAD_MILLIS} ms of load per configuration.`
      ) +
        `\n` +
        table(rows, { baseline: "baseline", subject: "subject", unit: "µs" }) +
        `\nMedian req/s: 1 process on memory ${rps(load.memory)}, 1 on Redis ${rps(load.one)}, ` +
        `2 on Redis together ${rps(load.two)}.\n`
    )
  } finally {
    for (const handle of handles) handle.stop()
    redis.child.kill()
    upstream.stop()
  }
}

const at = process.argv.indexOf("--worker")
if (at >= 0) {
  worker(process.argv[at + 1]!, process.argv[at + 2]!, process.argv[at + 3]!).catch((error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  })
} else {
  main().catch((error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  })
}
