/**
 * Cache keys. Two requests are the same for the cache when their canonical forms are equal (see `LlmCache.ts` for
 * which fields count). That sameness is computed two ways:
 *
 * - for a store given by the caller, as a string: the SHA-256 digest of the canonical JSON ({@link digestKey}), since
 *   its keys travel, last, and must not depend on this process;
 * - for the cache's own memory, without building that string: a 32-bit structural hash picks the slot, and a
 *   structural comparison with a snapshot of the stored request confirms it ({@link hashOf}, {@link snapshotOf},
 *   {@link same}). Building the canonical string, then hashing and comparing a 200-character key at every `Map`
 *   operation, was most of the cost of a cache miss; the hash walks the request once and allocates nothing (but the
 *   digest of a long string, below).
 *
 * Both follow one definition of sameness, the canonical JSON's: object keys in any order; `undefined` and `null`
 * members dropped; the ignored fields dropped at the top level only; arrays in order; a finite number as its value
 * (`0` and `-0` alike); `null`, `undefined`, non-finite numbers, functions and symbols alike in an array, or as a
 * member that is not dropped; a `bigint` is an error (JSON has none), and so is a cycle (the walk overflows the
 * stack), both reported by the cache as a `Serialization` error.
 *
 * Long strings (long prompts) are digested by SHA-256 in native code, many times faster than a JavaScript loop over
 * their characters; the hash takes 32 bits of the digest, and a snapshot keeps the digest instead of the text, so a
 * cache does not hold on to every long prompt it was asked (see `LongText`).
 *
 * The walks visit own enumerable keys (what `Object.keys` gives) with `for…in` and `Object.hasOwn`, which allocates
 * no array of keys per object: a third faster here.
 */
import * as Crypto from "node:crypto"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"

/** The operations that have cache entries of their own. */
export type CacheOperation = "chat" | "chatStream" | "embed"

type Request = Chat.ChatCompletionRequest | Embedding.EmbeddingRequest

export const ignoredFields: ReadonlySet<string> = new Set(["user", "metadata", "store", "stream", "stream_options"])

/**
 * Object keys in `Array.prototype.sort`'s default order (UTF-16 code units), by insertion sort on `<` for the small
 * objects requests are made of, which skips `sort`'s conversions.
 */
const sortedKeys = (record: object): Array<string> => {
  const keys = Object.keys(record)
  if (keys.length > 16) return keys.sort()
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!
    let j = i - 1
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!
      j--
    }
    keys[j + 1] = key
  }
  return keys
}

/**
 * JSON with sorted object keys and without `undefined`/`null` members; `ignored` applies to the top level only. The
 * output must stay byte-for-byte the same from one version to the next: stores given by the caller keep keys
 * derived from it.
 */
export const canonical = (value: unknown, ignored: ReadonlySet<string> | undefined): string => {
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
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + canonical(value[i], undefined)
    return out + "]"
  }
  const record = value as Record<string, unknown>
  const keys = sortedKeys(record)
  let out = "{"
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const member = record[key]
    if (member === undefined || member === null || ignored?.has(key)) continue
    out += (out.length === 1 ? "" : ",") + JSON.stringify(key) + ":" + canonical(member, undefined)
  }
  return out + "}"
}

/** The digest key, as `LlmCache.keyOf` documents it. */
export const digestKey = (operation: CacheOperation, request: Request): string =>
  `llm-cache:v1:${operation}:${Crypto.createHash("sha256").update(canonical(request, ignoredFields)).digest("base64url")}`

// ---------------------------------------------------------------------------------------------------------------------
// Structural identity, for the cache's own memory
// ---------------------------------------------------------------------------------------------------------------------

/**
 * MurmurHash3's finaliser: spreads every input bit over the output. Object members are combined by a sum (they have
 * no order), which needs well-spread terms not to cancel out.
 */
const mix = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) | 0
}

/** SHA-256 of a string (as UTF-8) in hex: Node's one-shot `crypto.hash` where it exists (20.12 on), else a `Hash`. */
const sha256Hex: (text: string) => string =
  typeof Crypto.hash === "function"
    ? (text) => Crypto.hash("sha256", text, "hex")
    : (text) => Crypto.createHash("sha256").update(text).digest("hex")

/** `String.prototype.isWellFormed` (ES2024, in every Node this library supports), or `false` where it is missing. */
const wellFormed = (text: string): boolean => {
  const check = (text as { isWellFormed?: () => boolean }).isWellFormed
  return check === undefined ? false : check.call(text)
}

/**
 * The SHA-256 of a string, in hex, telling apart any two different strings. UTF-8 (what `crypto.hash` encodes a string
 * as) writes every unpaired surrogate as U+FFFD, so two texts differing only in them would share a digest; a string
 * with one is digested as its UTF-16 code units instead, after a 0xFF byte, which never begins UTF-8, so the two kinds
 * of input never coincide.
 */
const digestOf = (text: string): string =>
  wellFormed(text)
    ? sha256Hex(text)
    : Crypto.createHash("sha256").update(Buffer.of(0xff)).update(text, "utf16le").digest("hex")

/**
 * Strings longer than this are digested natively, and a snapshot keeps their digest rather than the text. A loop over
 * `charCodeAt` costs about 6 ns per character here (a 16 KB prompt: ~90 µs per call), SHA-256 (with the processor's
 * SHA instructions) about 1 ns after a fixed ~1 µs; they cross between 256 and 512.
 */
const longString = 256

/**
 * The digests of one call's long strings: the hash, the snapshot and the comparisons of a call each need a long
 * string's digest, which is worked out once. A short list first, since a request rarely holds more than a few long
 * strings; from the fifth on, a `Map`. (`===` on strings compares their contents, so a list alone would compare every
 * pair: an embeddings request of 2,048 long inputs of one length with a shared prefix took over half a second.)
 */
export class Digests {
  private texts: Array<string> | undefined = undefined
  private values: Array<string> | undefined = undefined
  private byText: Map<string, string> | undefined = undefined

  of(text: string): string {
    const byText = this.byText
    if (byText !== undefined) {
      let found = byText.get(text)
      if (found === undefined) {
        found = digestOf(text)
        byText.set(text, found)
      }
      return found
    }
    const texts = (this.texts ??= [])
    const values = (this.values ??= [])
    for (let i = 0; i < texts.length; i++) if (texts[i] === text) return values[i]!
    const digest = digestOf(text)
    if (texts.length < 4) {
      texts.push(text)
      values.push(digest)
    } else {
      const map = new Map<string, string>()
      for (let i = 0; i < texts.length; i++) map.set(texts[i]!, values[i]!)
      map.set(text, digest)
      this.byText = map
      this.texts = undefined
      this.values = undefined
    }
    return digest
  }
}

/**
 * What a snapshot keeps of a long string: its length and digest. A cache's entries keep their snapshots, and with the
 * text they would keep every long prompt they were asked (256 entries of 16 KB prompts: 4 MB, which the collector
 * copied at every scavenge until it was promoted, half of the cost of such a miss). SHA-256 makes two different texts
 * with one digest a practical impossibility, so the comparison stays exact in effect.
 */
class LongText {
  constructor(
    readonly length: number,
    readonly digest: string
  ) {}
}

/**
 * The hash of a string, from a seed that tells what the string is (a value, a key, an operation): FNV-1a over its
 * UTF-16 code units, or for a long one the first 32 bits of its SHA-256 (see `digestOf`).
 */
const hashString = (text: string, seed: number, digests: Digests): number => {
  if (text.length > longString) return mix(seed ^ Number.parseInt(digests.of(text).slice(0, 8), 16))
  let h = seed
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return mix(h)
}

const STRING = 0x811c9dc5
const KEY = 0x050c5d1f
const NUMBER = 0x2f7a1c3b
const NULL = 0x6b43a9b5
const TRUE = 0x1b873593
const FALSE = 0x4cf5ad43
const ARRAY = 0x3c6ef372
const OBJECT = 0x7f4a7c15

/** The hash of a value; equal for two values that {@link same} finds equal. */
const hashValue = (value: unknown, ignored: ReadonlySet<string> | undefined, digests: Digests): number => {
  switch (typeof value) {
    case "string":
      return hashString(value, STRING, digests)
    case "number":
      if (!Number.isFinite(value)) return NULL
      // Small integers (most numbers in a request) without formatting them; `-0 | 0` is 0, as JSON writes it.
      return (value | 0) === value ? mix(value ^ NUMBER) : hashString(String(value), NUMBER, digests)
    case "boolean":
      return value ? TRUE : FALSE
    case "bigint":
      throw new TypeError("a BigInt value cannot be encoded as JSON")
    case "object":
      break
    default:
      return NULL // undefined, functions and symbols, written as null
  }
  if (value === null) return NULL
  if (Array.isArray(value)) {
    let h = ARRAY
    for (let i = 0; i < value.length; i++) h = (Math.imul(h, 31) + hashValue(value[i], undefined, digests)) | 0
    return mix(h ^ value.length)
  }
  const record = value as Record<string, unknown>
  let sum = 0
  let count = 0
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue
    const member = record[key]
    if (member === undefined || member === null || ignored?.has(key)) continue
    sum = (sum + mix(hashString(key, KEY, digests) + Math.imul(hashValue(member, undefined, digests), 0x9e3779b1))) | 0
    count++
  }
  return mix(sum ^ Math.imul(count, OBJECT))
}

/**
 * The 32-bit structural hash of a request for an operation. Throws where JSON would (a `bigint`, a cycle). `digests`
 * keeps the digests of its long strings for the snapshot and comparisons of the same call.
 */
export const hashOf = (operation: CacheOperation, request: Request, digests: Digests = new Digests()): number =>
  mix(hashString(operation, KEY, digests) + hashValue(request, ignoredFields, digests))

/** A primitive as the canonical form writes it: a finite number, a string, a boolean, or `null` for the rest. */
const normal = (value: unknown): unknown => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value
    case "number":
      return Number.isFinite(value) ? value : null
    default:
      return null
  }
}

/**
 * Primitives are kept as {@link normal} writes them, except that what it writes as `null` is kept as `NaN`: a member
 * whose value is written `null` (a `NaN`, a function) counts, unlike a member that is `null`, which is dropped.
 */
const snapshotValue = (value: unknown, ignored: ReadonlySet<string> | undefined, digests: Digests): unknown => {
  if (typeof value === "string" && value.length > longString) return new LongText(value.length, digests.of(value))
  if (value === null || typeof value !== "object") {
    const written = normal(value)
    return written === null ? NaN : written
  }
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) copy[i] = snapshotValue(value[i], undefined, digests)
    return copy
  }
  const record = value as Record<string, unknown>
  const copy: Record<string, unknown> = {}
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue
    const member = record[key]
    if (member === undefined || member === null || ignored?.has(key)) continue
    copy[key] = snapshotValue(member, undefined, digests)
  }
  return copy
}

/**
 * A copy of what counts in a request for the cache, to confirm later matches against: the caller may change its
 * request object after the call. Short strings are shared, not copied (they cannot change); a long one is kept as its
 * length and digest (see `LongText`). Call after {@link hashOf} succeeded (so there is no cycle), with its `digests`.
 */
export const snapshotOf = (request: Request, digests: Digests = new Digests()): unknown =>
  snapshotValue(request, ignoredFields, digests)

/** The members of a record that count. */
const countMembers = (record: Record<string, unknown>, ignored: ReadonlySet<string> | undefined): number => {
  let count = 0
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue
    const member = record[key]
    if (member !== undefined && member !== null && !ignored?.has(key)) count++
  }
  return count
}

/** Whether `text` is the long text `kept` (its length and digest). */
const sameText = (text: unknown, kept: LongText, digests: Digests): boolean =>
  typeof text === "string" && text.length === kept.length && digests.of(text) === kept.digest

const sameValue = (a: unknown, b: unknown, ignored: ReadonlySet<string> | undefined, digests: Digests): boolean => {
  if (b instanceof LongText) return a instanceof LongText ? a.digest === b.digest : sameText(a, b, digests)
  if (a instanceof LongText) return sameText(b, a, digests)
  const aObject = a !== null && typeof a === "object"
  const bObject = b !== null && typeof b === "object"
  if (!aObject || !bObject) return !aObject && !bObject && normal(a) === normal(b)
  const aArray = Array.isArray(a)
  if (aArray !== Array.isArray(b)) return false
  if (aArray) {
    const left = a as ReadonlyArray<unknown>
    const right = b as ReadonlyArray<unknown>
    if (left.length !== right.length) return false
    for (let i = 0; i < left.length; i++) if (!sameValue(left[i], right[i], undefined, digests)) return false
    return true
  }
  const left = a as Record<string, unknown>
  const right = b as Record<string, unknown>
  let count = 0
  for (const key in left) {
    if (!Object.hasOwn(left, key)) continue
    const member = left[key]
    if (member === undefined || member === null || ignored?.has(key)) continue
    const other = right[key]
    if (other === undefined || other === null || !Object.hasOwn(right, key)) return false
    if (!sameValue(member, other, undefined, digests)) return false
    count++
  }
  return count === countMembers(right, ignored)
}

/**
 * Whether a request is the same, for the cache, as another request or a {@link snapshotOf} one; `digests`, those of
 * the request's call, if its hash was taken.
 */
export const same = (request: Request, other: unknown, digests: Digests = new Digests()): boolean =>
  sameValue(request, other, ignoredFields, digests)
