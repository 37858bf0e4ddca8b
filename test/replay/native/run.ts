/**
 * One call of a real provider layer against a replay server: `chat`, or `chatStream` collected and assembled the
 * way a caller would, so that every split mode can be compared on the same value. Time is the test's clock and
 * randomness a seeded `Random`, so ids and timestamps do not differ between modes.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Chat from "../../../src/Chat.js"
import * as LlmService from "../../../src/LlmService.js"
import * as Anthropic from "../../../src/providers/Anthropic.js"
import * as Gemini from "../../../src/providers/Gemini.js"

export type Provider = "anthropic" | "gemini"

const layerFor = (provider: Provider, url: string) =>
  (provider === "anthropic"
    ? Anthropic.layer({ apiKey: Redacted.make("sk-ant-replay-key"), baseUrl: url })
    : Gemini.layer({ apiKey: Redacted.make("AIza-replay-key"), baseUrl: url })
  ).pipe(Layer.provide(FetchHttpClient.layer))

/** A request of the provider's model family. */
export const request = (provider: Provider, extra: Partial<Chat.ChatCompletionRequest> = {}) => ({
  model: provider === "anthropic" ? "claude-sonnet-4-5" : "gemini-2.5-flash",
  messages: [{ role: "user" as const, content: "Hello" }],
  ...extra
})

/** What a streamed answer amounts to: its chunks and their assembly. */
export interface Streamed {
  readonly chunks: ReadonlyArray<Chat.ChatCompletionChunk>
  readonly assembled: Chat.ChatCompletionResponse
}

const seeded = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withRandom(effect, Random.make("replay"))

/** `chat` against the server at `url`. */
export const chat = (provider: Provider, extra?: Partial<Chat.ChatCompletionRequest>) => (url: string) =>
  seeded(LlmService.chat(request(provider, extra))).pipe(Effect.provide(layerFor(provider, url)))

/** `chatStream` against the server at `url`, collected and assembled. */
export const stream = (provider: Provider, extra?: Partial<Chat.ChatCompletionRequest>) => (url: string) =>
  seeded(
    Effect.map(Stream.runCollect(LlmService.chatStream(request(provider, extra))), (all): Streamed => {
      const chunks = [...all]
      return { chunks, assembled: Chat.assembleChunks(chunks) }
    })
  ).pipe(Effect.provide(layerFor(provider, url)))

/** The tool calls of an answer as [name, arguments] pairs (the type, for a call of another kind). */
export const toolCalls = (response: Chat.ChatCompletionResponse): ReadonlyArray<readonly [string, string]> =>
  (response.choices[0]?.message.tool_calls ?? []).map((call) =>
    Schema.is(Chat.FunctionToolCall)(call) ? [call.function.name, call.function.arguments] : [call.type, ""]
  )
