/**
 * A recorded response as the replay server sends it: status, headers and the body's exact bytes. Fixture files are
 * kept exactly as their sources published them; the few that store one SSE `data` payload per line (vercel/ai's
 * `*.chunks.txt`) are framed here the way their own test suite frames them, with a chosen line ending.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

export interface Fixture {
  /** Names the fixture in assertion messages. */
  readonly name: string
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

const encoder = new TextEncoder()

/** Line ending used when framing one-payload-per-line files as SSE. */
export type Eol = "\n" | "\r\n" | "\r"

/** The loaders of the fixture files in one folder (given as a `file:` URL ending in `/`). */
export const loadersAt = (folder: URL) => {
  const root = fileURLToPath(folder)

  /** The bytes of `<folder>/<path>`, unchanged. */
  const read = (path: string): Uint8Array => new Uint8Array(readFileSync(`${root}${path}`))

  /** A JSON body served as is. */
  const json = (path: string, status = 200): Fixture => ({
    name: path,
    status,
    headers: { "content-type": "application/json" },
    body: read(path)
  })

  /** An SSE body stored as it went over the wire (`*.sse`), served as is. */
  const sse = (path: string, status = 200): Fixture => ({
    name: path,
    status,
    headers: { "content-type": "text/event-stream" },
    body: read(path)
  })

  /**
   * A `*.chunks.txt` file (one JSON payload per line) framed as `data: <line><eol><eol>` per line and, with `done`, a
   * final `data: [DONE]`, as vercel/ai's tests serve it.
   */
  const chunks = (path: string, eol: Eol = "\n", done = true): Fixture => {
    const lines = new TextDecoder()
      .decode(read(path))
      .split("\n")
      .filter((line) => line.trim().length > 0)
    const framed = lines.map((line) => `data: ${line}${eol}${eol}`).join("") + (done ? `data: [DONE]${eol}${eol}` : "")
    return {
      name: `${path} (${JSON.stringify(eol)})`,
      status: 200,
      headers: { "content-type": "text/event-stream" },
      body: encoder.encode(framed)
    }
  }

  /**
   * A recorded answer stored with its status and content type (vercel/ai's `{ request, response: { status,
   * contentType, body } }` files, for bodies that are not JSON): served as that status, type and body.
   */
  const recorded = (path: string): Fixture => {
    const { response } = JSON.parse(new TextDecoder().decode(read(path))) as {
      readonly response: { readonly status: number; readonly contentType: string; readonly body: string }
    }
    return {
      name: path,
      status: response.status,
      headers: { "content-type": response.contentType },
      body: encoder.encode(response.body)
    }
  }

  return { read, json, sse, chunks, recorded }
}

/** The fixtures of `test/replay/fixtures/`. */
export const { chunks, json, read, recorded, sse } = loadersAt(new URL("./fixtures/", import.meta.url))

/** A fixture from literal text, for the harness's own tests and documented shapes no suite recorded. */
export const literal = (
  name: string,
  text: string,
  headers: Readonly<Record<string, string>> = { "content-type": "text/event-stream" },
  status = 200
): Fixture => ({ name, status, headers, body: encoder.encode(text) })
