/**
 * The in-memory store's state: at most `capacity` entries, the least recently used evicted first, each expiring at
 * its own time. Immutable, so the store keeps it in a `Ref` and every read or write is one `Ref.modify`.
 *
 * Recency is a counter: every write or read stamps its entry with the next number, and `byUse` maps stamps back to
 * keys. The least recently used entry holds the smallest stamp still in `byUse`; `oldest` is a lower bound for it,
 * only ever moving up, so finding it skips each stale stamp once (constant time on average). Two hash maps cost far
 * less per operation than keeping the stamps in a sorted tree.
 *
 * The maps are changed in `HashMap.mutate` (a write and an eviction then copy the path to the root once, not twice)
 * and keyed with each key's hash computed once per operation.
 */
import * as Hash from "effect/Hash"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"

interface Slot<A> {
  readonly value: A
  readonly expiresAt: number
  /** When it was last written or read: its stamp, and its key in `byUse`. */
  readonly used: number
}

/** The entries, and their keys by stamp. */
export interface Lru<A> {
  readonly capacity: number
  readonly slots: HashMap.HashMap<string, Slot<A>>
  readonly byUse: HashMap.HashMap<number, string>
  /** The stamp the next write or read gets. */
  readonly next: number
  /** No live stamp is below this. */
  readonly oldest: number
}

// Built field by field rather than spread from the previous state: V8 spreads an object much more slowly.
const make = <A>(
  capacity: number,
  slots: HashMap.HashMap<string, Slot<A>>,
  byUse: HashMap.HashMap<number, string>,
  next: number,
  oldest: number
): Lru<A> => ({ capacity, slots, byUse, next, oldest })

export const empty = <A>(capacity: number): Lru<A> => make(capacity, HashMap.empty(), HashMap.empty(), 0, 0)

const none = () => Option.none()

/** The live value under `key`, which becomes the most recently used; an expired one is dropped. */
export const get = <A>(lru: Lru<A>, key: string, now: number): readonly [Option.Option<A>, Lru<A>] => {
  const hash = Hash.string(key)
  const found = HashMap.getHash(lru.slots, key, hash)
  if (Option.isNone(found)) return [Option.none(), lru]
  const slot = found.value
  if (slot.expiresAt <= now) {
    const slots = HashMap.modifyHash(lru.slots, key, hash, none)
    return [Option.none(), make(lru.capacity, slots, HashMap.remove(lru.byUse, slot.used), lru.next, lru.oldest)]
  }
  const touched = Option.some({ value: slot.value, expiresAt: slot.expiresAt, used: lru.next })
  const byUse = HashMap.mutate(lru.byUse, (m) => {
    HashMap.remove(m, slot.used)
    HashMap.set(m, lru.next, key)
  })
  return [
    Option.some(slot.value),
    make(
      lru.capacity,
      HashMap.modifyHash(lru.slots, key, hash, () => touched),
      byUse,
      lru.next + 1,
      lru.oldest
    )
  ]
}

/** Writes `value` under `key` as the most recently used, evicting the least recently used past the capacity. */
export const set = <A>(lru: Lru<A>, key: string, value: A, expiresAt: number): Lru<A> => {
  const hash = Hash.string(key)
  const previous = Option.getOrUndefined(HashMap.getHash(lru.slots, key, hash))
  const written = Option.some({ value, expiresAt, used: lru.next })
  // Past the capacity (a new key in a full store): the entry with the smallest live stamp goes.
  let oldest = lru.oldest
  let evicted: string | undefined
  if (previous === undefined && HashMap.size(lru.slots) >= lru.capacity) {
    for (; oldest < lru.next; oldest++) {
      const stamped = HashMap.get(lru.byUse, oldest)
      if (Option.isSome(stamped)) {
        evicted = stamped.value
        break
      }
    }
  }
  const slots = HashMap.mutate(lru.slots, (m) => {
    HashMap.modifyHash(m, key, hash, () => written)
    if (evicted !== undefined) HashMap.remove(m, evicted)
  })
  const byUse = HashMap.mutate(lru.byUse, (m) => {
    if (previous !== undefined) HashMap.remove(m, previous.used)
    if (evicted !== undefined) HashMap.remove(m, oldest)
    HashMap.set(m, lru.next, key)
  })
  return make(lru.capacity, slots, byUse, lru.next + 1, evicted === undefined ? oldest : oldest + 1)
}
