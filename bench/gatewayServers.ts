/**
 * Helper processes of the gateway benchmark, each started with `--import tsx` and printing its port:
 * - `--proxy URL`: the floor any Node gateway stands on — a bare `node:http` pass-through that reads the request
 *   body, forwards it over a keep-alive agent to `URL` (same path), and pipes the answer back. No parsing, no auth.
 * - `--platform-proxy URL`: the floor any gateway on @effect/platform stands on — the same pass-through on the stack
 *   the gateway uses (`NodeHttpServer`, `HttpLayerRouter`, `NodeHttpClient.layerUndici`, with the platform's default
 *   request and client spans), no routing, no parsing, no auth; an event stream is passed on as it arrives. What it costs over the bare proxy is the platform's
 *   share of the gateway's cost; what the gateway costs over it is the library's own.
 * - `--slow-stream`: an OpenAI-compatible upstream whose streams stay open — one chunk every `CHUNK_EVERY_MS` for
 *   `CHUNKS` chunks — so a thousand streams are open at once through the gateway under test.
 * - `--drip-stream`: an OpenAI-compatible upstream whose streams write `DRIP_EVENTS` events one per write, each on the
 *   next timer tick (about 1 ms apart), so every event reaches the gateway as a read of its own — a live model's pace.
 * Also the client side of the open-streams run, which samples the gateway's memory while they are open.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** Chunks per slow stream, and the pause between them: a stream stays open about 3 s. */
export const CHUNKS = 30
export const CHUNK_EVERY_MS = 100

const listen = (server: Http.Server) => {
  server.keepAliveTimeout = 60_000
  server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as { port: number }).port}\n`))
}

const proxy = (target: string) => {
  const base = new URL(target)
  const agent = new Http.Agent({ keepAlive: true, maxSockets: 256 })
  listen(
    Http.createServer((req, res) => {
      const body: Array<Buffer> = []
      req.on("data", (data: Buffer) => body.push(data))
      req.on("end", () => {
        const payload = Buffer.concat(body)
        const upstream = Http.request(
          {
            host: base.hostname,
            port: base.port,
            path: req.url,
            method: req.method,
            agent,
            headers: { "content-type": "application/json", "content-length": payload.length }
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers)
            answer.pipe(res)
          }
        )
        upstream.on("error", () => {
          res.writeHead(502)
          res.end()
        })
        upstream.end(payload)
      })
    })
  )
}

const platformProxy = (target: string) => {
  const forward = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = yield* request.text
    const client = yield* HttpClient.HttpClient
    const answer = yield* client.execute(
      HttpClientRequest.post(`${target}${request.url}`).pipe(HttpClientRequest.bodyText(body, "application/json"))
    )
    const contentType = answer.headers["content-type"] ?? "application/json"
    // an event stream is passed on as it comes, like the bare proxy's pipe; a JSON answer is read whole, as the
    // gateway reads it
    return contentType.startsWith("text/event-stream")
      ? HttpServerResponse.stream(answer.stream, { status: answer.status, contentType })
      : HttpServerResponse.text(yield* answer.text, { status: answer.status, contentType })
  }).pipe(Effect.catchAll(() => Effect.succeed(HttpServerResponse.empty({ status: 502 }))))
  const serve = Effect.gen(function* () {
    const app = yield* HttpLayerRouter.toHttpEffect(HttpLayerRouter.add("POST", "/v1/chat/completions", forward))
    const nodeServer = Http.createServer()
    nodeServer.keepAliveTimeout = 60_000
    const server = yield* NodeHttpServer.make(() => nodeServer, { port: 0, host: "127.0.0.1" })
    yield* server.serve(app)
    if (server.address._tag === "TcpAddress") process.stdout.write(`${server.address.port}\n`)
    return yield* Effect.never
  })
  Effect.runFork(serve.pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)))
}

const chunk = (i: number) =>
  `data: ${JSON.stringify({
    id: "chatcmpl-slow",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "gpt-4o-mini",
    choices: [
      { index: 0, delta: i === 0 ? { role: "assistant", content: "t0 " } : { content: `t${i} ` }, finish_reason: null }
    ]
  })}\n\n`

/**
 * An upstream whose streams write `events` chunks one per write, each `delayMs` after the last (0: the next timer
 * tick), then a usage chunk and `[DONE]`.
 */
const pacedStream = (events: number, delayMs: number) =>
  listen(
    Http.createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
        let i = 0
        let timer: NodeJS.Timeout
        const next = () => {
          if (i < events) {
            res.write(chunk(i++))
            timer = setTimeout(next, delayMs)
            return
          }
          const usage = { prompt_tokens: 5, completion_tokens: events, total_tokens: 5 + events }
          res.end(
            `data: ${JSON.stringify({ id: "chatcmpl-slow", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini", choices: [], usage })}\n\ndata: [DONE]\n\n`
          )
        }
        timer = setTimeout(next, delayMs)
        res.on("close", () => clearTimeout(timer))
      })
    })
  )

/** Events per drip stream (then a usage chunk and `[DONE]`). */
export const DRIP_EVENTS = 200

/** A process's CPU time so far (user + system) in µs, from /proc (Linux). */
export const cpuMicros = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100
}

/**
 * `n` streamed chats one after another through `url` (a full chat completions URL); the server's CPU per event
 * received, from /proc, after `warm` streams not counted.
 */
export const cpuPerEvent = async (
  url: string,
  pid: number,
  n: number,
  headers: Record<string, string> = {},
  warm = 10
) => {
  const agent = new Http.Agent({ keepAlive: true })
  const payload = JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }] })
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const request = Http.request(
        url,
        { method: "POST", agent, headers: { "content-type": "application/json", ...headers } },
        (response) => {
          let events = 0
          response.setEncoding("utf8")
          response.on("data", (data: string) => (events += data.split("data: ").length - 1))
          response.on("end", () => resolve(events))
        }
      )
      request.on("error", reject)
      request.end(payload)
    })
  for (let i = 0; i < warm; i++) await one()
  const before = cpuMicros(pid)
  let events = 0
  for (let i = 0; i < n; i++) events += await one()
  agent.destroy()
  return { events: events / n, micros: (cpuMicros(pid) - before) / events }
}

/** Starts a helper in its own process; resolves to its port and a way to stop it. */
export const start = async (
  args: ReadonlyArray<string>
): Promise<{ readonly port: number; readonly pid: number; readonly stop: () => void }> => {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), ...args], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once("data", (data: Buffer) => resolve(Number(String(data).trim())))
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code} before listening`)))
  })
  return { port, pid: child.pid!, stop: () => void child.kill() }
}

const root = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "..")

/**
 * Starts `effect-liter-llm serve` in front of `upstream` (one group of one openai-compatible deployment, round robin):
 * compiled (dist/) unless `fromSource`, with `--workers` when more than one. Resolves to its URL, pid and stop.
 */
export const startGateway = async (
  upstream: string,
  options: {
    readonly workers: number
    readonly fromSource: boolean
    /** The deployment's `timeout` (for streams: until the headers, then between events); none when left out. */
    readonly timeout?: string | undefined
  }
) => {
  const dir = mkdtempSync(Path.join(Os.tmpdir(), "ell-bench-"))
  const file = Path.join(dir, "gateway.yaml")
  writeFileSync(
    file,
    `groups:\n  gpt-4o-mini:\n    - { name: upstream, provider: openai-compatible, baseUrl: "${upstream}"${
      options.timeout === undefined ? "" : `, timeout: ${options.timeout}`
    } }\nrouter: { strategy: roundRobin }\n`
  )
  const child = spawn(
    process.execPath,
    [
      ...(options.fromSource ? ["--import", "tsx"] : []),
      Path.join(root, "bin/effect-liter-llm.mjs"),
      "serve",
      "--config",
      file,
      "--port",
      "0",
      ...(options.workers > 1 ? ["--workers", String(options.workers)] : [])
    ],
    {
      cwd: root,
      env: { ...process.env, EFFECT_LITER_LLM_SOURCE: options.fromSource ? "1" : "0" },
      stdio: ["ignore", "pipe", "inherit"]
    }
  )
  const url = await new Promise<string>((resolve, reject) => {
    let out = ""
    child.stdout.on("data", (data) => {
      out += String(data)
      const match = /listening on (\S+)/.exec(out)
      if (match !== null) resolve(match[1]!)
    })
    child.once("exit", (code) => reject(new Error(`the gateway exited with ${code} before listening`)))
  })
  return {
    url,
    pid: child.pid!,
    stop: () => {
      child.kill("SIGTERM")
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A process's resident memory in MiB, from /proc (Linux). */
export const rssMiB = (pid: number) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return match === null ? Number.NaN : Number(match[1]) / 1024
}

/** `n` streamed chats at once through `url`; the gateway's memory sampled while they are open. */
export const openStreams = async (url: string, pid: number, n: number) => {
  const agent = new Http.Agent({ keepAlive: true, maxSockets: n + 10 })
  const before = rssMiB(pid)
  let peak = before
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50)
  const started = Date.now()
  const one = () =>
    new Promise<boolean>((resolve) => {
      const request = Http.request(
        `${url}/v1/chat/completions`,
        { method: "POST", agent, headers: { "content-type": "application/json" } },
        (response) => {
          let tail = ""
          response.on("data", (data) => (tail = (tail + String(data)).slice(-64)))
          response.on("end", () => resolve(response.statusCode === 200 && tail.includes("[DONE]")))
        }
      )
      request.on("error", () => resolve(false))
      request.end(JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }] }))
    })
  const results = await Promise.all(Array.from({ length: n }, one))
  clearInterval(sampler)
  const seconds = (Date.now() - started) / 1000
  agent.destroy()
  await new Promise((r) => setTimeout(r, 1000))
  const after = rssMiB(pid)
  return { completed: results.filter(Boolean).length, seconds, before, peak, after }
}

const at = process.argv.indexOf("--proxy")
if (at !== -1) proxy(process.argv[at + 1]!)
const platformAt = process.argv.indexOf("--platform-proxy")
if (platformAt !== -1) platformProxy(process.argv[platformAt + 1]!)
if (process.argv.includes("--slow-stream")) pacedStream(CHUNKS, CHUNK_EVERY_MS)
if (process.argv.includes("--drip-stream")) pacedStream(DRIP_EVENTS, 0)
