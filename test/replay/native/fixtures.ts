/**
 * The Anthropic and Gemini fixtures of `fixtures/` (see its README) as replay-harness fixtures: the harness's loaders
 * pointed at this folder. vercel/ai's `*.chunks.txt` here are framed without a final `[DONE]`, as those providers
 * send none.
 */
import { type Eol, type Fixture, loadersAt } from "../fixture.js"

export type { Fixture }

const loaders = loadersAt(new URL("./fixtures/", import.meta.url))

export const { json, read, sse } = loaders

/** A vercel/ai `*.chunks.txt` (one payload per line) framed as `data: <line><eol><eol>`, with no `[DONE]`. */
export const chunks = (path: string, eol: Eol = "\n"): Fixture => loaders.chunks(path, eol, false)
