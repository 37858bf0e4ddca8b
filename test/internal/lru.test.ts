import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { Lru } from "../../src/internal/middleware/cache.js"

type Value = { readonly expiresAt: number; readonly tag: number }

/** What the cache's `Lru` must do, written the slow and obvious way: entries in an array, least recently used first. */
class Model {
  entries: Array<{ key: number; value: Value }> = []
  constructor(readonly capacity: number) {}
  get(key: number, now: number, accept: ((value: Value) => boolean) | undefined): Value | undefined {
    const at = this.entries.findIndex((e) => e.key === key)
    if (at < 0) return undefined
    const entry = this.entries[at]!
    if (entry.value.expiresAt <= now) {
      this.entries.splice(at, 1)
      return undefined
    }
    if (accept !== undefined && !accept(entry.value)) return undefined
    this.entries.splice(at, 1)
    this.entries.push(entry)
    return entry.value
  }
  set(key: number, value: Value): void {
    this.entries = this.entries.filter((e) => e.key !== key)
    if (this.capacity === 0) return
    this.entries.push({ key, value })
    if (this.entries.length > this.capacity) this.entries.shift()
  }
  delete(key: number): void {
    this.entries = this.entries.filter((e) => e.key !== key)
  }
}

const operation = FastCheck.oneof(
  FastCheck.record({
    op: FastCheck.constant("get" as const),
    key: FastCheck.integer({ min: 0, max: 5 }),
    // accept only values with an even tag, or everything
    picky: FastCheck.boolean()
  }),
  FastCheck.record({
    op: FastCheck.constant("set" as const),
    key: FastCheck.integer({ min: 0, max: 5 }),
    ttl: FastCheck.integer({ min: 1, max: 5 }),
    tag: FastCheck.integer({ min: 0, max: 9 })
  }),
  FastCheck.record({ op: FastCheck.constant("delete" as const), key: FastCheck.integer({ min: 0, max: 5 }) }),
  FastCheck.record({ op: FastCheck.constant("tick" as const), by: FastCheck.integer({ min: 1, max: 3 }) })
)

describe("Lru", () => {
  it("keeps, refreshes, expires and evicts entries as a least-recently-used list would", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 0, max: 4 }),
        FastCheck.array(operation, { maxLength: 60 }),
        (capacity, operations) => {
          const lru = new Lru<number, Value>(capacity)
          const model = new Model(capacity)
          let now = 0
          for (const o of operations) {
            switch (o.op) {
              case "get": {
                const accept = o.picky ? (v: Value) => v.tag % 2 === 0 : undefined
                expect(lru.get(o.key, now, accept)).toBe(model.get(o.key, now, accept))
                break
              }
              case "set": {
                const value = { expiresAt: now + o.ttl, tag: o.tag }
                lru.set(o.key, value)
                model.set(o.key, value)
                break
              }
              case "delete":
                lru.delete(o.key)
                model.delete(o.key)
                break
              case "tick":
                now += o.by
            }
          }
          // What is left, read back in the model's order of use (oldest first, so reading does not reorder it).
          for (const { key, value } of [...model.entries])
            expect(lru.get(key, now)).toBe(value.expiresAt > now ? value : undefined)
          for (let key = 0; key <= 5; key++)
            if (!model.entries.some((e) => e.key === key)) expect(lru.get(key, now)).toBeUndefined()
        }
      ),
      { numRuns: 500 }
    )
  })

  it("after thousands of evictions, a refreshed entry outlives the ones used before it", () => {
    const lru = new Lru<number, Value>(1000)
    for (let key = 0; key < 5000; key++) lru.set(key, { expiresAt: Infinity, tag: key })
    expect(lru.get(3999, 0)).toBeUndefined()
    expect(lru.get(4000, 0)?.tag).toBe(4000) // now the most recently used
    lru.set(5000, { expiresAt: Infinity, tag: 5000 }) // evicts 4001, the least recently used now
    expect(lru.get(4001, 0)).toBeUndefined()
    expect(lru.get(4000, 0)?.tag).toBe(4000)
    expect(lru.get(4002, 0)?.tag).toBe(4002)
    expect(lru.get(5000, 0)?.tag).toBe(5000)
  })
})
