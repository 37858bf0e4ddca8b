/**
 * SHA-256 (FIPS 180-4) in plain TypeScript, synchronous and the same in every runtime.
 *
 * Why not Web Crypto: `crypto.subtle.digest` answers through a promise settled by a native thread, so a cache call
 * would wait on real time before its first effect: under `TestClock`, a forked call could miss an `adjust` and
 * hang, depending on the machine's load. Why not `node:crypto`: the main entry must load in Bun, Deno, browsers and
 * edge runtimes. A key is one digest of a request, a few microseconds per kilobyte here.
 */

/** The first `count` primes. */
const primes = (count: number): Array<number> => {
  const found: Array<number> = []
  for (let n = 2; found.length < count; n++) if (found.every((p) => n % p !== 0)) found.push(n)
  return found
}

/** The first 32 bits of the fractional part of `x`. */
const fraction32 = (x: number): number => ((x - Math.floor(x)) * 0x100000000) >>> 0

// The standard's constants, derived as it defines them rather than typed in: roots of the first primes.
const PRIMES = primes(64)
const K = Int32Array.from(PRIMES, (p) => fraction32(Math.cbrt(p)))
const INITIAL = Int32Array.from(PRIMES.slice(0, 8), (p) => fraction32(Math.sqrt(p)))

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n))

/** The 32-byte SHA-256 digest of `message`. */
export const sha256 = (message: Uint8Array): Uint8Array => {
  // Padding: a 1 bit, zeros, then the length in bits as 64 bits big-endian, to a whole number of 64-byte blocks.
  const padded = new Uint8Array(Math.ceil((message.length + 9) / 64) * 64)
  padded.set(message)
  padded[message.length] = 0x80
  const view = new DataView(padded.buffer)
  view.setUint32(padded.length - 8, Math.floor(message.length / 0x20000000))
  view.setUint32(padded.length - 4, (message.length * 8) >>> 0)

  const hash = Int32Array.from(INITIAL)
  const w = new Int32Array(64)
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getInt32(block + i * 4)
    for (let i = 16; i < 64; i++) {
      const early = w[i - 15]!
      const late = w[i - 2]!
      const s0 = rotr(early, 7) ^ rotr(early, 18) ^ (early >>> 3)
      const s1 = rotr(late, 17) ^ rotr(late, 19) ^ (late >>> 10)
      w[i] = w[i - 16]! + s0 + w[i - 7]! + s1 // an Int32Array keeps the sum modulo 2^32
    }
    let a = hash[0]!
    let b = hash[1]!
    let c = hash[2]!
    let d = hash[3]!
    let e = hash[4]!
    let f = hash[5]!
    let g = hash[6]!
    let h = hash[7]!
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0
      h = g
      g = f
      f = e
      e = (d + t1) | 0
      d = c
      c = b
      b = a
      a = (t1 + t2) | 0
    }
    hash[0] += a
    hash[1] += b
    hash[2] += c
    hash[3] += d
    hash[4] += e
    hash[5] += f
    hash[6] += g
    hash[7] += h
  }
  const digest = new Uint8Array(32)
  const out = new DataView(digest.buffer)
  hash.forEach((word, i) => out.setUint32(i * 4, word))
  return digest
}
