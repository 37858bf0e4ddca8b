import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { Redis } from "../../src/redis/index.js"
import * as RedisServer from "../support/redisServer.js"
import { build, withLogs, eventually, password, serverWithPassword } from "./kit.js"

const connectionOf = (options: Redis.Options) => Effect.map(build(options), Context.get(Redis.Connection))

describe("Redis connection", () => {
  it.scopedLive("runs commands and scripts on a real server, under the prefix", () =>
    Effect.gen(function* () {
      const { options } = yield* serverWithPassword()
      const connection = yield* connectionOf(options)
      expect(connection.key("rl", "gpt-4o")).toBe("test:rl:gpt-4o")
      const incr = connection.script("incr", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
      expect(yield* incr([connection.key("n")], [2])).toBe(2)
      expect(yield* incr([connection.key("n")], [3])).toBe(5)
      // NOSCRIPT after the server forgot its scripts: reloaded within the same call
      yield* connection.run((redis) => redis.script("FLUSH"))
      expect(yield* incr([connection.key("n")], [1])).toBe(6)
      const now = Date.now()
      const time = yield* connection.time
      expect(Math.abs(time - now)).toBeLessThan(1000)
      expect((yield* connection.status).state).toBe("connected")
    })
  )

  it.scopedLive("a paused server: calls give up after the timeout, then fail fast, and one warning is logged", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const { server, options } = yield* serverWithPassword()
        const connection = yield* connectionOf(options)
        yield* server.pause
        const started = Date.now()
        const first = yield* Effect.either(connection.time)
        const firstTook = Date.now() - started
        expect(Either.isLeft(first) && first.left._tag).toBe("StoreUnavailable")
        expect(firstTook).toBeGreaterThanOrEqual(45)
        expect(firstTook).toBeLessThan(500)
        const again = Date.now()
        for (let i = 0; i < 20; i++) yield* Effect.either(connection.time)
        expect(Date.now() - again).toBeLessThan(200)
        const status = yield* connection.status
        expect(status).toMatchObject({ state: "unavailable", outages: 1 })
        expect(logs.count("WARN")).toBe(1)
        yield* server.resume
        yield* eventually("reconnection after SIGCONT", Effect.map(Effect.either(connection.time), Either.isRight))
        expect((yield* connection.status).state).toBe("connected")
        expect(logs.count("INFO")).toBe(1)
        expect(logs.lines.join("\n")).not.toContain(password)
      })
    )
  )

  it.scopedLive("absent at start: the layer builds, calls fail fast, and it connects once the server starts", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const { server, options } = yield* serverWithPassword({ absent: true })
        const connection = yield* connectionOf(options)
        expect(yield* connection.status).toMatchObject({ state: "unavailable", outages: 1 })
        expect(Either.isLeft(yield* Effect.either(connection.time))).toBe(true)
        yield* server.restart
        yield* eventually(
          "connection after the server started",
          Effect.map(Effect.either(connection.time), Either.isRight)
        )
        expect((yield* connection.status).state).toBe("connected")
        expect(logs.count("WARN")).toBe(1)
        expect(logs.lines.join("\n")).not.toContain(password)
        expect(logs.lines.join("\n")).not.toContain(server.plainUrl)
      })
    )
  )

  it.scopedLive("killed and restarted: unavailable, then back, with one warning and one info", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const { server, options } = yield* serverWithPassword()
        const connection = yield* connectionOf(options)
        yield* server.kill
        yield* eventually("the failure to be seen", Effect.map(Effect.either(connection.time), Either.isLeft))
        expect((yield* connection.status).state).toBe("unavailable")
        yield* server.restart
        yield* eventually("reconnection after restart", Effect.map(Effect.either(connection.time), Either.isRight))
        expect(logs.count("WARN")).toBe(1)
        expect(logs.count("INFO")).toBe(1)
        expect(logs.lines.join("\n")).not.toContain(password)
      })
    )
  )

  it.effect("bad options fail with BadRequest naming the option, never showing the URL", () =>
    Effect.gen(function* () {
      const secretUrl = "http://:hunter22@127.0.0.1:6379"
      const wrongScheme = yield* Effect.flip(Effect.scoped(Redis.makeConnection({ url: Redacted.make(secretUrl) })))
      expect(wrongScheme.message).toContain("option url")
      expect(wrongScheme.message).not.toContain("hunter22")
      const notRedacted = yield* Effect.flip(
        Effect.scoped(Redis.makeConnection({ url: secretUrl as unknown as Redacted.Redacted<string> }))
      )
      expect(notRedacted.message).toContain("expected a Redacted URL")
      expect(notRedacted.message).not.toContain("hunter22")
      const garbage = yield* Effect.flip(Effect.scoped(Redis.makeConnection({ url: Redacted.make("::nope") })))
      expect(garbage.message).toContain("not a valid URL")
      const timeout = yield* Effect.flip(
        Effect.scoped(Redis.makeConnection({ url: Redacted.make("redis://127.0.0.1:1"), timeout: -1 }))
      )
      expect(timeout.message).toContain("option timeout")
      const prefix = yield* Effect.flip(
        Effect.scoped(
          Redis.makeConnection({ url: Redacted.make("redis://127.0.0.1:1"), prefix: 5 as unknown as string })
        )
      )
      expect(prefix.message).toContain("option prefix")
    })
  )

  it.live("the test server fails clearly when redis-server cannot be found", () =>
    Effect.gen(function* () {
      const path = process.env.PATH
      process.env.PATH = "/nonexistent"
      const exit = yield* Effect.exit(Effect.scoped(RedisServer.start())).pipe(
        Effect.ensuring(Effect.sync(() => (process.env.PATH = path)))
      )
      expect(String(exit)).toContain("redis-server is not installed")
    })
  )
})
