/**
 * `npm run bench:gateway`: the gateway against the references, in one run, with autocannon on the same box.
 *
 * Targets, each in a process of its own, all in front of one loopback upstream (bench/upstream.ts):
 * - `direct`: the upstream itself — the ceiling;
 * - `bare proxy`: `node:http` pass-through over a keep-alive agent (bench/gatewayServers.ts) — the floor any Node
 *   gateway stands on;
 * - `platform proxy`: the same pass-through on @effect/platform (`NodeHttpServer`, `HttpLayerRouter`, the undici
 *   `HttpClient`), nothing else — the floor of a gateway built on the stack this one is built on;
 * - `gateway`: `effect-liter-llm serve` with one group of one openai-compatible deployment, no keys (and with
 *   `--workers 2` when asked: `--workers`), compiled first with `npm run build` (`--source`: the sources under tsx);
 * - `portkey`: @portkey-ai/gateway 1.15.2's own server (`build/start-server.js --headless`), told the same
 *   upstream per request (`x-portkey-provider: openai`, `x-portkey-custom-host`), as its docs configure a custom host.
 * Each is hit with the same chat request at 1 and 32 connections for `--duration` seconds (default 3) after a
 * one-second warm-up. Reported: req/s, p50 and p99 (autocannon), the latency added over direct at p50, and the mean
 * added per request from throughput at one connection (1/rps − 1/rps direct: autocannon's percentiles are whole
 * milliseconds, too coarse for sub-millisecond overhead).
 *
 * Then streams: `--streams N` (default 1000) streamed chats held open together through the gateway, against an
 * upstream sending one chunk every 100 ms for 3 s; the gateway's resident memory (from /proc) before, at the peak,
 * and after, and whether every stream ended with `[DONE]`.
 *
 * Then streams at a live model's pace (`--drip N`, default 20): N streams of 200 events one after another, each event
 * reaching the server as a read of its own (bench/gatewayServers.ts `--drip-stream`); the server's CPU per event (from
 * /proc) for the bare proxy, the platform proxy, the gateway, and the gateway whose deployment has a `timeout` (which then bounds every
 * gap between events). Portkey 1.15.2 is not in this part: its streamed chats fail on this install with `TypeError:
 * immutable` (its issue #1389, the @hono/node-server it resolves).
 *
 * Flags: `--duration S`, `--streams N`, `--drip N`, `--workers` (adds `gateway --workers 2`), `--only a,b` (target names).
 */
import { spawn, spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Helpers from "./gatewayServers.js"
import * as Upstream from "./upstream.js"

interface AutocannonResult {
  readonly requests: { readonly average: number }
  readonly latency: { readonly p50: number; readonly p99: number; readonly average: number }
  readonly non2xx: number
  readonly errors: number
}
const autocannon = createRequire(import.meta.url)("autocannon") as (options: object) => Promise<AutocannonResult>

const root = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "..")
const args = process.argv.slice(2)
const flag = (name: string) => {
  const i = args.indexOf(name)
  return i === -1 ? undefined : args[i + 1]
}
const duration = Number(flag("--duration") ?? 3)
const streams = Number(flag("--streams") ?? 1000)
const drips = Number(flag("--drip") ?? 20)
const only = flag("--only")?.split(",")
const fromSource = args.includes("--source")

const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say something short." }] })

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = Net.createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

/** Polls `url` until it answers (any status), for at most `seconds`. */
const waitFor = async (url: string, seconds = 120) => {
  const until = Date.now() + seconds * 1000
  while (Date.now() < until) {
    try {
      await fetch(url)
      return
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error(`${url} did not answer within ${seconds}s`)
}

const startPortkey = async () => {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [
      createRequire(import.meta.url).resolve("@portkey-ai/gateway/build/start-server.js"),
      `--port=${port}`,
      "--headless"
    ],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"] }
  )
  await waitFor(`http://127.0.0.1:${port}/`)
  return { url: `http://127.0.0.1:${port}`, stop: () => void child.kill() }
}

interface Row {
  readonly target: string
  readonly connections: number
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly failed: number
}

const measure = async (target: string, url: string, connections: number, headers: Record<string, string>) => {
  const options = {
    url,
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
    connections
  }
  await autocannon({ ...options, duration: 1 })
  const result = await autocannon({ ...options, duration })
  const row: Row = {
    target,
    connections,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors
  }
  console.error(
    `${target} @${connections}: ${row.rps.toFixed(0)} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, failed ${row.failed}`
  )
  return row
}

const main = async () => {
  if (!fromSource) {
    // The compiled library, as users run it: under tsx every stack trace Effect takes goes through source maps.
    console.error("building dist/ (npm run build) …")
    const built = spawnSync("npm", ["run", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] })
    if (built.status !== 0) throw new Error("npm run build failed")
  }
  const upstream = await Upstream.start()
  const upstreamPort = new URL(upstream.baseUrl).port
  const proxy = await Helpers.start(["--proxy", `http://127.0.0.1:${upstreamPort}`])
  const platform = await Helpers.start(["--platform-proxy", `http://127.0.0.1:${upstreamPort}`])
  const rows: Array<Row> = []
  const wanted = (name: string) => only === undefined || only.includes(name)
  const path = "/v1/chat/completions"
  const targets: Array<{
    name: string
    start: () => Promise<{ url: string; headers: Record<string, string>; stop: () => void }>
  }> = [
    {
      name: "direct",
      start: async () => ({ url: `${upstream.baseUrl}/chat/completions`, headers: {}, stop: () => {} })
    },
    {
      name: "bare proxy",
      start: async () => ({ url: `http://127.0.0.1:${proxy.port}${path}`, headers: {}, stop: () => {} })
    },
    {
      name: "platform proxy",
      start: async () => ({ url: `http://127.0.0.1:${platform.port}${path}`, headers: {}, stop: () => {} })
    },
    {
      name: "gateway",
      start: async () => {
        const g = await Helpers.startGateway(upstream.baseUrl, { workers: 1, fromSource })
        return { url: `${g.url}${path}`, headers: {}, stop: g.stop }
      }
    },
    ...(args.includes("--workers")
      ? [
          {
            name: "gateway --workers 2",
            start: async () => {
              const g = await Helpers.startGateway(upstream.baseUrl, { workers: 2, fromSource })
              return { url: `${g.url}${path}`, headers: {}, stop: g.stop }
            }
          }
        ]
      : []),
    {
      name: "portkey",
      start: async () => {
        const p = await startPortkey()
        const headers = {
          "x-portkey-provider": "openai",
          "x-portkey-custom-host": upstream.baseUrl,
          authorization: "Bearer sk-bench"
        }
        return { url: `${p.url}${path}`, headers, stop: p.stop }
      }
    }
  ]
  for (const target of targets) {
    if (!wanted(target.name)) continue
    try {
      const running = await target.start()
      for (const connections of [1, 32])
        rows.push(await measure(target.name, running.url, connections, running.headers))
      running.stop()
    } catch (error) {
      console.error(`${target.name}: could not run: ${(error as Error).message}`)
    }
  }

  const find = (target: string, connections: number) =>
    rows.find((r) => r.target === target && r.connections === connections)
  console.log(
    `\n## gateway benchmark — ${new Date().toISOString().slice(0, 10)}, ${Os.cpus().length} × ${Os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}, ${duration} s per run\n`
  )
  console.log(
    "| target | conns | req/s | p50 ms | p99 ms | p50 added ms | mean added µs (1 conn) | × bare proxy | × platform proxy | × portkey | failed |"
  )
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
  for (const row of rows) {
    const direct = find("direct", row.connections)
    const bare = find("bare proxy", row.connections)
    const platformRow = find("platform proxy", row.connections)
    const portkey = find("portkey", row.connections)
    const added = direct === undefined ? "" : (row.p50 - direct.p50).toFixed(2)
    const mean = direct === undefined || row.connections !== 1 ? "" : (1e6 / row.rps - 1e6 / direct.rps).toFixed(0)
    const ratio = (other: Row | undefined) => (other === undefined ? "" : (row.rps / other.rps).toFixed(2))
    console.log(
      `| ${row.target} | ${row.connections} | ${row.rps.toFixed(0)} | ${row.p50} | ${row.p99} | ${added} | ${mean} | ${ratio(bare)} | ${ratio(platformRow)} | ${ratio(portkey)} | ${row.failed} |`
    )
  }

  if (streams > 0 && wanted("gateway")) {
    const slow = await Helpers.start(["--slow-stream"])
    const gateway = await Helpers.startGateway(`http://127.0.0.1:${slow.port}/v1`, { workers: 1, fromSource })
    const s = await Helpers.openStreams(gateway.url, gateway.pid, streams)
    console.log(
      `\n${streams} streams open at once (${Helpers.CHUNKS} chunks, one per ${Helpers.CHUNK_EVERY_MS} ms): ${s.completed} ended with [DONE] in ${s.seconds.toFixed(1)} s; gateway RSS ${s.before.toFixed(0)} MiB before, ${s.peak.toFixed(0)} MiB at the peak (+${(s.peak - s.before).toFixed(0)}, ${(((s.peak - s.before) * 1024) / streams).toFixed(0)} KiB a stream), ${s.after.toFixed(0)} MiB 1 s after`
    )
    gateway.stop()
    slow.stop()
  }
  if (drips > 0 && wanted("gateway")) {
    const drip = await Helpers.start(["--drip-stream"])
    const dripUrl = `http://127.0.0.1:${drip.port}/v1`
    const dripProxy = await Helpers.start(["--proxy", `http://127.0.0.1:${drip.port}`])
    const dripPlatform = await Helpers.start(["--platform-proxy", `http://127.0.0.1:${drip.port}`])
    const plain = await Helpers.startGateway(dripUrl, { workers: 1, fromSource })
    const timed = await Helpers.startGateway(dripUrl, { workers: 1, fromSource, timeout: "30 seconds" })
    const cells: Record<string, Array<number>> = {}
    let events = 0
    // interleaved rounds, medians: the three servers see the same state of the machine
    for (let round = 0; round < 3; round++)
      for (const [name, url, pid] of [
        ["bare proxy", `http://127.0.0.1:${dripProxy.port}${path}`, dripProxy.pid],
        ["platform proxy", `http://127.0.0.1:${dripPlatform.port}${path}`, dripPlatform.pid],
        ["gateway", `${plain.url}${path}`, plain.pid],
        ["gateway, deployment timeout 30 s", `${timed.url}${path}`, timed.pid]
      ] as const) {
        const result = await Helpers.cpuPerEvent(url, pid, drips)
        events = result.events
        ;(cells[name] ??= []).push(result.micros)
      }
    console.log(
      `\nStreams at one event per read (${drips} streams of ${events.toFixed(0)} events, 3 interleaved rounds):\n`
    )
    console.log("| server | CPU µs per event (median) | rounds |")
    console.log("| --- | ---: | --- |")
    for (const [name, values] of Object.entries(cells)) {
      const sorted = [...values].sort((a, b) => a - b)
      console.log(`| ${name} | ${sorted[1]!.toFixed(0)} | ${values.map((v) => v.toFixed(0)).join(", ")} |`)
    }
    plain.stop()
    timed.stop()
    dripProxy.stop()
    dripPlatform.stop()
    drip.stop()
  }
  proxy.stop()
  platform.stop()
  upstream.stop()
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
