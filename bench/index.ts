/**
 * `npm run bench`: runs every `bench/*.bench.ts` in its own process, one after another (so one benchmark's garbage
 * and JIT state do not colour the next), and prints their reports. Pass names to run a subset:
 * `npm run bench -- router sse`.
 */
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { cpus } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const wanted = process.argv.slice(2)
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort()

process.stdout.write(
  `# effect-liter-llm benchmarks — ${new Date().toISOString()} — ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}\n\n`
)
let failed = 0
for (const file of files) {
  process.stdout.write(`## ${file.replace(".bench.ts", "")}\n\n`)
  const result = spawnSync(process.execPath, ["--import", "tsx", "--expose-gc", join(here, file)], { stdio: "inherit" })
  if (result.status !== 0) failed++
  process.stdout.write("\n")
}
process.exit(failed === 0 ? 0 : 1)
