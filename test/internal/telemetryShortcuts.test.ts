import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { shortcuts } from "../../src/internal/middleware/telemetry.js"

describe("Telemetry's shortcuts through Effect's internals", () => {
  // Each shortcut falls back to the public API when Effect's internals change, keeping results but losing speed (see
  // `telemetry.ts`); this test is what notices.
  it.effect("are all taken with the Effect version the project pins", () =>
    Effect.withFiberRuntime((fiber) =>
      Effect.sync(() =>
        expect(shortcuts(fiber)).toEqual({ setFiberRef: true, restoreRefs: true, contextPrototype: true })
      )
    )
  )
})
