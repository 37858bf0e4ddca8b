/**
 * Loads the library's modules as users run them: compiled by `tsc` (into node_modules/.cache/effect-liter-llm-bench,
 * ~20 s before the first sample), not transformed on the fly by tsx, whose `keepNames` wraps function literals in
 * `__name(...)` calls that cost per call and inflate per-call numbers. `BENCH_FROM_SOURCE=1` loads the TypeScript
 * sources through tsx instead.
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

let compiled: Promise<(name: string) => string> | undefined

const compile = async (): Promise<(name: string) => string> => {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..")
  if (process.env.BENCH_FROM_SOURCE !== undefined) return (name) => join(root, "src", `${name}.ts`)
  // Inside node_modules, so the compiled files resolve `effect` from the project's own dependencies.
  const out = join(root, "node_modules", ".cache", "effect-liter-llm-bench")
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  const args = [tsc, "-p", "tsconfig.build.json", "--outDir", out, "--declaration", "false", "--sourceMap", "false"]
  // Type errors elsewhere in the tree do not stop tsc from emitting; only a missing output is fatal.
  spawnSync(process.execPath, args, { cwd: root, stdio: "ignore" })
  if (!existsSync(join(out, "index.js"))) throw new Error(`tsc did not produce ${out}/index.js; run npm run build`)
  return (name) => join(out, `${name}.js`)
}

/** Imports one module of the library (`"Router"`, `"internal/tokens"`), compiled unless `BENCH_FROM_SOURCE` is set. */
export const library = async <M>(name: string): Promise<M> => {
  compiled ??= compile()
  const path = (await compiled)(name)
  return (await import(pathToFileURL(path).href)) as M
}
