/**
 * Helpers the Redis tests share: a logger that records every line (level, message, annotations, cause) so a test can
 * count warnings and look for secrets, and a bounded poll for conditions a real process must catch up with.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { Redis } from "../../src/redis/index.js"
import * as RedisServer from "../support/redisServer.js"

export interface Logs {
  readonly lines: ReadonlyArray<string>
  readonly count: (level: "WARN" | "INFO" | "DEBUG" | "ERROR") => number
}

/** Runs `body` with every log line recorded as text (level first) instead of printed. */
export const withLogs = <A, E, R>(body: (logs: Logs) => Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const { logger, ...logs } = makeLogs()
    return Effect.provide(body(logs), logger)
  })

const makeLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ annotations, cause, logLevel, message }) => {
      const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
      lines.push(`${logLevel.label}: ${text} ${JSON.stringify([...annotations])} ${Cause.pretty(cause)}`)
    })
  )
  return { lines, logger, count: (level: string) => lines.filter((line) => line.startsWith(`${level}:`)).length }
}

/**
 * Runs `check` every 20 ms, at most `tries` times, until it holds; dies naming `what` otherwise. For state that a
 * real server or a reconnecting client reaches on its own time.
 */
export const eventually = <E, R>(what: string, check: Effect.Effect<boolean, E, R>, tries = 150) =>
  Effect.gen(function* () {
    for (let i = 0; i < tries; i++) {
      if (yield* check) return
      yield* Effect.sleep(Duration.millis(20))
    }
    return yield* Effect.dieMessage(`${what} did not happen within ${tries} tries`)
  })

/** A server with a password, and the `Redis.layer` options for it. */
export const serverWithPassword = (options: RedisServer.Options = {}) =>
  Effect.map(RedisServer.start({ password: "s3cret-pa55word", ...options }), (server) => ({
    server,
    options: { url: server.url, prefix: "test:", timeout: "50 millis" } satisfies Redis.Options
  }))

/** Builds `Redis.layer(options)` into the current scope and returns its context. */
export const build = (options: Redis.Options) => Layer.build(Redis.layer(options))

/** The password the servers of {@link serverWithPassword} use, for "no secret in logs" checks. */
export const password = "s3cret-pa55word"
