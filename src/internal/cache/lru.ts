/**
 * The in-memory store's state: at most `capacity` entries, the least recently used evicted first, each expiring at
 * its own time. Immutable, so the store keeps it in a `Ref` and every read or write is one `Ref.modify`.
 */
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Order from "effect/Order"
import * as SortedMap from "effect/SortedMap"

interface Slot<A> {
  readonly value: A
  readonly expiresAt: number
  /** When it was last written or read, on the LRU's own counter; its key in `byUse`. */
  readonly used: number
}

/** The entries, and their keys in order of use (oldest first). */
export interface Lru<A> {
  readonly capacity: number
  readonly slots: HashMap.HashMap<string, Slot<A>>
  readonly byUse: SortedMap.SortedMap<number, string>
  readonly uses: number
}

export const empty = <A>(capacity: number): Lru<A> => ({
  capacity,
  slots: HashMap.empty(),
  byUse: SortedMap.empty(Order.number),
  uses: 0
})

const remove = <A>(lru: Lru<A>, key: string): Lru<A> =>
  Option.match(HashMap.get(lru.slots, key), {
    onNone: () => lru,
    onSome: (slot) => ({ ...lru, slots: HashMap.remove(lru.slots, key), byUse: SortedMap.remove(lru.byUse, slot.used) })
  })

const put = <A>(lru: Lru<A>, key: string, value: A, expiresAt: number): Lru<A> => {
  const used = lru.uses + 1
  return {
    ...lru,
    slots: HashMap.set(lru.slots, key, { value, expiresAt, used }),
    byUse: SortedMap.set(lru.byUse, used, key),
    uses: used
  }
}

/** The live value under `key`, which becomes the most recently used; an expired one is dropped. */
export const get = <A>(lru: Lru<A>, key: string, now: number): readonly [Option.Option<A>, Lru<A>] => {
  const slot = HashMap.get(lru.slots, key)
  if (Option.isNone(slot)) return [Option.none(), lru]
  const without = remove(lru, key)
  if (slot.value.expiresAt <= now) return [Option.none(), without]
  return [Option.some(slot.value.value), put(without, key, slot.value.value, slot.value.expiresAt)]
}

/** Writes `value` under `key` as the most recently used, evicting the least recently used past the capacity. */
export const set = <A>(lru: Lru<A>, key: string, value: A, expiresAt: number): Lru<A> => {
  const next = put(remove(lru, key), key, value, expiresAt)
  if (HashMap.size(next.slots) <= next.capacity) return next
  return Option.match(SortedMap.headOption(next.byUse), {
    onNone: () => next,
    onSome: ([, oldest]) => remove(next, oldest)
  })
}
