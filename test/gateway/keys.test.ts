import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import type * as Chat from "../../src/Chat.js"
import * as LlmTest from "../../src/LlmTest.js"
import type * as Access from "../../src/gateway/Access.js"
import type * as Config from "../../src/gateway/Config.js"
import * as Keys from "../../src/gateway/internal/keys.js"

const request: Chat.ChatCompletionRequest = {
  model: "gpt-4o",
  messages: [{ role: "user", content: "hi" }],
  max_tokens: 1
}

const key = (name: string, secret: string, rest: Partial<Config.KeyConfig> = {}): Config.KeyConfig => ({
  name,
  key: Redacted.make(secret),
  ...rest
})

/** Access over a fake service answering 5 prompt + 5 completion tokens, priced at $0.10 a token. */
const makeAccess = (keys: ReadonlyArray<Config.KeyConfig>) =>
  Effect.gen(function* () {
    const fake = yield* LlmTest.make({ usage: { prompt_tokens: 5, completion_tokens: 5 } })
    const service = yield* Keys.make({
      service: fake.service,
      masterKey: Redacted.make("master-secret"),
      keys,
      prices: { "gpt-4o": { inputPerMillion: 100_000, outputPerMillion: 100_000 } }
    })
    return { access: service, calls: fake.calls }
  })

const chatAs = (access: Access.Service, secret: string, req: Chat.ChatCompletionRequest = request) =>
  Effect.gen(function* () {
    const caller = yield* access.authenticate(`Bearer ${secret}`)
    const service = yield* access.serviceFor(caller, req.model)
    return yield* service.chat(req)
  })

describe("virtual keys", () => {
  it.scoped("the master key and a virtual key authenticate; a wrong or missing key is a 401 naming no key", () =>
    Effect.gen(function* () {
      const { access } = yield* makeAccess([key("team-a", "team-a-secret")])
      expect((yield* access.authenticate("Bearer master-secret")).name).toBe(Keys.masterName)
      expect((yield* access.authenticate("bearer team-a-secret")).name).toBe("team-a")
      const wrong = yield* Effect.flip(access.authenticate("Bearer team-a-secreT"))
      expect(wrong).toMatchObject({ _tag: "Authentication", status: 401 })
      expect(wrong.message).not.toContain("secre")
      const missing = yield* Effect.flip(access.authenticate(undefined))
      expect(missing).toMatchObject({ _tag: "Authentication", status: 401 })
      expect(missing.message).toContain("Authorization: Bearer")
      expect(yield* Effect.flip(access.authenticate("Basic abc"))).toMatchObject({ status: 401 })
    })
  )

  it.scoped("a key may use only its groups: another model is a 403 naming what it may use", () =>
    Effect.gen(function* () {
      const { access } = yield* makeAccess([key("team-a", "a", { groups: ["gpt-4o"] })])
      const caller = yield* access.authenticate("Bearer a")
      const error = yield* Effect.flip(access.serviceFor(caller, "claude-sonnet"))
      expect(error).toMatchObject({ _tag: "Authentication", status: 403 })
      expect(error.message).toBe(`the key "team-a" may not use model "claude-sonnet"; it may use: gpt-4o`)
      expect((yield* chatAs(access, "a")).choices[0]!.message.content).toBe("ok")
      const master = yield* access.authenticate("Bearer master-secret")
      yield* access.serviceFor(master, "claude-sonnet")
    })
  )

  it.scoped("an expired key is refused from its expiry on (Clock)", () =>
    Effect.gen(function* () {
      const expires = new Date("2027-01-01T00:00:00Z")
      const { access } = yield* makeAccess([key("old", "old-secret", { expires })])
      yield* TestClock.setTime(expires.getTime() - 1)
      expect((yield* access.authenticate("Bearer old-secret")).name).toBe("old")
      yield* TestClock.setTime(expires.getTime())
      const error = yield* Effect.flip(access.authenticate("Bearer old-secret"))
      expect(error).toMatchObject({ _tag: "Authentication", status: 401 })
      expect(error.message).toBe(`the key "old" expired on 2027-01-01`)
    })
  )

  it.scoped("rpm holds per key across models; another key and the master key are not counted", () =>
    Effect.gen(function* () {
      const { access, calls } = yield* makeAccess([key("a", "a-secret", { rpm: 2 }), key("b", "b-secret", { rpm: 2 })])
      yield* chatAs(access, "a-secret")
      yield* chatAs(access, "a-secret", { ...request, model: "other" })
      const limited = yield* Effect.flip(chatAs(access, "a-secret"))
      expect(limited._tag).toBe("RateLimited")
      yield* chatAs(access, "b-secret")
      yield* chatAs(access, "master-secret")
      expect(yield* calls).toBe(4)
      yield* TestClock.adjust("61 seconds")
      yield* chatAs(access, "a-secret")
    })
  )

  it.scoped("tpm holds per key: the window counts the tokens the calls used", () =>
    Effect.gen(function* () {
      const { access } = yield* makeAccess([key("a", "a-secret", { tpm: 20 })])
      yield* chatAs(access, "a-secret")
      yield* chatAs(access, "a-secret")
      expect((yield* Effect.flip(chatAs(access, "a-secret")))._tag).toBe("RateLimited")
    })
  )

  it.scoped("a hard budget per key: once spent, the key's calls are refused; other keys go on", () =>
    Effect.gen(function* () {
      const { access, calls } = yield* makeAccess([
        key("a", "a-secret", { budget: 1 }),
        key("b", "b-secret", { budget: 1 })
      ])
      yield* chatAs(access, "a-secret") // 10 tokens at $0.10: $1, the whole budget
      const refused = yield* Effect.flip(chatAs(access, "a-secret"))
      expect(refused._tag).toBe("BudgetExceeded")
      expect(refused.message).toMatch(/^the key "a" budget of \$1\.00 would be passed: \$1\.00 spent/)
      expect(refused.message).not.toContain("a-secret")
      yield* chatAs(access, "b-secret")
      expect(yield* calls).toBe(2)
    })
  )

  it("key ids are digests: stable, distinct, and never the key", () => {
    const id = Keys.keyId(Redacted.make("team-a-secret"))
    expect(id).toBe(Keys.keyId(Redacted.make("team-a-secret")))
    expect(id).not.toBe(Keys.keyId(Redacted.make("team-b-secret")))
    expect(id).toMatch(/^vk:[0-9a-f]{32}$/)
    expect(id).not.toContain("team-a")
  })
})
