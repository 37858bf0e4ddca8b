/**
 * Chat calls through our OpenAI-compatible client to a loopback upstream (its own process), 64 in flight, vs the
 * same requests with plain `fetch` + `JSON.parse`, in wall time. Our client does more than fetch: it validates and
 * serialises the request, maps errors, and decodes the answer with the response Schema. Target (issue 4): at least
 * 0.8× plain fetch's throughput, with Node's undici client; over `FetchHttpClient` for information.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import type * as Chat from "../src/Chat.js"
import { compiled, Lib } from "./library.js"
import { type Arm, compare, now } from "./measure.js"
import { type Row, setting, table } from "./report.js"
import { start } from "./upstream.js"

const { LlmService, OpenAiCompatible } = Lib

const REQUESTS = 200
const CONCURRENCY = 64

const request: Chat.ChatCompletionRequest = {
  model: "gpt-4o-mini",
  messages: [
    { role: "system", content: "You are terse." },
    { role: "user", content: "Describe a fox in one sentence." }
  ],
  temperature: 0.2,
  max_tokens: 64
}

/** Runs `call` `REQUESTS` times, `CONCURRENCY` at a time; gives wall µs per request. */
const timed = async (call: () => Promise<unknown>): Promise<number> => {
  let left = REQUESTS
  const worker = async () => {
    while (left-- > 0) await call()
  }
  const begin = now("wall")
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return (now("wall") - begin) / REQUESTS
}

const plainFetch =
  (baseUrl: string): Arm =>
  () =>
    timed(async () => {
      const response = await fetch(`${baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
        body: JSON.stringify(request)
      })
      if (response.status !== 200) throw new Error(`plain fetch: status ${response.status}`)
      return response.json()
    })

/** Our client over `client`, kept alive across rounds (its connection pool stays warm, as in an application). */
const ours = (baseUrl: string, client: Layer.Layer<HttpClient.HttpClient>) => {
  const runtime = ManagedRuntime.make(
    OpenAiCompatible.layer({ baseUrl, apiKey: Redacted.make("sk-bench"), provider: "bench" }).pipe(
      Layer.provide(client)
    )
  )
  const arm: Arm = () => timed(() => runtime.runPromise(LlmService.chat(request)))
  return { arm, dispose: () => runtime.dispose() }
}

const main = async () => {
  const upstream = await start()
  try {
    const undici = ours(upstream.baseUrl, NodeHttpClient.layerUndici)
    const fetchClient = ours(upstream.baseUrl, FetchHttpClient.layer)
    const rows: Array<Row> = [
      {
        name: "OpenAiCompatible over NodeHttpClient (undici)",
        samples: await compare(plainFetch(upstream.baseUrl), undici.arm),
        target: { _tag: "Throughput", share: 0.8 }
      },
      {
        name: "OpenAiCompatible over FetchHttpClient",
        samples: await compare(plainFetch(upstream.baseUrl), fetchClient.arm),
        target: { _tag: "None" }
      }
    ]
    await undici.dispose()
    await fetchClient.dispose()
    process.stdout.write(
      setting(
        `Non-streaming chat calls to a loopback upstream, ${CONCURRENCY} in flight; wall µs per request (a round's ` +
          `time over its requests: the inverse of throughput) ` +
          `(${compiled ? "library compiled by tsc" : "sources through tsx"}); a round is ${REQUESTS} requests.`
      ) +
        `\n` +
        table(rows, { baseline: "plain fetch", subject: "ours", unit: "µs/request" })
    )
  } finally {
    upstream.stop()
  }
}

main().catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
