#!/usr/bin/env node
// Fails when the sources reach past Effect's public API: an import of an `internal` module of effect or an @effect
// package, or a read or write of a fiber's or a context's private state. Such code breaks silently on an Effect
// update, so CI refuses it (issue 13). Usage: node .ci/public-api.mjs [folder ...], default src.
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"

const rules = [
  {
    name: "imports an internal module of effect or @effect/* (use the public modules)",
    test: (line) => /["'](?:effect|@effect\/[\w-]+)\/(?:dist\/\w+\/)?internal(?:\/|["'])/.test(line)
  },
  { name: "reads a fiber's private refs (_fiberRefs)", test: (line) => /\b_fiberRefs\b/.test(line) },
  { name: "calls a fiber's private setFiberRef(s)", test: (line) => /\bsetFiberRefs?\b/.test(line) },
  { name: "reads a context's private map (unsafeMap)", test: (line) => /\bunsafeMap\b/.test(line) },
  {
    name: "reads a running fiber's context directly (.currentContext; FiberRef.currentContext through effects is fine)",
    test: (line) => /(?<!\bFiberRef)\.currentContext\b/.test(line)
  },
  {
    name: "makes a span by hand (use Effect.withSpan, Effect.useSpan or Effect.makeSpan)",
    test: (line) => /\b_tag\s*:\s*["']Span["']/.test(line)
  }
]

const sourceFile = /\.(?:ts|mts|cts|js|mjs|cjs)$/
const files = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : files(path)
    return sourceFile.test(entry.name) ? [path] : []
  })

// Prose in comments may name what the code must not do; only code counts.
const isComment = (line) => /^\s*(?:\/\/|\/\*|\*)/.test(line)

const roots = process.argv.length > 2 ? process.argv.slice(2) : ["src"]
const findings = []
for (const root of roots) {
  for (const file of files(root)) {
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (isComment(line)) return
        for (const rule of rules) {
          if (rule.test(line)) findings.push(`${relative(".", file)}:${i + 1}: ${rule.name}\n    ${line.trim()}`)
        }
      })
  }
}

if (findings.length > 0) {
  console.error(findings.join("\n"))
  console.error(`public-api: FAILED, ${findings.length} use(s) of Effect internals in ${roots.join(", ")}`)
  process.exit(1)
}
console.log(`public-api: ok, ${roots.join(", ")} use(s) only Effect's public API`)
