/**
 * The Anthropic and Gemini fixtures of `fixtures/` (see its README) as replay-harness fixtures. The harness's own
 * loaders read `test/replay/fixtures/`; these read this folder and build the same `Fixture` values.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import type { Eol, Fixture } from "../fixture.js"

export type { Fixture }

const root = fileURLToPath(new URL("./fixtures/", import.meta.url))
const encoder = new TextEncoder()

/** The bytes of `fixtures/<path>`, unchanged. */
export const read = (path: string): Uint8Array => new Uint8Array(readFileSync(`${root}${path}`))

/** A JSON body served as is, with `status`. */
export const json = (path: string, status = 200): Fixture => ({
  name: path,
  status,
  headers: { "content-type": "application/json" },
  body: read(path)
})

/** An SSE body stored as it went over the wire, served as is. */
export const sse = (path: string): Fixture => ({
  name: path,
  status: 200,
  headers: { "content-type": "text/event-stream" },
  body: read(path)
})

/** A vercel/ai `*.chunks.txt` (one payload per line) framed as `data: <line><eol><eol>`, with no `[DONE]`. */
export const chunks = (path: string, eol: Eol = "\n"): Fixture => {
  const lines = new TextDecoder()
    .decode(read(path))
    .split("\n")
    .filter((line) => line.trim().length > 0)
  return {
    name: `${path} (${JSON.stringify(eol)})`,
    status: 200,
    headers: { "content-type": "text/event-stream" },
    body: encoder.encode(lines.map((line) => `data: ${line}${eol}${eol}`).join(""))
  }
}
