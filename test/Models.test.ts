import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import * as Models from "../src/Models.js"

describe("ModelList", () => {
  it("decodes OpenAI's list", () => {
    const list = Schema.decodeUnknownSync(Models.ModelList)({
      object: "list",
      data: [
        { id: "gpt-4o-mini", object: "model", created: 1_721_172_741, owned_by: "system" },
        { id: "o3", object: "model", created: 1_744_225_308, owned_by: "system", shutdown_date: null }
      ]
    })
    expect(list.data.map((m) => m.id)).toEqual(["gpt-4o-mini", "o3"])
    expect(list.data[0]).toEqual({ id: "gpt-4o-mini", object: "model", created: 1_721_172_741, owned_by: "system" })
  })

  it("tolerates servers that leave out object, created and owned_by, or send nulls", () => {
    const list = Schema.decodeUnknownSync(Models.ModelList)({
      data: [{ id: "llama3" }, { id: "mistral", created: null, owned_by: null, meta: { size: 7 } }]
    })
    expect(list.object).toBe("list")
    expect(list.data[0]).toEqual({ id: "llama3", object: "model" })
    expect(list.data[1]).toEqual({ id: "mistral", object: "model", created: null, owned_by: null })
  })

  it("rejects a model without an id", () => {
    expect(Either.isLeft(Schema.decodeUnknownEither(Models.ModelList)({ data: [{ object: "model" }] }))).toBe(true)
  })
})
