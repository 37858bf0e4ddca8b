import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import { EffectAi } from "../../src/ai/index.js"
import * as Deployment from "../../src/Deployment.js"
import * as LlmTest from "../../src/LlmTest.js"
import * as Router from "../../src/Router.js"
import * as Strategy from "../../src/Strategy.js"
import { recordingTracer } from "../support/tracing.js"
import { body, upstream } from "./kit.js"

const completion = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: "chatcmpl-42",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini-2024",
  choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: "stop" }],
  usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
  ...extra
})

describe("EffectAi.layer: generateText over real HTTP", () => {
  it.scoped("answers with the text, finish reason, usage and response metadata, and sends the settings", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream({ script: { reply: "Hello there", usage: { promptTokens: 5 } } })
      const response = yield* LanguageModel.generateText({
        prompt: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Say hello" }
        ]
      }).pipe(
        EffectAi.withConfigOverride({ max_tokens: 64, seed: 7, stop: ["\n\n"] }),
        Effect.provide(EffectAi.layer({ model: "gpt-4o-mini", config: { temperature: 0.2, top_p: 0.9 } })),
        Effect.provide(llm)
      )
      expect(response.text).toBe("Hello there")
      expect(response.finishReason).toBe("stop")
      expect(response.usage.inputTokens).toBe(5)
      expect(response.usage.outputTokens).toBeGreaterThan(0)
      const metadata = response.content.find((part) => part.type === "response-metadata")
      expect(metadata?.type === "response-metadata" && Option.getOrNull(metadata.modelId)).toBe("gpt-4o-mini")
      expect(yield* body(server)).toEqual({
        model: "gpt-4o-mini",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Say hello" }
        ],
        temperature: 0.2,
        top_p: 0.9,
        max_tokens: 64,
        seed: 7,
        stop: ["\n\n"]
      })
    })
  )

  it.scoped("a config override wins over the layer's config, the model included, and only inside its effect", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream()
      const call = LanguageModel.generateText({ prompt: "hi" })
      yield* Effect.gen(function* () {
        yield* call.pipe(EffectAi.withConfigOverride({ model: "other-group", temperature: 1 }))
        yield* call
      }).pipe(Effect.provide(EffectAi.layer({ model: "gpt-4o-mini", config: { temperature: 0 } })), Effect.provide(llm))
      expect(yield* body(server, 0)).toMatchObject({ model: "other-group", temperature: 1 })
      expect(yield* body(server, 1)).toMatchObject({ model: "gpt-4o-mini", temperature: 0 })
    })
  )

  it.scoped("maps every kind of prompt message and part onto chat-completion messages", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream()
      const prompt = Prompt.make([
        { role: "system", content: "sys" },
        {
          role: "user",
          content: [
            { type: "text", text: "look" },
            { type: "file", mediaType: "image/png", data: new Uint8Array([1, 2, 3]) },
            { type: "file", mediaType: "image/jpeg", data: new URL("https://example.test/cat.jpg") },
            { type: "file", mediaType: "application/pdf", fileName: "a.pdf", data: "JVBERi0=" },
            { type: "file", mediaType: "audio/wav", data: "UklGRg==" }
          ]
        },
        {
          role: "assistant",
          content: [
            { type: "reasoning", text: "thinking…" },
            { type: "text", text: "Let me check." },
            { type: "tool-call", id: "call_1", name: "weather", params: { city: "Oslo" } }
          ]
        },
        {
          role: "tool",
          content: [
            {
              type: "tool-result",
              id: "call_1",
              name: "weather",
              result: { celsius: 3 },
              isFailure: false,
              providerExecuted: false
            },
            {
              type: "tool-result",
              id: "call_2",
              name: "note",
              result: "plain text",
              isFailure: false,
              providerExecuted: false
            }
          ]
        }
      ])
      yield* LanguageModel.generateText({ prompt }).pipe(
        Effect.provide(EffectAi.layer({ model: "m" })),
        Effect.provide(llm)
      )
      expect((yield* body(server)).messages).toEqual([
        { role: "system", content: "sys" },
        {
          role: "user",
          content: [
            { type: "text", text: "look" },
            { type: "image_url", image_url: { url: "data:image/png;base64,AQID" } },
            { type: "image_url", image_url: { url: "https://example.test/cat.jpg" } },
            { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } },
            { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }
          ]
        },
        {
          role: "assistant",
          content: "Let me check.",
          tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } }]
        },
        { role: "tool", tool_call_id: "call_1", content: '{"celsius":3}' },
        { role: "tool", tool_call_id: "call_2", content: "plain text" }
      ])
    })
  )

  it.scoped("reads reasoning, reasoning and cached token counts, and a refusal", () =>
    Effect.gen(function* () {
      const { llm } = yield* upstream({
        script: {
          body: completion(
            { content: "42", reasoning_content: "6 times 7", refusal: "not that part" },
            {
              usage: {
                prompt_tokens: 100,
                completion_tokens: 30,
                total_tokens: 130,
                prompt_tokens_details: { cached_tokens: 64 },
                completion_tokens_details: { reasoning_tokens: 20 }
              }
            }
          )
        }
      })
      const response = yield* LanguageModel.generateText({ prompt: "6*7?" }).pipe(
        Effect.provide(EffectAi.layer({ model: "m" })),
        Effect.provide(llm)
      )
      expect(response.text).toBe("42")
      expect(response.reasoningText).toBe("6 times 7")
      expect(response.usage).toMatchObject({
        inputTokens: 100,
        outputTokens: 30,
        totalTokens: 130,
        reasoningTokens: 20,
        cachedInputTokens: 64
      })
      const refusal = response.content.find((part) => part.type === "text" && part.metadata.effectLiterLlm)
      expect(refusal?.metadata).toEqual({ effectLiterLlm: { refusal: "not that part" } })
    })
  )

  it.scoped("maps finish reasons: length, content_filter and one it does not know", () =>
    Effect.gen(function* () {
      const finishing = (finish_reason: string, message: Record<string, unknown> = { content: "x" }) => ({
        body: { ...completion(message), choices: [{ index: 0, message, finish_reason }] }
      })
      const { llm } = yield* upstream({
        scripts: [finishing("length"), finishing("content_filter"), finishing("end_of_turn_v9")]
      })
      const reasons = yield* Effect.forEach([1, 2, 3], () =>
        LanguageModel.generateText({ prompt: "x" }).pipe(Effect.map((response) => response.finishReason))
      ).pipe(Effect.provide(EffectAi.layer({ model: "m" })), Effect.provide(llm))
      expect(reasons).toEqual(["length", "content-filter", "other"])
    })
  )

  it.scoped("a setting out of range fails with MalformedInput naming it, and nothing is sent", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream()
      const error = yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        EffectAi.withConfigOverride({ temperature: Number.NaN }),
        Effect.provide(EffectAi.layer({ model: "m" })),
        Effect.provide(llm),
        Effect.flip
      )
      expect(error._tag).toBe("MalformedInput")
      expect(error.message).toContain("temperature")
      expect(yield* server.requests).toHaveLength(0)
    })
  )

  it.scoped("a part chat completions cannot carry fails with MalformedInput naming it, and nothing is sent", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream()
      const prompt = Prompt.make([
        {
          role: "user",
          content: [{ type: "file", mediaType: "application/pdf", data: new URL("https://example.test/a.pdf") }]
        }
      ])
      const error = yield* LanguageModel.generateText({ prompt }).pipe(
        Effect.provide(EffectAi.layer({ model: "m" })),
        Effect.provide(llm),
        Effect.flip
      )
      expect(error._tag).toBe("MalformedInput")
      expect(error.message).toContain("prompt message 0 (user), part 0")
      expect(error.message).toContain("https://example.test/a.pdf")
      expect(yield* server.requests).toHaveLength(0)
    })
  )

  it.effect("@effect/ai's span carries GenAI attributes, and the router's span is its child", () =>
    Effect.gen(function* () {
      const spans: Array<Tracer.Span> = []
      const recording = yield* recordingTracer(spans)
      const router = Router.layer({
        deployments: [Deployment.make({ name: "fake", layer: LlmTest.layer({ reply: "hi" }) })],
        strategy: Strategy.roundRobin()
      })
      yield* LanguageModel.generateText({ prompt: "x" }).pipe(
        EffectAi.withConfigOverride({ temperature: 0.5 }),
        Effect.provide(EffectAi.layer({ model: "m" })),
        Effect.provide(router),
        Effect.withTracer(recording)
      )
      const [model] = spans.filter((span) => span.name === "LanguageModel.generateText")
      const [routed] = spans.filter((span) => span.name === "Router.chat")
      expect(model!.attributes.get("gen_ai.system")).toBe("effect-liter-llm")
      expect(model!.attributes.get("gen_ai.request.model")).toBe("m")
      expect(model!.attributes.get("gen_ai.request.temperature")).toBe(0.5)
      expect(model!.attributes.get("gen_ai.response.finish_reasons")).toEqual(["stop"])
      expect(model!.attributes.get("gen_ai.usage.output_tokens")).toBeGreaterThan(0)
      expect(Option.getOrUndefined(routed!.parent)?.spanId).toBe(model!.spanId)
    })
  )
})
