import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import type * as Chat from "../../src/Chat.js"
import { canonical, Digests, hashOf, ignoredFields, same, snapshotOf } from "../../src/internal/middleware/cacheKey.js"

// The requests are JSON-like data; the generators make values of every kind a request can hold, and a few it should
// not (NaN, undefined members), which must still be treated the way the canonical JSON treats them.
const { letrec } = FastCheck
const keyArb = FastCheck.constantFrom("model", "messages", "role", "content", "user", "n", "a", "b", "stream", "tools")
const tree = letrec<{ value: unknown }>((tie) => ({
  value: FastCheck.oneof(
    { depthSize: "small", withCrossShrink: true },
    FastCheck.string({ maxLength: 6 }),
    FastCheck.integer({ min: -3, max: 3 }),
    FastCheck.constantFrom(0.5, -0, 1e21, NaN, Infinity, null, undefined, true, false),
    FastCheck.array(tie("value"), { maxLength: 3 }),
    FastCheck.dictionary(keyArb, tie("value"), { maxKeys: 4 })
  )
}))
const requestArb = FastCheck.dictionary(keyArb, tree.value, { maxKeys: 5 })

/** A value that the canonical form must not tell from `value`: keys reordered, `null`/`undefined` members added. */
const variantOf = (value: unknown, top: boolean, pick: () => number): unknown => {
  if (value === null || typeof value !== "object") return Object.is(value, 0) && pick() % 2 === 0 ? -0 : value
  if (Array.isArray(value)) return value.map((item) => variantOf(item, false, pick))
  const keys = Object.keys(value).reverse()
  const out: Record<string, unknown> = {}
  if (pick() % 2 === 0) out.extra_null = null
  for (const key of keys) out[key] = variantOf((value as Record<string, unknown>)[key], false, pick)
  if (pick() % 3 === 0) out.absent = undefined
  if (top && pick() % 2 === 0) out.user = `someone-${pick()}`
  return out
}

const asRequest = (value: unknown) => value as Chat.ChatCompletionRequest

describe("cache keys", () => {
  it("sameness and the hash agree with the canonical JSON, on any two requests", () => {
    FastCheck.assert(
      FastCheck.property(requestArb, requestArb, (a, b) => {
        const equal = canonical(a, ignoredFields) === canonical(b, ignoredFields)
        expect(same(asRequest(a), b)).toBe(equal)
        expect(same(asRequest(a), snapshotOf(asRequest(b)))).toBe(equal)
        if (equal) expect(hashOf("chat", asRequest(a))).toBe(hashOf("chat", asRequest(b)))
      }),
      { numRuns: 500 }
    )
  })

  it("a reordered request with null, undefined and ignored members is the same, with the same hash", () => {
    FastCheck.assert(
      FastCheck.property(requestArb, FastCheck.integer({ min: 0, max: 1000 }), (a, seed) => {
        let n = seed
        const b = variantOf(a, true, () => n++)
        expect(canonical(b, ignoredFields)).toBe(canonical(a, ignoredFields))
        expect(same(asRequest(a), b)).toBe(true)
        expect(same(asRequest(b), snapshotOf(asRequest(a)))).toBe(true)
        expect(hashOf("chat", asRequest(b))).toBe(hashOf("chat", asRequest(a)))
      }),
      { numRuns: 500 }
    )
  })

  it("long strings (hashed natively) agree with the canonical JSON too, down to one character", () => {
    // Long prompts from a two-letter alphabet, so that two of them are often equal or one character apart.
    const long = FastCheck.tuple(
      FastCheck.constantFrom(200, 256, 257, 600),
      FastCheck.array(FastCheck.nat(700), { maxLength: 2 })
    )
    const prompt = long.map(([length, flips]) => {
      const chars = Array.from({ length }, () => "a")
      for (const at of flips) if (at < length) chars[at] = "b"
      return chars.join("")
    })
    const requestOf = (content: string) => asRequest({ model: "m", messages: [{ role: "user", content }] })
    FastCheck.assert(
      FastCheck.property(prompt, prompt, (a, b) => {
        expect(same(requestOf(a), snapshotOf(requestOf(b)))).toBe(a === b)
        // 32 bits: two different prompts of these few thousand share a hash with odds of about one in a million
        if (a === b) expect(hashOf("chat", requestOf(a))).toBe(hashOf("chat", requestOf(b)))
        else expect(hashOf("chat", requestOf(a))).not.toBe(hashOf("chat", requestOf(b)))
      }),
      { numRuns: 500 }
    )
    // the same text built another way (a concatenation, not yet flattened) has the same hash
    const text = "x".repeat(300) + "y".repeat(300)
    const built = ["x".repeat(300), "y".repeat(300)].join("")
    expect(hashOf("chat", requestOf(built))).toBe(hashOf("chat", requestOf(text)))
  })

  it("a snapshot keeps a long string's digest, not the text, and still tells it apart", () => {
    const long = "word ".repeat(400)
    const request = asRequest({ model: "m", messages: [{ role: "user", content: long }] })
    const snapshot = snapshotOf(request) as { messages: Array<{ content: unknown }> }
    // the cache keeps snapshots: a long prompt in them would be kept as long as the entry
    expect(typeof snapshot.messages[0]!.content).not.toBe("string")
    expect(JSON.stringify(snapshot)).not.toContain("word word")
    expect(same(request, snapshot)).toBe(true)
    // the same text, built another way, is the same; a text one character longer, or one changed, is not
    expect(
      same(asRequest({ model: "m", messages: [{ role: "user", content: ["word "].join("").repeat(400) }] }), snapshot)
    ).toBe(true)
    expect(same(asRequest({ model: "m", messages: [{ role: "user", content: long + " " }] }), snapshot)).toBe(false)
    const changed = long.slice(0, 1000) + "W" + long.slice(1001)
    expect(same(asRequest({ model: "m", messages: [{ role: "user", content: changed }] }), snapshot)).toBe(false)
    // a short string never matches a long one, nor a number or an object
    expect(same(asRequest({ model: "m", messages: [{ role: "user", content: "word" }] }), snapshot)).toBe(false)
    expect(same(asRequest({ model: "m", messages: [{ role: "user", content: 1 }] } as never), snapshot)).toBe(false)
    expect(
      same(asRequest({ model: "m", messages: [{ role: "user", content: { text: long } }] } as never), snapshot)
    ).toBe(false)
    // another object holding the same text matches it too
    expect(same(request, snapshotOf(asRequest({ model: "m", messages: [{ role: "user", content: long }] })))).toBe(true)
  })

  it("long texts differing only in unpaired surrogates (which UTF-8 writes alike) are different", () => {
    const requestOf = (content: string) => asRequest({ model: "m", messages: [{ role: "user", content }] })
    const base = "x".repeat(300)
    const [a, b, c] = ["\uD800", "\uDBFF", "\uFFFD"].map((odd) => requestOf(base + odd + base))
    expect(canonical(a, ignoredFields)).not.toBe(canonical(b, ignoredFields))
    expect(same(a!, snapshotOf(b!))).toBe(false)
    expect(same(a!, snapshotOf(c!))).toBe(false)
    expect(same(a!, snapshotOf(requestOf(base + "\uD800" + base)))).toBe(true)
    expect(new Set([a, b, c].map((r) => hashOf("chat", r!))).size).toBe(3)
  })

  it("a request of many long strings of one length (past the digests' short list) keeps each one apart", () => {
    const chunk = (i: number) => "a shared preamble of every chunk. ".repeat(20) + String(i).padStart(4, "0")
    const embedding = (inputs: ReadonlyArray<string>) => asRequest({ model: "m", input: inputs } as never)
    const inputs = Array.from({ length: 40 }, (_, i) => chunk(i))
    const request = embedding(inputs)
    const snapshot = snapshotOf(request)
    // the same inputs rebuilt, and the same string object more than once
    expect(same(embedding(inputs.map((text) => [text].join(""))), snapshot)).toBe(true)
    expect(hashOf("embed", embedding([...inputs]))).toBe(hashOf("embed", request))
    const repeated = embedding([inputs[0]!, inputs[0]!, ...inputs.slice(2)])
    expect(same(repeated, snapshot)).toBe(false)
    // one input changed, late in the list; two inputs swapped
    const changed = [...inputs]
    changed[37] = chunk(99)
    expect(same(embedding(changed), snapshot)).toBe(false)
    expect(hashOf("embed", embedding(changed))).not.toBe(hashOf("embed", request))
    const swapped = [...inputs]
    ;[swapped[3], swapped[30]] = [swapped[30]!, swapped[3]!]
    expect(same(embedding(swapped), snapshot)).toBe(false)
    // one call's digests shared by its hash, its snapshot and its comparisons, as the cache shares them
    const digests = new Digests()
    expect(hashOf("embed", request, digests)).toBe(hashOf("embed", request))
    expect(snapshotOf(request, digests)).toEqual(snapshot)
    expect(same(request, snapshot, digests)).toBe(true)
    expect(same(request, snapshotOf(embedding(changed)), digests)).toBe(false)
  })

  it("a request whose long string changes after its snapshot no longer matches it", () => {
    const message = { role: "user", content: "a".repeat(1000) }
    const request = asRequest({ model: "m", messages: [message] })
    const snapshot = snapshotOf(request)
    message.content = "b".repeat(1000)
    expect(same(request, snapshot)).toBe(false)
    message.content = "a".repeat(1000)
    expect(same(request, snapshot)).toBe(true)
  })

  it("the operation is part of the hash", () => {
    const request = asRequest({ model: "m", messages: [{ role: "user", content: "hi" }] })
    expect(new Set([hashOf("chat", request), hashOf("chatStream", request), hashOf("embed", request)]).size).toBe(3)
  })

  it("a snapshot keeps the request as it was when taken", () => {
    const message = { role: "user", content: "first" }
    const request = asRequest({ model: "m", messages: [message], temperature: 0 })
    const snapshot = snapshotOf(request)
    message.content = "second"
    expect(same(request, snapshot)).toBe(false)
    message.content = "first"
    expect(same(request, snapshot)).toBe(true)
  })

  it("an inherited property does not make a member", () => {
    // `toString` exists on every object through its prototype; only own members count.
    expect(same(asRequest({ toString: "x" }), {})).toBe(false)
    expect(same(asRequest({}), { toString: "x" })).toBe(false)
    // an enumerable member of the prototype is not the object's own either, as for JSON.stringify
    const inheriting = Object.assign(Object.create({ temperature: 1 }), { model: "m" })
    expect(canonical(inheriting, ignoredFields)).toBe('{"model":"m"}')
    expect(same(asRequest(inheriting), { model: "m" })).toBe(true)
    expect(hashOf("chat", asRequest(inheriting))).toBe(hashOf("chat", asRequest({ model: "m" })))
    expect(snapshotOf(asRequest(inheriting))).toEqual({ model: "m" })
  })

  it("a BigInt or a cycle has no hash: it throws, as JSON.stringify does", () => {
    expect(() => hashOf("chat", asRequest({ model: "m", n: 1n }))).toThrow(TypeError)
    const cyclic: Record<string, unknown> = { model: "m" }
    cyclic.self = cyclic
    expect(() => hashOf("chat", asRequest(cyclic))).toThrow(RangeError)
  })
})
