import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Validate from "../../src/internal/validate.js"

const base = { model: "m", messages: [{ role: "user", content: "hi" }] }

describe("validate", () => {
  it("accepts a plain request and one with every numeric field in range", () => {
    expect(Validate.chatProblem(base)).toBeUndefined()
    expect(
      Validate.chatProblem({
        ...base,
        max_tokens: 0,
        max_completion_tokens: 10,
        temperature: 0.2,
        top_p: 1,
        presence_penalty: -1,
        frequency_penalty: 2,
        n: 1,
        top_logprobs: 3,
        seed: -4,
        stop: null
      })
    ).toBeUndefined()
  })

  it.each([
    ["max_tokens", -1],
    ["max_tokens", Number.NaN],
    ["max_tokens", Number.POSITIVE_INFINITY],
    ["max_tokens", 1.5],
    ["max_completion_tokens", -3],
    ["temperature", Number.NaN],
    ["top_p", Number.NEGATIVE_INFINITY],
    ["presence_penalty", Number.NaN],
    ["frequency_penalty", Number.POSITIVE_INFINITY],
    ["n", 0],
    ["n", Number.NaN]
  ])("rejects %s = %s, naming the field", (field, value) => {
    const problem = Validate.chatProblem({ ...base, [field]: value })
    expect(problem?._tag).toBe("BadRequest")
    expect(problem?.message).toContain(field)
  })

  it("rejects a request whose messages are not a list", () => {
    const problem = Validate.chatProblem({ model: "m", messages: null })
    expect(problem?.message).toContain("messages")
  })

  it("rejects embeddings with a bad dimension count", () => {
    expect(Validate.embeddingProblem({ model: "e", input: "x" })).toBeUndefined()
    expect(Validate.embeddingProblem({ model: "e", input: "x", dimensions: -2 })?.message).toContain("dimensions")
  })

  it.effect("options name the component, the option and the value", () =>
    Effect.gen(function* () {
      const schema = Schema.Struct({ rpm: Schema.optional(Validate.PositiveInt) })
      expect(yield* Effect.exit(Validate.options("RateLimit.layer", schema, { rpm: 60 }))).toStrictEqual(Exit.void)
      const error = yield* Effect.flip(Validate.options("RateLimit.layer", schema, { rpm: 0 }))
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toContain("RateLimit.layer")
      expect(error.message).toContain("rpm")
      expect(error.message).toContain("got 0")
    })
  )
})
