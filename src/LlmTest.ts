/**
 * A scriptable fake `LlmService` for tests — yours and ours. It answers every operation (chat, streams, embeddings,
 * images, speech, transcription, moderation, rerank — or only those listed in `operations`) instantly (or after `latency`, which
 * `TestClock` drives), fails the way you script it, streams its reply in as many chunks as you ask, and records the
 * requests it received. Like the real providers, it refuses a request with out-of-range numbers (a `NaN`
 * `temperature`, a negative `max_tokens` …) with a `BadRequest` naming the field, before recording or counting it.
 *
 * ```ts
 * const flaky = LlmTest.layer({ failures: [new LiterLlmError.ServiceUnavailable()], reply: "hello" })
 * // first call fails with ServiceUnavailable, every later call answers "hello"
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type * as Chat from "./Chat.js"
import type * as Embedding from "./Embedding.js"
import * as LiterLlmError from "./LiterLlmError.js"
import * as LlmService from "./LlmService.js"
import type * as Models from "./Models.js"
import { estimatePromptTokens, estimateTokens } from "./internal/tokens.js"
import { withRequestChecks } from "./internal/requestChecks.js"
import * as TestOps from "./internal/testOps.js"

/**
 * How the fake behaves. Every option has a default that makes the fake a healthy, instant deployment.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The text of every answer. Default `"ok"`. */
  readonly reply?: string | undefined
  /** Errors returned by the first calls (chat, chatStream, embed), one per call, in order; then success. */
  readonly failures?: ReadonlyArray<LiterLlmError.LiterLlmError> | undefined
  /** Fail every call (including `listModels`) with this error: a dead deployment. */
  readonly fail?: LiterLlmError.LiterLlmError | undefined
  /**
   * Fail this fraction (0..1) of calls, drawn from Effect's `Random` (seed it for exact tests), with
   * `failureError` (default `ServiceUnavailable`).
   */
  readonly failureRate?: number | undefined
  /** The error of `failureRate` failures. */
  readonly failureError?: LiterLlmError.LiterLlmError | undefined
  /** How long to wait before answering (before the first chunk, for streams). Uses `Effect.sleep`. */
  readonly latency?: Duration.DurationInput | undefined
  /** How many content chunks a streamed reply is split into. Default 1. A final chunk carries usage. */
  readonly chunks?: number | undefined
  /** Delay between stream chunks. Default none. */
  readonly chunkDelay?: Duration.DurationInput | undefined
  /** Make streams fail with `error` (default `Streaming`) after emitting `afterChunks` content chunks. */
  readonly streamFailure?:
    { readonly afterChunks: number; readonly error?: LiterLlmError.LiterLlmError | undefined } | undefined
  /** Token counts reported. Default: about one token per four characters of prompt and reply. */
  readonly usage?:
    | {
        readonly prompt_tokens?: number | undefined
        readonly completion_tokens?: number | undefined
        readonly cached_tokens?: number | undefined
      }
    | undefined
  /** The model named in responses. Default: the request's model. */
  readonly model?: string | undefined
  /** Dimensions of the fake embedding vectors. Default 8. */
  readonly dimensions?: number | undefined
  /**
   * The operations this fake serves (default: all); the others fail with `EndpointNotSupported`, as a real provider
   * without them does. E.g. `["chat", "chatStream"]` for a chat-only deployment.
   */
  readonly operations?: ReadonlyArray<LlmService.Operation> | undefined
  /** The bytes of every speech answer (default 1 KiB of a fixed pattern), streamed in `chunks` pieces. */
  readonly audio?: Uint8Array | undefined
  /** Inputs containing one of these words are flagged by `moderate` (default none). */
  readonly flagged?: ReadonlyArray<string> | undefined
}

/**
 * A fake service and what it has seen.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestService {
  readonly service: LlmService.Service
  /** Every chat request received (chat and chatStream), oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<Chat.ChatCompletionRequest>>
  /** How many calls (every operation but `listModels`) were made. */
  readonly calls: Effect.Effect<number>
}

const splitReply = (reply: string, parts: number): ReadonlyArray<string> => {
  const n = Math.max(1, Math.floor(parts))
  // Even cut points: no piece is empty unless the reply has fewer characters than pieces.
  const cut = (i: number) => Math.floor((i * reply.length) / n)
  const out: Array<string> = []
  for (let i = 0; i < n; i++) out.push(reply.slice(cut(i), cut(i + 1)))
  return out
}

/**
 * Builds a fake service; its state (call counter, recorded requests) belongs to this one service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<TestService> =>
  Effect.gen(function* () {
    const reply = options.reply ?? "ok"
    const failures = options.failures ?? []
    const latency = options.latency === undefined ? undefined : Duration.decode(options.latency)
    const chunkDelay = options.chunkDelay === undefined ? undefined : Duration.decode(options.chunkDelay)
    const counter = yield* Ref.make(0)
    // An append-only log owned by this service; copying an immutable array per call made 10,000 calls quadratic.
    const log: Array<Chat.ChatCompletionRequest> = []
    const record = (request: Chat.ChatCompletionRequest) => Effect.sync(() => void log.push(request))

    const failureRateError = options.failureError ?? new LiterLlmError.ServiceUnavailable({ provider: "test" })

    /** Takes a call number and decides whether this call fails. */
    const admit: Effect.Effect<number, LiterLlmError.LiterLlmError> = Effect.gen(function* () {
      const call = yield* Ref.getAndUpdate(counter, (n) => n + 1)
      if (options.fail !== undefined) return yield* Effect.fail(options.fail)
      if (call < failures.length) return yield* Effect.fail(failures[call])
      if (options.failureRate !== undefined && options.failureRate > 0) {
        const draw = yield* Random.next
        if (draw < options.failureRate) return yield* Effect.fail(failureRateError)
      }
      return call
    })

    const wait = latency === undefined ? Effect.void : Effect.sleep(latency)

    const usageFor = (request: Chat.ChatCompletionRequest): Chat.Usage => {
      const prompt = options.usage?.prompt_tokens ?? estimatePromptTokens(request)
      const completion = options.usage?.completion_tokens ?? estimateTokens(reply)
      const cached = options.usage?.cached_tokens
      return {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        ...(cached === undefined ? {} : { prompt_tokens_details: { cached_tokens: cached } })
      }
    }

    const chat = (request: Chat.ChatCompletionRequest) =>
      Effect.gen(function* () {
        yield* record(request)
        yield* wait
        const call = yield* admit
        const created = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const response: Chat.ChatCompletionResponse = {
          id: `chatcmpl-test-${call}`,
          object: "chat.completion",
          created,
          model: options.model ?? request.model,
          choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop" }],
          usage: usageFor(request)
        }
        return response
      })

    const chatStream = (request: Chat.ChatCompletionRequest) =>
      Stream.unwrap(
        Effect.gen(function* () {
          yield* record(request)
          yield* wait
          const call = yield* admit
          const created = Math.floor((yield* Clock.currentTimeMillis) / 1000)
          const base = {
            id: `chatcmpl-test-${call}`,
            object: "chat.completion.chunk",
            created,
            model: options.model ?? request.model
          }
          const pieces = splitReply(reply, options.chunks ?? 1)
          const content: Array<Chat.ChatCompletionChunk> = pieces.map((text, i) => ({
            ...base,
            choices: [
              {
                index: 0,
                delta: i === 0 ? { role: "assistant", content: text } : { content: text },
                finish_reason: i === pieces.length - 1 ? "stop" : null
              }
            ]
          }))
          const last: Chat.ChatCompletionChunk = { ...base, choices: [], usage: usageFor(request) }
          const failure = options.streamFailure
          const emitted =
            failure === undefined
              ? Stream.fromIterable([...content, last])
              : Stream.concat(
                  Stream.fromIterable(content.slice(0, failure.afterChunks)),
                  Stream.fail(
                    failure.error ??
                      new LiterLlmError.Streaming({
                        provider: "test",
                        message: `test stream broke after ${failure.afterChunks} chunk(s)`
                      })
                  )
                )
          if (chunkDelay === undefined) return emitted
          // The first chunk is already delayed by `latency`; the delay separates later chunks.
          return emitted.pipe(
            Stream.zipWithIndex,
            Stream.tap(([, i]) => (i === 0 ? Effect.void : Effect.sleep(chunkDelay))),
            Stream.map(([chunk]) => chunk)
          )
        })
      )

    const embed = (request: Embedding.EmbeddingRequest) =>
      Effect.gen(function* () {
        yield* wait
        yield* admit
        const inputs: ReadonlyArray<unknown> =
          typeof request.input === "string" ? [request.input] : (request.input as ReadonlyArray<unknown>)
        const isTokenArray = inputs.length > 0 && typeof inputs[0] === "number"
        const items = isTokenArray ? [inputs] : inputs
        const dims = request.dimensions ?? options.dimensions ?? 8
        const response: Embedding.EmbeddingResponse = {
          object: "list",
          model: options.model ?? request.model,
          data: items.map((item, index) => ({
            object: "embedding",
            index,
            embedding: fakeVector(JSON.stringify(item), dims)
          })),
          usage: { prompt_tokens: items.length, total_tokens: items.length }
        }
        return response
      })

    const listModels: Effect.Effect<Models.ModelList, LiterLlmError.LiterLlmError> =
      options.fail === undefined
        ? Effect.succeed({
            object: "list",
            data: [{ id: options.model ?? "test-model", object: "model", owned_by: "test" }]
          })
        : Effect.fail(options.fail)

    const more = TestOps.make(
      {
        reply,
        model: options.model,
        audio: options.audio ?? defaultAudio,
        chunks: options.chunks ?? 1,
        flagged: options.flagged ?? []
      },
      admit,
      wait
    )
    const all: Omit<LlmService.Service, "provider"> = { chat, chatStream, embed, listModels, ...more }
    const served =
      options.operations === undefined
        ? all
        : Object.fromEntries(options.operations.map((name) => [name, all[name]] as const))
    return {
      service: LlmService.make(withRequestChecks({ provider: "test", ...served })),
      requests: Effect.sync(() => log.slice()),
      calls: Ref.get(counter)
    }
  })

const defaultAudio = Uint8Array.from({ length: 1024 }, (_, i) => (i * 31) % 256)

/** A deterministic unit-length vector derived from the text, so equal inputs embed equally. */
const fakeVector = (text: string, dims: number): ReadonlyArray<number> => {
  let h = 2166136261
  const out: Array<number> = []
  for (let i = 0; i < dims; i++) {
    for (let j = 0; j < text.length; j++) h = Math.imul(h ^ text.charCodeAt(j) ^ i, 16777619)
    out.push(((h >>> 0) % 2000) / 1000 - 1)
  }
  const norm = Math.sqrt(out.reduce((s, x) => s + x * x, 0)) || 1
  return out.map((x) => x / norm)
}

/**
 * A layer providing a fake `LlmService`; each build of the layer has its own state.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<LlmService.LlmService> =>
  Layer.effect(
    LlmService.LlmService,
    Effect.map(make(options), (test) => test.service)
  )
