#!/usr/bin/env node
// The `effect-liter-llm` command (check, serve). An installed package runs its compiled code; a checkout without
// dist/ (or with EFFECT_LITER_LLM_SOURCE=1, as the tests set) runs the TypeScript sources, under tsx:
// `node --import tsx bin/effect-liter-llm.mjs serve --config gateway.yaml`.
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const compiled = new URL("../dist/gateway/internal/cli.js", import.meta.url)
const source = new URL("../src/gateway/internal/cli.ts", import.meta.url)
const fromSource = process.env.EFFECT_LITER_LLM_SOURCE === "1" || !existsSync(fileURLToPath(compiled))
const { main } = await import((fromSource ? source : compiled).href)
main(process.argv.slice(2))
