/**
 * Streamed chat answers from a loopback upstream (its own process): `STREAM_CHUNKS` chunk events per answer, read
 * through our client's `chatStream` (SSE framing, UTF-8 decoding, JSON and the chunk Schema, over undici) vs plain
 * `fetch` with eventsource-parser and `JSON.parse` per event, in wall time per chunk. No target: the baseline does
 * less (no Schema); the row shows what the whole streaming path costs next to the leanest way to read the same bytes.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { createParser } from "eventsource-parser"
import type * as Chat from "../src/Chat.js"
import { compiled, Lib } from "./library.js"
import { type Arm, compare, now } from "./measure.js"
import { type Row, setting, table } from "./report.js"
import { start, STREAM_CHUNKS } from "./upstream.js"

const { LlmService, OpenAiCompatible } = Lib

const STREAMS = 10
/** Chunks a stream brings: the content chunks, the one with the finish reason and the one with usage. */
const CHUNKS = STREAM_CHUNKS + 2

const request: Chat.ChatCompletionRequest = {
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Count to five hundred, one token at a time." }]
}

/** Reads `STREAMS` streams one after another, each through `read` (which gives its chunk count); wall µs per chunk. */
const timed = async (read: () => Promise<number>): Promise<number> => {
  const begin = now("wall")
  for (let i = 0; i < STREAMS; i++) {
    const chunks = await read()
    if (chunks !== CHUNKS) throw new Error(`a stream brought ${chunks} chunks, not ${CHUNKS}`)
  }
  return (now("wall") - begin) / (STREAMS * CHUNKS)
}

const plainFetch =
  (baseUrl: string): Arm =>
  () =>
    timed(async () => {
      const response = await fetch(`${baseUrl}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer sk-bench" },
        body: JSON.stringify({ ...request, stream: true })
      })
      if (response.status !== 200 || response.body === null) throw new Error(`plain fetch: status ${response.status}`)
      let chunks = 0
      const parser = createParser({
        onEvent: (event) => {
          if (event.data === "[DONE]") return
          JSON.parse(event.data)
          chunks++
        }
      })
      const decoder = new TextDecoder()
      const reader = response.body.getReader()
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        parser.feed(decoder.decode(read.value, { stream: true }))
      }
      parser.feed(decoder.decode())
      return chunks
    })

const main = async () => {
  const upstream = await start()
  // Kept alive across rounds, so its connection pool stays warm as in an application.
  const runtime = ManagedRuntime.make(
    OpenAiCompatible.layer({ baseUrl: upstream.baseUrl, apiKey: Redacted.make("sk-bench"), provider: "bench" }).pipe(
      Layer.provide(NodeHttpClient.layerUndici)
    )
  )
  try {
    const ours: Arm = () => timed(() => runtime.runPromise(Stream.runCount(LlmService.chatStream(request))))
    const rows: Array<Row> = [
      {
        name: "OpenAiCompatible.chatStream over NodeHttpClient (undici)",
        samples: await compare(plainFetch(upstream.baseUrl), ours),
        target: { _tag: "None" }
      }
    ]
    process.stdout.write(
      setting(
        `Streamed chat answers of ${CHUNKS} chunks from a loopback upstream, wall µs per chunk ` +
          `(${compiled ? "library compiled by tsc" : "sources through tsx"}); a round is ${STREAMS} streams in sequence.`
      ) +
        `\n` +
        table(rows, { baseline: "fetch + eventsource-parser", subject: "ours", unit: "µs/chunk" })
    )
  } finally {
    await runtime.dispose()
    upstream.stop()
  }
}

main().catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
