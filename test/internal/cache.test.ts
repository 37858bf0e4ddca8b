import { describe, expect, it } from "@effect/vitest"
import * as Encoding from "effect/Encoding"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Key from "../../src/internal/cache/key.js"
import * as Lru from "../../src/internal/cache/lru.js"

/** The canonical JSON as first specified, written for clarity: the fast version must match it byte for byte. */
const reference = (value: unknown, top = false): string => {
  if (Array.isArray(value)) return `[${Array.from(value, (item) => reference(item)).join(",")}]`
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "null"
  const record = value as Record<string, unknown>
  const ignored = ["user", "metadata", "store", "stream", "stream_options"]
  return `{${Object.keys(record)
    .sort()
    .filter((key) => record[key] != null && !(top && ignored.includes(key)))
    .map((key) => `${JSON.stringify(key)}:${reference(record[key])}`)
    .join(",")}}`
}

const outcome = (f: () => string) => {
  try {
    return f()
  } catch {
    return "throws"
  }
}

describe("cache keys", () => {
  it.prop(
    "the canonical JSON of any value matches the reference, or both throw",
    [FastCheck.anything({ withSparseArray: true, withNullPrototype: true, withBoxedValues: true, withDate: true })],
    ([value]) => {
      expect(outcome(() => Key.canonical(value, true))).toBe(outcome(() => reference(value, true)))
      expect(outcome(() => Key.canonical(value))).toBe(outcome(() => reference(value)))
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "base64url matches Effect's encoding",
    [FastCheck.uint8Array({ maxLength: 40 })],
    ([bytes]) => {
      expect(Key.base64Url(bytes)).toBe(Encoding.encodeBase64Url(bytes))
    },
    { fastCheck: { numRuns: 300 } }
  )
})

/** The least-recently-used store as a plain list, most recently used last. */
interface Model {
  readonly entries: ReadonlyArray<{ readonly key: string; readonly value: number; readonly expiresAt: number }>
}

const Operation = FastCheck.oneof(
  FastCheck.record({ op: FastCheck.constant("get" as const), key: FastCheck.constantFrom("a", "b", "c", "d", "e") }),
  FastCheck.record({
    op: FastCheck.constant("set" as const),
    key: FastCheck.constantFrom("a", "b", "c", "d", "e"),
    value: FastCheck.nat(99),
    ttl: FastCheck.integer({ min: 1, max: 5 })
  }),
  FastCheck.record({ op: FastCheck.constant("tick" as const), by: FastCheck.integer({ min: 1, max: 3 }) })
)

describe("the memory store's LRU", () => {
  it.prop(
    "behaves as a list in order of use, bounded by its capacity, entries expiring at their time",
    [FastCheck.integer({ min: 1, max: 4 }), FastCheck.array(Operation, { maxLength: 60 })],
    ([capacity, operations]) => {
      let lru = Lru.empty<number>(capacity)
      let model: Model = { entries: [] }
      let now = 0
      for (const step of operations) {
        if (step.op === "tick") {
          now += step.by
        } else if (step.op === "get") {
          const [found, next] = Lru.get(lru, step.key, now)
          lru = next
          const entry = model.entries.find((e) => e.key === step.key)
          const others = model.entries.filter((e) => e.key !== step.key)
          if (entry === undefined) {
            expect(Option.isNone(found)).toBe(true)
          } else if (entry.expiresAt <= now) {
            expect(Option.isNone(found)).toBe(true)
            model = { entries: others }
          } else {
            expect(found).toEqual(Option.some(entry.value))
            model = { entries: [...others, entry] }
          }
        } else {
          lru = Lru.set(lru, step.key, step.value, now + step.ttl)
          const entries = [
            ...model.entries.filter((e) => e.key !== step.key),
            { key: step.key, value: step.value, expiresAt: now + step.ttl }
          ]
          model = { entries: entries.slice(Math.max(0, entries.length - capacity)) }
        }
        // The same entries, in the same order of use.
        const live = [...lru.byUse].sort(([a], [b]) => a - b).map(([, key]) => key)
        expect(live).toEqual(model.entries.map((e) => e.key))
        expect(new Set(live).size).toBe(live.length)
        expect([...lru.slots].length).toBe(live.length)
      }
    },
    { fastCheck: { numRuns: 300 } }
  )
})
