/**
 * A loopback OpenAI-compatible upstream for the HTTP and SSE benchmarks, run in a process of its own so it does not
 * share the event loop with the client under test. `POST /v1/chat/completions` answers a fixed `chat.completion`,
 * or, when the request asks to stream, `STREAM_CHUNKS` content chunks, a usage chunk and `[DONE]`. For the audio
 * benchmark, `POST /v1/audio/transcriptions` counts the upload's bytes without keeping them, and `POST
 * /v1/audio/speech` answers as many bytes of audio as the request's `input` says.
 */
import { spawn } from "node:child_process"
import * as Http from "node:http"
import { fileURLToPath } from "node:url"

/** Content chunks per streamed answer. */
export const STREAM_CHUNKS = 500

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

const chunk = (delta: object, finish: string | null, usage?: object) =>
  `data: ${JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "gpt-4o-mini",
    choices: usage === undefined ? [{ index: 0, delta, finish_reason: finish, logprobs: null }] : [],
    ...(usage === undefined ? {} : { usage })
  })}\n\n`

/** The whole event stream of one streamed answer, built once: non-ASCII text in every event. */
const events = Buffer.from(
  Array.from({ length: STREAM_CHUNKS }, (_, i) =>
    chunk(
      i === 0 ? { role: "assistant", content: "token 0 – ünïcode ✓ " } : { content: `token ${i} – ünïcode ✓ ` },
      null
    )
  ).join("") +
    chunk({}, "stop") +
    chunk({}, null, { prompt_tokens: 21, completion_tokens: STREAM_CHUNKS, total_tokens: 21 + STREAM_CHUNKS }) +
    "data: [DONE]\n\n"
)

/** One 64 KiB piece of fake audio, written again and again for `/audio/speech`. */
const audio = Buffer.alloc(64 * 1024, 7)

/** Writes `bytes` of audio, waiting for the socket to drain: a slow reader slows the writer, nothing piles up. */
const speak = (res: Http.ServerResponse, bytes: number) => {
  res.writeHead(200, { "content-type": "audio/mpeg" })
  let left = bytes
  const more = () => {
    while (left > 0) {
      const piece = left >= audio.length ? audio : audio.subarray(0, left)
      left -= piece.length
      if (!res.write(piece)) return void res.once("drain", more)
    }
    res.end()
  }
  more()
}

const serve = () => {
  const server = Http.createServer((req, res) => {
    if (req.url?.endsWith("/audio/transcriptions")) {
      // counted, never kept: the upstream's memory must not colour the client's
      let size = 0
      req.on("data", (data: Buffer) => (size += data.length))
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({ text: `received ${size} bytes` }))
      })
      return
    }
    if (req.url?.endsWith("/audio/speech")) {
      const body: Array<Buffer> = []
      req.on("data", (data: Buffer) => body.push(data))
      req.on("end", () => speak(res, Number(JSON.parse(Buffer.concat(body).toString("utf8")).input)))
      return
    }
    const body: Array<Buffer> = []
    req.on("data", (data: Buffer) => body.push(data))
    req.on("end", () => {
      const stream = (JSON.parse(Buffer.concat(body).toString("utf8")) as { stream?: boolean }).stream === true
      if (stream) {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
        res.end(events)
      } else {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) })
        res.end(answer)
      }
    })
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${(server.address() as { port: number }).port}\n`)
  })
}

/** Starts the upstream in a child process; resolves to its base URL (with `/v1`) and a way to stop it. */
export const start = async (): Promise<{ readonly baseUrl: string; readonly stop: () => void }> => {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--serve"], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once("data", (data: Buffer) => resolve(Number(String(data).trim())))
    child.once("exit", (code) => reject(new Error(`the upstream exited with ${code} before listening`)))
  })
  return { baseUrl: `http://127.0.0.1:${port}/v1`, stop: () => void child.kill() }
}

if (process.argv.includes("--serve")) serve()
