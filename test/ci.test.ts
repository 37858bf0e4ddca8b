/**
 * Repository checks: `.ci/public-api.mjs`, which `.ci/run` relies on, must accept public Effect code and name each kind
 * of access to Effect's internals; and the README's example must be the typechecked examples/readme.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "..")
const script = Path.join(root, ".ci/public-api.mjs")

/** Runs the checker over a folder holding one file with `source`. */
const check = (source: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "liter-api-"))),
    (dir) =>
      Effect.sync(() => {
        Fs.mkdirSync(Path.join(dir, "nested"))
        Fs.writeFileSync(Path.join(dir, "nested", "code.ts"), source)
        const run = spawnSync(process.execPath, [script, dir], { encoding: "utf8" })
        return { status: run.status, output: run.stdout + run.stderr }
      }),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )

describe(".ci/public-api.mjs", () => {
  it.effect("accepts public modules, FiberRef.currentContext, and internals named only in comments", () =>
    Effect.gen(function* () {
      const result = yield* check(
        [
          'import * as FiberRef from "effect/FiberRef"',
          'import * as Internal from "./internal/thing.js"',
          "// never read fiber._fiberRefs or context.unsafeMap",
          "export const context = FiberRef.get(FiberRef.currentContext)"
        ].join("\n")
      )
      expect(result).toEqual({ status: 0, output: expect.stringContaining("public-api: ok") })
    })
  )

  it.effect("names each kind of access to Effect's internals, with file and line", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ['import * as core from "effect/internal/core"', "internal module"],
        ['import { x } from "@effect/platform/internal/httpClient"', "internal module"],
        ["const refs = fiber._fiberRefs", "_fiberRefs"],
        ["fiber.setFiberRefs(refs)", "setFiberRef"],
        ["const map = context.unsafeMap", "unsafeMap"],
        ["const context = fiber.currentContext", ".currentContext"],
        ['const span = { _tag: "Span", name }', "span by hand"]
      ]
      for (const [line, named] of cases) {
        const result = yield* check(`export const ok = 1\n${line}\n`)
        expect(result.status).toBe(1)
        expect(result.output).toContain("nested/code.ts:2:")
        expect(result.output).toContain(named)
      }
    })
  )
})

describe("README.md", () => {
  it.effect("its example is examples/readme.ts, which the typechecker checks, import for import", () =>
    Effect.sync(() => {
      const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
      const example = /## A short example\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1]
      const file = Fs.readFileSync(Path.join(root, "examples/readme.ts"), "utf8")
      const code = file.slice(file.indexOf("\nimport ") + 1)
      expect(example).toBe(code.replace('from "../src/index.js"', 'from "effect-liter-llm"'))
    })
  )
})
