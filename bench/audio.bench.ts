/**
 * Audio in bounded memory (issue 19): a 200 MB transcription upload read from a lazy stream, and a 200 MB speech
 * answer drained as it arrives, through our OpenAI-compatible client to a loopback upstream in its own process. What
 * matters is the client's peak resident memory while the bytes pass: it must stay far below the payload's size.
 * Resident memory is sampled every 10 ms; reported as the growth over the process's resident size before the run.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { Lib } from "./library.js"
import { start } from "./upstream.js"

const { LlmService, OpenAiCompatible } = Lib

const MB = 1024 * 1024
const SIZE = Number(process.env.BENCH_AUDIO_MB ?? 200) * MB
const PIECE = new Uint8Array(64 * 1024).fill(3)

/** Runs `task`, sampling resident memory; gives the peak growth in MB and the MB/s moved. */
const measure = async (task: () => Promise<unknown>) => {
  globalThis.gc?.()
  const before = process.memoryUsage().rss
  let peak = before
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10)
  const begin = performance.now()
  await task()
  const seconds = (performance.now() - begin) / 1000
  clearInterval(timer)
  peak = Math.max(peak, process.memoryUsage().rss)
  return { growth: (peak - before) / MB, rate: SIZE / MB / seconds }
}

const upstream = await start()
try {
  const runtime = ManagedRuntime.make(
    Layer.effect(
      LlmService.LlmService,
      OpenAiCompatible.make({ baseUrl: upstream.baseUrl, maxFileSize: SIZE + 1 })
    ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  )
  const upload = Stream.repeatValue(PIECE).pipe(Stream.take(Math.ceil(SIZE / PIECE.length)))
  const transcription = await measure(() =>
    runtime.runPromise(
      LlmService.transcribe({ model: "whisper-1", file: upload, filename: "long.wav" }).pipe(
        Effect.filterOrDie(
          (answer) => Number.parseInt(answer.text.replace("received ", ""), 10) > SIZE,
          (answer) => new Error(`the upstream did not receive the whole upload: ${answer.text}`)
        )
      )
    )
  )
  const speech = await measure(() =>
    runtime.runPromise(
      Effect.flatMap(LlmService.speech({ model: "tts-1", voice: "alloy", input: String(SIZE) }), (answer) =>
        Stream.runFold(answer.audio, 0, (total, chunk) => total + chunk.length)
      ).pipe(Effect.filterOrDieMessage((total) => total === SIZE, "the speech answer lost bytes"))
    )
  )
  await runtime.dispose()
  const row = (what: string, m: { growth: number; rate: number }) =>
    `| ${what} | ${SIZE / MB} MB | ${m.growth.toFixed(1)} MB | ${m.rate.toFixed(0)} MB/s |`
  process.stdout.write(
    [
      "| operation | payload | peak RSS growth | throughput |",
      "| --- | --- | --- | --- |",
      row("transcription upload (a lazy byte stream, multipart)", transcription),
      row("speech answer (drained as it arrives)", speech),
      ""
    ].join("\n")
  )
} finally {
  upstream.stop()
}
