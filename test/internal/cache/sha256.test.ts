import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { createHash } from "node:crypto"
import { sha256 } from "../../../src/internal/cache/sha256.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const reference = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

describe("sha256", () => {
  it("gives the standard's digests of the empty message and of abc", () => {
    expect(hex(sha256(new Uint8Array()))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    expect(hex(sha256(new TextEncoder().encode("abc")))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
  })

  it("agrees with node:crypto at every length around the block and padding edges", () => {
    for (let length = 0; length <= 200; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + length) & 0xff)
      expect(hex(sha256(bytes))).toBe(reference(bytes))
    }
  })

  it.prop("agrees with node:crypto on any bytes", [FastCheck.uint8Array({ maxLength: 3000 })], ([bytes]) => {
    expect(hex(sha256(bytes))).toBe(reference(bytes))
  })
})
