/**
 * `npm run bench:gateway-layers`: where a gateway request's time goes, one layer at a time, at one connection.
 *
 * autocannon's whole-millisecond percentiles cannot split a millisecond, so this one measures what each layer costs
 * per request in CPU (the process's own `cpuUsage`, or `/proc/PID/stat` for a server in its own process) and in wall
 * time, over sequential calls to one loopback upstream (bench/upstream.ts). Each row adds one layer to the row above:
 * - in this process: `undici.request` (the floor of any Node client), @effect/platform's `HttpClient` over undici
 *   (`execute` + `json`), `OpenAiCompatible` (request checks, headers, Schema decoding of the answer), and the
 *   gateway's own services without HTTP (`Gateway.services`: router, Telemetry, access) — all on the compiled library;
 * - in their own processes: the bare `node:http` proxy, and `effect-liter-llm serve` answering `/health/liveliness`
 *   (the platform's HTTP server and our request prelude alone) and `/v1/chat/completions` (everything).
 * Rounds of every row are interleaved so a noisy neighbour slows all rows alike; medians are reported.
 *
 * Flags: `--calls N` per round (default 1500), `--rounds R` (default 5).
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { Agent, request as undiciRequest } from "undici"
import * as Helpers from "./gatewayServers.js"
import * as Upstream from "./upstream.js"

const root = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "..")
const args = process.argv.slice(2)
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i === -1 ? fallback : Number(args[i + 1])
}
const calls = flag("--calls", 1500)
const rounds = flag("--rounds", 5)

const chatRequest = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "Say something short." }] }
const body = JSON.stringify(chatRequest)

/** CPU time of another process so far, in µs (from /proc; clock ticks of 10 ms). */
const cpuOf = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}
const ownCpu = () => {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

const agent = new Http.Agent({ keepAlive: true })
const post = (url: string, method = "POST") => {
  const target = new URL(url)
  return () =>
    new Promise<void>((resolve, reject) => {
      const request = Http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method,
          agent,
          headers: method === "POST" ? { "content-type": "application/json", "content-length": body.length } : {}
        },
        (response) => {
          response.resume()
          response.on("end", () =>
            response.statusCode === 200 ? resolve() : reject(new Error(`${url}: status ${response.statusCode}`))
          )
        }
      )
      request.on("error", reject)
      request.end(method === "POST" ? body : undefined)
    })
}

interface Row {
  readonly name: string
  readonly call: () => Promise<unknown>
  /** The process whose CPU the row is charged: this one, or a server's pid. */
  readonly pid?: number
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const main = async () => {
  console.error("building dist/ (npm run build) …")
  if (spawnSync("npm", ["run", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] }).status !== 0) {
    throw new Error("npm run build failed")
  }
  const Lib = (await import(pathToFileURL(Path.join(root, "dist/index.js")).href)) as typeof import("../src/index.js")
  const GatewayLib = (await import(
    pathToFileURL(Path.join(root, "dist/gateway/index.js")).href
  )) as typeof import("../src/gateway/index.js")

  const upstream = await Upstream.start()
  const chatUrl = `${upstream.baseUrl}/chat/completions`
  const proxy = await Helpers.start(["--proxy", new URL(upstream.baseUrl).origin])
  const gateway = await Helpers.startGateway(upstream.baseUrl, { workers: 1, fromSource: false })
  const dispatcher = new Agent()
  const platform = ManagedRuntime.make(NodeHttpClient.layerUndici)
  const provider = ManagedRuntime.make(
    Lib.OpenAiCompatible.layer({
      baseUrl: upstream.baseUrl,
      apiKey: Redacted.make("sk-bench"),
      provider: "bench"
    }).pipe(Layer.provide(NodeHttpClient.layerUndici))
  )
  const config = await Effect.runPromise(
    GatewayLib.Config.decode({
      groups: { "gpt-4o-mini": [{ name: "upstream", provider: "openai-compatible", baseUrl: upstream.baseUrl }] },
      router: { strategy: "roundRobin" }
    })
  )
  const services = ManagedRuntime.make(GatewayLib.Gateway.services(config))
  const platformRequest = HttpClientRequest.post(chatUrl).pipe(HttpClientRequest.bodyText(body, "application/json"))
  const rows: ReadonlyArray<Row> = [
    { name: "upstream directly (node:http client)", call: post(chatUrl) },
    {
      name: "undici.request",
      call: async () => {
        const answer = await undiciRequest(chatUrl, {
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
          dispatcher
        })
        return answer.body.json()
      }
    },
    {
      name: "@effect/platform HttpClient (undici)",
      call: () =>
        platform.runPromise(
          Effect.flatMap(HttpClient.HttpClient, (client) =>
            Effect.flatMap(client.execute(platformRequest), (response) => response.json)
          ).pipe(Effect.scoped)
        )
    },
    { name: "OpenAiCompatible LlmService.chat", call: () => provider.runPromise(Lib.LlmService.chat(chatRequest)) },
    {
      name: "Gateway.services: router + middleware",
      call: () => services.runPromise(Lib.LlmService.chat(chatRequest))
    },
    {
      name: "bare node:http proxy (server CPU)",
      call: post(`http://127.0.0.1:${proxy.port}/v1/chat/completions`),
      pid: proxy.pid
    },
    {
      name: "gateway GET /health/liveliness (server CPU)",
      call: post(`${gateway.url}/health/liveliness`, "GET"),
      pid: gateway.pid
    },
    {
      name: "gateway POST /v1/chat/completions (server CPU)",
      call: post(`${gateway.url}/v1/chat/completions`),
      pid: gateway.pid
    }
  ]
  try {
    const samples = rows.map(() => ({ wall: [] as Array<number>, cpu: [] as Array<number> }))
    for (const row of rows) for (let i = 0; i < 1000; i++) await row.call()
    for (let round = 0; round < rounds; round++) {
      for (const [i, row] of rows.entries()) {
        const cpu = () => (row.pid === undefined ? ownCpu() : cpuOf(row.pid))
        const cpu0 = cpu()
        const wall0 = performance.now()
        for (let n = 0; n < calls; n++) await row.call()
        samples[i]!.wall.push(((performance.now() - wall0) * 1000) / calls)
        samples[i]!.cpu.push((cpu() - cpu0) / calls)
      }
    }
    const lines = rows.map((row, i) => {
      const { wall, cpu } = samples[i]!
      return `| ${row.name} | ${median(wall).toFixed(0)} | ${median(cpu).toFixed(0)} |`
    })
    process.stdout.write(
      `# gateway layers — ${new Date().toISOString()} — ${Os.cpus().length} × ${Os.cpus()[0]?.model.trim()}, node ${process.version}\n\n` +
        `Sequential chat calls at one connection, ${rounds} interleaved rounds of ${calls}; medians. CPU is this ` +
        `process's per call for the in-process rows (client included), the server process's for the rows so marked.\n\n` +
        `| layer | wall µs/call | CPU µs/call |\n|---|---:|---:|\n${lines.join("\n")}\n`
    )
  } finally {
    await Promise.all([platform.dispose(), provider.dispose(), services.dispose()])
    await dispatcher.close()
    gateway.stop()
    proxy.stop()
    upstream.stop()
    agent.destroy()
  }
}

main().catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
