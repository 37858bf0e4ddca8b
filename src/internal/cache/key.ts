/**
 * Cache keys: the SHA-256 of a request's canonical JSON. A key is a digest: no prompt text reaches a store's key names.
 *
 * The digest comes from `@noble/hashes` (audited, pure JavaScript, synchronous). Not `node:crypto`: the main entry
 * must load in Bun, Deno, browsers and edge runtimes. Not Web Crypto: `crypto.subtle.digest` settles its promise from
 * a native thread, so every cache call would first wait on real time — under `TestClock` a forked call could then
 * miss an `adjust` and hang, depending on the machine's load, in our tests and in our users'.
 */
import * as Effect from "effect/Effect"
import * as LiterLlmError from "../../LiterLlmError.js"
import { sha256 } from "@noble/hashes/sha2"

/** The operations with entries of their own: a streamed answer is not a whole one. */
export type Operation = "chat" | "chatStream" | "embed" | "moderate" | "rerank"

/** A request the cache keys: an object with a model. */
export type Keyed = { readonly model: string }

/** Top-level fields that do not change the answer (see `LlmCache.ts`). */
const ignored: ReadonlySet<string> = new Set(["user", "metadata", "store", "stream", "stream_options"])

/**
 * JSON with object keys sorted and `null`/`undefined` members dropped (the wire treats an absent field and `null`
 * alike); `ignored` only at the top. It must stay byte for byte the same across versions: a shared store keeps keys
 * made from it. Throws on a `bigint` (JSON has none) and overflows the stack on a cycle.
 *
 * Built by plain concatenation in loops: this runs on every cached call, and intermediate arrays (one per object and
 * per member) cost more than the digest itself.
 */
export const canonical = (value: unknown, top = false): string => {
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) {
    let out = "["
    // indexed, not iterated: a hole reads as `undefined` and is written as `null`, like JSON.stringify does
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + canonical(value[i])
    return out + "]"
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).sort()
  let out = "{"
  for (const key of keys) {
    const member = record[key]
    if (member == null || (top && ignored.has(key))) continue
    out += (out.length === 1 ? "" : ",") + JSON.stringify(key) + ":" + canonical(member)
  }
  return out + "}"
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/**
 * Unpadded base64url, the same text as `Encoding.encodeBase64Url`, which goes through base64 and three regular
 * expression replacements: as long as hashing the request, for 32 bytes.
 */
export const base64Url = (bytes: Uint8Array): string => {
  let out = ""
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]! + alphabet[(n >>> 6) & 63]! + alphabet[n & 63]!
  }
  if (i < bytes.length) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8)
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]!
    if (i + 1 < bytes.length) out += alphabet[(n >>> 6) & 63]!
  }
  return out
}

/**
 * The store key of a request for an operation, `llm-cache:v1:<operation>:<SHA-256, base64url>`, or the error saying
 * why the request has none; synchronous, for callers that branch on it inside an effect of their own.
 */
export const make = (operation: Operation, request: Keyed): string | LiterLlmError.Serialization => {
  try {
    return `llm-cache:v1:${operation}:${base64Url(sha256(new TextEncoder().encode(canonical(request, true))))}`
  } catch (cause) {
    return new LiterLlmError.Serialization({
      message:
        `the ${operation} request cannot be encoded as JSON (${String(cause)}); ` + "remove BigInt values and cycles",
      cause
    })
  }
}

/** {@link make} as an effect. */
export const keyOf = (operation: Operation, request: Keyed): Effect.Effect<string, LiterLlmError.Serialization> =>
  Effect.suspend(() => {
    const key = make(operation, request)
    return typeof key === "string" ? Effect.succeed(key) : Effect.fail(key)
  })
