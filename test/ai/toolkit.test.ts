import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { EffectAi } from "../../src/ai/index.js"
import { body, upstream } from "./kit.js"

const Weather = Tool.make("weather", {
  description: "The weather in a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ celsius: Schema.Number })
})
const Time = Tool.make("time", { success: Schema.String })
const Tools = Toolkit.make(Weather, Time)

/** Handlers that record the cities asked for. */
const handlers = (asked: Ref.Ref<ReadonlyArray<string>>) =>
  Tools.toLayer({
    weather: ({ city }) =>
      Effect.as(
        Ref.update(asked, (cities) => [...cities, city]),
        { celsius: 3 }
      ),
    time: () => Effect.succeed("noon")
  })

const weatherCall = { id: "call_w", name: "weather", arguments: '{"city":"Oslo"}' }

describe("EffectAi.layer with an @effect/ai Toolkit, over real HTTP", () => {
  it.scoped("round trip: the model calls a tool, its handler runs, and the result goes back in the next request", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream({
        scripts: [{ reply: "", toolCalls: [weatherCall] }],
        script: { reply: "It is 3 °C in Oslo." }
      })
      const asked = yield* Ref.make<ReadonlyArray<string>>([])
      const ask = Effect.gen(function* () {
        const first = Prompt.make("What is the weather in Oslo?")
        const called = yield* LanguageModel.generateText({ prompt: first, toolkit: Tools })
        expect(called.finishReason).toBe("tool-calls")
        expect(called.toolResults.map((part) => [part.id, part.name, part.result])).toEqual([
          ["call_w", "weather", { celsius: 3 }]
        ])
        const next = Prompt.merge(first, Prompt.fromResponseParts(called.content))
        return yield* LanguageModel.generateText({ prompt: next, toolkit: Tools })
      })
      const answer = yield* ask.pipe(
        Effect.provide(EffectAi.layer({ model: "m" })),
        Effect.provide(Layer.merge(llm, handlers(asked)))
      )
      expect(answer.text).toBe("It is 3 °C in Oslo.")
      expect(yield* Ref.get(asked)).toEqual(["Oslo"])
      const sent = yield* body(server, 0)
      expect(sent.tool_choice).toBe("auto")
      expect(sent.tools).toEqual([
        {
          type: "function",
          function: {
            name: "weather",
            description: "The weather in a city",
            parameters: {
              type: "object",
              properties: { city: { type: "string" } },
              required: ["city"],
              additionalProperties: false
            },
            strict: true
          }
        },
        {
          type: "function",
          function: {
            name: "time",
            parameters: { type: "object", properties: {}, required: [], additionalProperties: false },
            strict: true
          }
        }
      ])
      expect((yield* body(server, 1)).messages).toEqual([
        { role: "user", content: "What is the weather in Oslo?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } }]
        },
        { role: "tool", tool_call_id: "call_w", content: '{"celsius":3}' }
      ])
    })
  )

  it.scoped("tool choice: none, required, one tool, and a required subset (only those tools are sent)", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream()
      const asked = yield* Ref.make<ReadonlyArray<string>>([])
      const choices = ["none", "required", { tool: "time" }, { mode: "required", oneOf: ["weather"] }] as const
      yield* Effect.forEach(choices, (toolChoice) =>
        LanguageModel.generateText({ prompt: "x", toolkit: Tools, toolChoice })
      ).pipe(Effect.provide(EffectAi.layer({ model: "m" })), Effect.provide(Layer.merge(llm, handlers(asked))))
      const sent = yield* Effect.forEach([0, 1, 2, 3], (i) => body(server, i))
      expect(sent.map((request) => request.tool_choice)).toEqual([
        "none",
        "required",
        { type: "function", function: { name: "time" } },
        "required"
      ])
      const names = (request: Record<string, unknown>) =>
        (request.tools as ReadonlyArray<{ function: { name: string } }>).map((tool) => tool.function.name)
      expect(sent.map(names)).toEqual([["weather", "time"], ["weather", "time"], ["weather", "time"], ["weather"]])
    })
  )

  it.scoped("a tool call answered with finish reason stop (some servers) still finishes with tool-calls", () =>
    Effect.gen(function* () {
      const call = { id: "c1", type: "function", function: { name: "time", arguments: "" } }
      const { llm } = yield* upstream({
        script: {
          body: {
            id: "x",
            model: "m",
            choices: [
              { index: 0, message: { role: "assistant", content: null, tool_calls: [call] }, finish_reason: "stop" }
            ]
          }
        }
      })
      const response = yield* LanguageModel.generateText({
        prompt: "x",
        toolkit: Tools,
        disableToolCallResolution: true
      }).pipe(
        Effect.provide(EffectAi.layer({ model: "m" })),
        Effect.provide(Layer.merge(llm, handlers(yield* Ref.make<ReadonlyArray<string>>([]))))
      )
      expect(response.finishReason).toBe("tool-calls")
      expect(response.toolCalls.map((part) => [part.name, part.params])).toEqual([["time", {}]])
    })
  )

  it.scoped("streaming with handlers: the tool result comes before the finish part, which is last", () =>
    Effect.gen(function* () {
      const { llm } = yield* upstream({ script: { reply: "", toolCalls: [weatherCall] } })
      const asked = yield* Ref.make<ReadonlyArray<string>>([])
      const parts = yield* Stream.runCollect(LanguageModel.streamText({ prompt: "x", toolkit: Tools })).pipe(
        Effect.provide(EffectAi.layer({ model: "m" })),
        Effect.provide(Layer.merge(llm, handlers(asked)))
      )
      const types = [...parts].map((part) => part.type)
      expect(types.slice(-3)).toEqual(["tool-call", "tool-result", "finish"])
      expect(yield* Ref.get(asked)).toEqual(["Oslo"])
    })
  )

  it.scoped("a provider-defined tool cannot be offered over chat completions: MalformedInput names it", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream()
      const Search = Tool.providerDefined({
        id: "openai.web_search",
        toolkitName: "WebSearch",
        providerName: "web_search",
        args: {}
      })
      const error = yield* LanguageModel.generateText({
        prompt: "x",
        toolkit: Toolkit.make(Search({})),
        disableToolCallResolution: true
      }).pipe(Effect.provide(EffectAi.layer({ model: "m" })), Effect.provide(llm), Effect.flip)
      expect(error._tag).toBe("MalformedInput")
      expect(error._tag === "MalformedInput" && error.description).toContain('tool "WebSearch"')
      expect(yield* server.requests).toHaveLength(0)
    })
  )
})
