import * as LanguageModel from "@effect/ai/LanguageModel"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { EffectAi } from "../../src/ai/index.js"
import { body, upstream } from "./kit.js"

const Person = Schema.Struct({
  name: Schema.String,
  age: Schema.Number
}).annotations({ identifier: "Person", description: "A person" })

describe("EffectAi.layer: generateObject over real HTTP", () => {
  it.scoped("asks for a strict json_schema answer built from the Schema and decodes the reply into it", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream({ script: { reply: '{"name":"Ada","age":36}' } })
      const response = yield* LanguageModel.generateObject({
        prompt: "Who wrote the first program?",
        schema: Person
      }).pipe(Effect.provide(EffectAi.layer({ model: "m" })), Effect.provide(llm))
      expect(response.value).toEqual({ name: "Ada", age: 36 })
      expect((yield* body(server)).response_format).toEqual({
        type: "json_schema",
        json_schema: {
          name: "generateObject", // @effect/ai's name when no objectName is given
          description: "A person",
          schema: {
            type: "object",
            description: "A person",
            properties: { name: { type: "string" }, age: { type: "number" } },
            required: ["name", "age"],
            additionalProperties: false
          },
          strict: true
        }
      })
    })
  )

  it.scoped("objectName names the schema (made safe for the API), and strict: false is sent as configured", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream({ script: { reply: '{"name":"Ada","age":36}' } })
      yield* LanguageModel.generateObject({ prompt: "x", schema: Person, objectName: "the person.v2" }).pipe(
        EffectAi.withConfigOverride({ strict: false }),
        Effect.provide(EffectAi.layer({ model: "m" })),
        Effect.provide(llm)
      )
      const format = (yield* body(server)).response_format as { json_schema: { name: string; strict: boolean } }
      expect(format.json_schema.name).toBe("the_person_v2")
      expect(format.json_schema.strict).toBe(false)
      expect(yield* body(server)).not.toHaveProperty("strict")
    })
  )

  it.scoped("an answer that does not match the Schema fails with MalformedOutput", () =>
    Effect.gen(function* () {
      const { llm } = yield* upstream({ script: { reply: '{"name":"Ada","age":"old"}' } })
      const error = yield* LanguageModel.generateObject({ prompt: "x", schema: Person }).pipe(
        Effect.provide(EffectAi.layer({ model: "m" })),
        Effect.provide(llm),
        Effect.flip
      )
      expect(error._tag).toBe("MalformedOutput")
    })
  )
})
