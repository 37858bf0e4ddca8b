/**
 * `npm run bench`: compiles the library once (tsc, into the git-ignored `.tmp/bench-library`), then runs every
 * `bench/*.bench.ts` in its own process, one after another, so one benchmark's garbage and JIT state do not colour
 * the next. `npm run bench -- router sse` runs a subset; `--rounds N` sets the rounds per comparison (few for a
 * smoke run); `--source` measures the TypeScript sources through tsx instead of the compiled library.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { cpus } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..")

const args = process.argv.slice(2)
const env: Record<string, string | undefined> = { ...process.env }
const wanted: Array<string> = []
let fromSource = false
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!
  if (arg === "--rounds") env.BENCH_ROUNDS = args[++i]
  else if (arg === "--source") fromSource = true
  else if (arg.startsWith("--")) throw new Error(`unknown option ${arg} (known: --rounds N, --source)`)
  else wanted.push(arg)
}
const all = readdirSync(here)
  .filter((file) => file.endsWith(".bench.ts"))
  .map((file) => file.slice(0, -".bench.ts".length))
  .sort()
const unknown = wanted.filter((name) => !all.includes(name))
if (unknown.length > 0) throw new Error(`no benchmark named ${unknown.join(", ")} (known: ${all.join(", ")})`)

if (!fromSource) {
  // Inside the project, so the compiled files resolve `effect` from its node_modules; never inside node_modules,
  // which other checkouts may share.
  const out = join(root, ".tmp", "bench-library")
  rmSync(out, { recursive: true, force: true })
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  const flags = ["-p", "tsconfig.build.json", "--outDir", out, "--declaration", "false", "--sourceMap", "false"]
  // A type error elsewhere does not stop tsc from emitting; only a missing entry point is fatal.
  spawnSync(process.execPath, [tsc, ...flags], { cwd: root, stdio: "ignore" })
  const entry = join(out, "index.js")
  if (!existsSync(entry)) throw new Error(`tsc did not produce ${entry}; run npm run build to see why`)
  env.BENCH_LIBRARY = pathToFileURL(entry).href
}

process.stdout.write(
  `# effect-liter-llm benchmarks — ${new Date().toISOString()} — ${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, ` +
    `node ${process.version}, ${fromSource ? "sources through tsx" : "library compiled by tsc"}\n\n`
)
let failed = 0
for (const name of wanted.length === 0 ? all : all.filter((n) => wanted.includes(n))) {
  process.stdout.write(`## ${name}\n\n`)
  const file = join(here, `${name}.bench.ts`)
  const result = spawnSync(process.execPath, ["--import", "tsx", file], { stdio: "inherit", env })
  if (result.status !== 0) failed++
  process.stdout.write("\n")
}
process.exit(failed === 0 ? 0 : 1)
