/**
 * The in-memory store's state: at most `capacity` entries, the least recently used evicted first, each expiring at
 * its own time. Immutable, so the store keeps it in a `Ref` and every read or write is one `Ref.modify`.
 *
 * Recency is a counter: every write or read stamps its entry with the next number, and `byUse` maps stamps back to
 * keys. The least recently used entry holds the smallest stamp still in `byUse`; `oldest` is a lower bound for it,
 * only ever moving up, so finding it skips each stale stamp once (constant time on average). Two hash maps cost far
 * less per operation than keeping the stamps in a sorted tree.
 */
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

/** `key` holding `value` as the most recently used, its previous stamp (if any) dropped. */
const stamp = <A>(lru: Lru<A>, key: string, value: A, expiresAt: number, previous: Slot<A> | undefined): Lru<A> => {
  const byUse = previous === undefined ? lru.byUse : HashMap.remove(lru.byUse, previous.used)
  return make(
    lru.capacity,
    HashMap.set(lru.slots, key, { value, expiresAt, used: lru.next }),
    HashMap.set(byUse, lru.next, key),
    lru.next + 1,
    lru.oldest
  )
}

const evictOldest = <A>(lru: Lru<A>): Lru<A> => {
  let used = lru.oldest
  while (used < lru.next && !HashMap.has(lru.byUse, used)) used++
  const key = HashMap.get(lru.byUse, used)
  if (Option.isNone(key)) return lru
  return make(lru.capacity, HashMap.remove(lru.slots, key.value), HashMap.remove(lru.byUse, used), lru.next, used + 1)
}

/** The live value under `key`, which becomes the most recently used; an expired one is dropped. */
export const get = <A>(lru: Lru<A>, key: string, now: number): readonly [Option.Option<A>, Lru<A>] => {
  const found = HashMap.get(lru.slots, key)
  if (Option.isNone(found)) return [Option.none(), lru]
  const slot = found.value
  if (slot.expiresAt <= now) {
    const slots = HashMap.remove(lru.slots, key)
    return [Option.none(), make(lru.capacity, slots, HashMap.remove(lru.byUse, slot.used), lru.next, lru.oldest)]
  }
  return [Option.some(slot.value), stamp(lru, key, slot.value, slot.expiresAt, slot)]
}

/** Writes `value` under `key` as the most recently used, evicting the least recently used past the capacity. */
export const set = <A>(lru: Lru<A>, key: string, value: A, expiresAt: number): Lru<A> => {
  const next = stamp(lru, key, value, expiresAt, Option.getOrUndefined(HashMap.get(lru.slots, key)))
  return HashMap.size(next.slots) <= next.capacity ? next : evictOldest(next)
}
