/**
 * Chat calls through our OpenAI-compatible client against a loopback server, vs the same requests with plain
 * `fetch`, 64 in flight. The server runs in its own process (so it does not compete with the client for the event
 * loop) and answers a fixed, realistic `chat.completion` body. Our client does more than fetch: it validates and
 * serialises the request, maps errors, and decodes the answer with the response Schema.
 *
 * Writes bench/results/http.md.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import * as Http from "node:http"
import { cpus } from "node:os"
import { performance } from "node:perf_hooks"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type * as Chat from "../src/Chat.js"
import * as OpenAiCompatible from "../src/providers/OpenAiCompatible.js"
import { median, table } from "./util.js"

const REQUESTS = 3000
const CONCURRENCY = 64
const ROUNDS = 5

const answer = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: "The quick brown fox jumps over the lazy dog. ".repeat(4), refusal: null },
      finish_reason: "stop",
      logprobs: null
    }
  ],
  usage: { prompt_tokens: 21, completion_tokens: 40, total_tokens: 61 },
  system_fingerprint: "fp_bench"
})

const serve = () => {
  const server = Http.createServer((req, res) => {
    req.resume()
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) })
      res.end(answer)
    })
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${(server.address() as { port: number }).port}\n`)
  })
}

const request: Chat.ChatCompletionRequest = {
  model: "gpt-4o-mini",
  messages: [
    { role: "system", content: "You are terse." },
    { role: "user", content: "Describe a fox in one sentence." }
  ],
  temperature: 0.2,
  max_tokens: 64
}

const plainFetch = (baseUrl: string) => async () => {
  let next = 0
  const worker = async () => {
    while (next++ < REQUESTS) {
      const response = await fetch(`${baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
        body: JSON.stringify(request)
      })
      if (response.status !== 200) throw new Error(`status ${response.status}`)
      await response.json()
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
}

const ours = async (baseUrl: string, client: Layer.Layer<HttpClient.HttpClient>) => {
  // A managed runtime keeps the client's resources (undici's dispatcher) alive for the whole benchmark.
  const runtime = ManagedRuntime.make(client)
  const service = await runtime.runPromise(
    OpenAiCompatible.make({ baseUrl, apiKey: Redacted.make("sk-bench"), provider: "bench" })
  )
  const indices = Array.from({ length: REQUESTS }, (_, i) => i)
  return () =>
    Effect.runPromise(Effect.forEach(indices, () => service.chat(request), { concurrency: CONCURRENCY, discard: true }))
}

/** The platform's fetch client alone (no library code), to show where the cost over plain fetch lies. */
const platformFetch = (baseUrl: string) => {
  const indices = Array.from({ length: REQUESTS }, (_, i) => i)
  const call = Effect.flatMap(HttpClient.HttpClient, (client) =>
    Effect.flatMap(
      client.execute(HttpClientRequest.bodyUnsafeJson(HttpClientRequest.post(`${baseUrl}/chat/completions`), request)),
      (response) => response.json
    )
  )
  return () =>
    Effect.runPromise(
      Effect.forEach(indices, () => call, { concurrency: CONCURRENCY, discard: true }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
    )
}

const main = async () => {
  if (process.argv.includes("--server")) return serve()
  const server = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--server"], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout.once("data", (data: Buffer) => resolve(Number(String(data).trim())))
      server.once("exit", (code: number | null) => reject(new Error(`server exited with ${code}`)))
    })
    const baseUrl = `http://127.0.0.1:${port}/v1`
    const contenders: Array<readonly [string, () => Promise<unknown>]> = [
      ["plain fetch + JSON.parse", plainFetch(baseUrl)],
      ["@effect/platform FetchHttpClient alone (execute + json)", platformFetch(baseUrl)],
      ["OpenAiCompatible over FetchHttpClient", await ours(baseUrl, FetchHttpClient.layer)],
      ["OpenAiCompatible over NodeHttpClient (undici)", await ours(baseUrl, NodeHttpClient.layerUndici)]
    ]
    for (const [, run] of contenders) await run()
    const times = contenders.map(() => [] as Array<number>)
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < contenders.length; i++) {
        ;(globalThis as { gc?: () => void }).gc?.()
        const start = performance.now()
        await contenders[i]![1]()
        times[i]!.push(performance.now() - start)
      }
    }
    const rps = times.map((t) => (REQUESTS * 1000) / median(t))
    const rows = contenders.map(([name], i) => [
      name,
      Math.round(rps[i]!),
      (1000 * CONCURRENCY) / rps[i]!,
      rps[i]! / rps[0]!
    ])
    const report = [
      `# HTTP client benchmark`,
      ``,
      `${new Date().toISOString().slice(0, 10)} — ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}`,
      ``,
      `${REQUESTS} non-streaming chat calls per run, ${CONCURRENCY} in flight, to a loopback HTTP server in a separate`,
      `process answering a fixed ${answer.length}-byte chat.completion. Median of ${ROUNDS} runs per contender, alternating.`,
      `"ours" includes request building, error mapping and Schema decoding of the response.`,
      ``,
      `Reading: most of the gap between FetchHttpClient and plain fetch is in @effect/platform's fetch client itself`,
      `(compare its row alone); OpenAiCompatible adds little on top. On Node, NodeHttpClient.layerUndici is the client`,
      `to use for throughput. The machine is small and shared, so absolute numbers are low and noisy; compare ratios.`,
      ``,
      table(["client", "requests/s", "ms per request at 64 in flight", "× plain fetch"], rows),
      ``
    ].join("\n")
    process.stdout.write(report)
    writeFileSync(join(dirname(fileURLToPath(import.meta.url)), "results", "http.md"), report)
  } finally {
    server.kill()
  }
}

main().catch((error) => {
  process.stderr.write(String(error) + "\n")
  process.exit(1)
})
