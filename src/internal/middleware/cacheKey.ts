/**
 * Cache keys: the canonical JSON of a request (see `LlmCache.ts` for which fields count), and its SHA-256 digest for
 * stores given by the caller, where keys travel and their size matters.
 */
import { createHash } from "node:crypto"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"

/** The operations that have cache entries of their own. */
export type CacheOperation = "chat" | "chatStream" | "embed"

export const ignoredFields: ReadonlySet<string> = new Set(["user", "metadata", "store", "stream", "stream_options"])

/**
 * JSON with sorted object keys and without `undefined`/`null` members; `ignored` applies to the top level only. Built
 * by string concatenation rather than arrays joined at each level: it runs on every call, and the output must stay
 * byte-for-byte the same, since external stores keep keys derived from it. Hence also, for speed with equal output
 * (it was a third of a cache miss's CPU):
 *
 * - numbers and booleans are written with `String` (what `JSON.stringify` does for finite numbers; non-finite ones
 *   become `null`, as in JSON), only strings and other values go through `JSON.stringify`;
 * - keys are sorted with an insertion sort on `<` for the small objects requests are made of — the same code-unit
 *   order as `Array.prototype.sort`'s default, without its conversions; larger objects use `sort()`;
 * - the default store's keys quote field names through a per-cache memo (`rememberedQuotes`): requests reuse a
 *   handful of field names.
 */
export const canonical = (value: unknown, ignored: ReadonlySet<string> | undefined, quoted: QuotedKeys): string => {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
      return Number.isFinite(value) ? String(value) : "null"
    case "boolean":
      return value ? "true" : "false"
  }
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) {
    let out = "["
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + canonical(value[i], undefined, quoted)
    return out + "]"
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length > 16) keys.sort()
  else
    for (let i = 1; i < keys.length; i++) {
      const key = keys[i]!
      let j = i - 1
      while (j >= 0 && keys[j]! > key) {
        keys[j + 1] = keys[j]!
        j--
      }
      keys[j + 1] = key
    }
  let out = "{"
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const member = record[key]
    if (member === undefined || member === null || ignored?.has(key)) continue
    out += (out.length === 1 ? "" : ",") + quoted(key) + ":" + canonical(member, undefined, quoted)
  }
  return out + "}"
}

export type QuotedKeys = (key: string) => string

/** Quotes object keys as `JSON.stringify` does. */
export const quoteKey: QuotedKeys = (key) => JSON.stringify(key)

/**
 * {@link quoteKey}, remembered per key name. One per cache (made in `make`, not shared through the module), bounded so
 * keys invented by callers cannot grow it without limit.
 */
export const rememberedQuotes = (): QuotedKeys => {
  const memo = new Map<string, string>()
  return (key) => {
    let found = memo.get(key)
    if (found === undefined) {
      found = JSON.stringify(key)
      if (memo.size >= 4096) memo.clear()
      memo.set(key, found)
    }
    return found
  }
}

/** The digest key, as `LlmCache.keyOf` documents it. */
export const digestKey = (
  operation: CacheOperation,
  request: Chat.ChatCompletionRequest | Embedding.EmbeddingRequest
): string =>
  `llm-cache:v1:${operation}:${createHash("sha256")
    .update(canonical(request, ignoredFields, quoteKey))
    .digest("base64url")}`

/**
 * The key of the default in-memory store: the canonical form itself. A `Map` hashes a string key once and compares it
 * exactly, so a digest would add a SHA-256 per call (a tenth of a cache hit's CPU) and buy nothing.
 */
export const memoryKey =
  (quoted: QuotedKeys) =>
  (operation: CacheOperation, request: Chat.ChatCompletionRequest | Embedding.EmbeddingRequest): string =>
    `${operation}:${canonical(request, ignoredFields, quoted)}`
