/**
 * One ioredis client per `Redis.layer`, and the only way the stores talk to it: every command runs under a timeout
 * (ioredis' `commandTimeout`: each command of a `run` gives up after `timeout`),
 * fails as a typed `StoreUnavailable` (never throws, never hangs), and moves the connection's health between
 * "connected" and "unavailable".
 *
 * Decisions:
 * - **No offline queue.** ioredis would otherwise keep every command issued while disconnected and send them all on
 *   reconnect, long after their callers gave up. With it off, a command on a closed connection fails at once.
 * - **Fail fast during an outage.** A paused server (SIGSTOP) keeps its TCP connection, so commands would be written
 *   and wait for their timeout, one after the other, piling up in the socket. Once a command has failed, the
 *   connection is "unavailable": calls fail at once without reaching ioredis, except one probe every
 *   {@link probeEvery} that goes through (with the timeout). Its success makes the connection "connected" again. So
 *   at most the calls of the first `timeout` and one call per probe interval ever wait, and few commands pile up.
 * - **One warning per outage, one info when it ends**, both without the URL: messages from ioredis are scrubbed of
 *   the URL and the password before they are kept or logged.
 * - **Scripts by EVALSHA**, the SHA-1 computed here; on `NOSCRIPT` (a restarted or flushed server) the script is sent
 *   whole with EVAL, which also caches it again, inside the same timeout.
 * - **Auto-pipelining on**: the commands of one event-loop tick go out in one write, which is what keeps many
 *   concurrent requests at about one round trip each.
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { Redis as IoRedis, ReplyError } from "ioredis"
import * as Crypto from "node:crypto"

/** The ioredis client a command runs on. */
export type Client = IoRedis

/** A call to Redis that did not complete: no answer within the timeout, no connection, or an error reply. */
export class StoreUnavailable extends Data.TaggedError("StoreUnavailable")<{
  readonly message: string
  /** Redis answered with an error (a script bug, a key of the wrong type): the connection itself is fine. */
  readonly reply?: boolean | undefined
}> {}

/** The health of a connection, as `Router.stats` and the gateway show it. */
export interface StoreStatus {
  readonly state: "connected" | "unavailable"
  /** When the connection entered this state (epoch millis, from `Clock`). */
  readonly since: number
  /** Why the last outage began, scrubbed of secrets. */
  readonly lastError?: string | undefined
  /** Outages since the layer was built. */
  readonly outages: number
}

/** What the stores (and the RouterStore) use to reach Redis. */
export interface Connection {
  /** The prefix every key starts with, e.g. `ell:`. */
  readonly prefix: string
  /** How long one call may take. */
  readonly timeout: Duration.Duration
  /** A key under the prefix: `key("rl", "gpt-4o")` is `ell:rl:gpt-4o`. */
  readonly key: (...parts: ReadonlyArray<string>) => string
  /** Runs one command (or a pipeline) on the client; gives up after `timeout`. */
  readonly run: <A>(command: (redis: Client) => Promise<A>) => Effect.Effect<A, StoreUnavailable>
  /** A Lua script, run by EVALSHA (reloaded on NOSCRIPT). */
  readonly script: (
    name: string,
    lua: string
  ) => (keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>) => Effect.Effect<unknown, StoreUnavailable>
  /**
   * Sends scripts to the server ahead of their first use (SCRIPT LOAD), so a first burst of calls does not all miss
   * and resend the whole script; best effort, a failure is only reported.
   */
  readonly preload: (...scripts: ReadonlyArray<string>) => Effect.Effect<void>
  /** Redis' clock (`TIME`) in epoch millis. */
  readonly time: Effect.Effect<number, StoreUnavailable>
  readonly status: Effect.Effect<StoreStatus>
  /** Marks the connection unavailable; logs one warning per outage. `run` calls it on every failure. */
  readonly report: (error: StoreUnavailable) => Effect.Effect<void>
}

/** Options, already validated and defaulted by `Redis.layer`. */
export interface Settings {
  readonly url: Redacted.Redacted<string>
  readonly prefix: string
  readonly timeout: Duration.Duration
}

/** How often a call is let through to Redis while it is unavailable, to learn whether it is back. */
export const probeEvery: Duration.Duration = Duration.millis(250)

/** The longest the layer waits at build time for a first connection before carrying on without one. */
const connectWait = Duration.seconds(1)

interface Health extends StoreStatus {
  /** When a call last went through to Redis while unavailable. */
  readonly probedAt: number
}

/** The password of a URL (or undefined), to scrub it from messages. */
const secretsOf = (url: string): ReadonlyArray<string> => {
  try {
    const parsed = new URL(url)
    return [url, parsed.password, decodeURIComponent(parsed.password)].filter((s) => s.length >= 3)
  } catch {
    return [url]
  }
}

const describe = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : "unknown error"

/** Makes a connection whose client lives as long as the scope; never fails, also when Redis is absent. */
export const make = (settings: Settings): Effect.Effect<Connection, never, Scope.Scope> =>
  Effect.gen(function* () {
    const secrets = secretsOf(Redacted.value(settings.url))
    const scrub = (text: string) => secrets.reduce((out, secret) => out.split(secret).join("<redacted>"), text)
    const timeoutMillis = Duration.toMillis(settings.timeout)

    const client = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new IoRedis(Redacted.value(settings.url), {
            enableOfflineQueue: false,
            enableAutoPipelining: true,
            maxRetriesPerRequest: 0,
            // ioredis' own per-command deadline rather than Effect.timeout around each call: a network deadline is
            // real time either way, and racing a sleep fiber cost about 1 ms per call on a loaded machine (measured:
            // 1,000 PINGs took 2.4 s under Effect.timeoutFail, 0.15 s without), past the 0.3 ms budget.
            commandTimeout: timeoutMillis,
            connectTimeout: Math.max(timeoutMillis, 1000),
            // reconnect soon after a restart, but do not spin while it stays down
            retryStrategy: (times: number) => Math.min(times * 50, 500),
            lazyConnect: false
          })
      ),
      (redis) =>
        // interruptible: a release runs uninterruptibly, and a paused server would never answer QUIT
        Effect.interruptible(Effect.promise(() => redis.quit().catch(() => "gone"))).pipe(
          Effect.timeoutOption(settings.timeout),
          Effect.ensuring(Effect.sync(() => redis.disconnect()))
        )
    )
    // Without a listener ioredis prints every connection error itself (to the console, outside Effect's logger).
    client.on("error", () => {})

    // Wait (bounded) for the first connection, so a layer built next to a running Redis starts on it.
    yield* Effect.async<void>((resume) => {
      const stop = () => {
        client.off("ready", done)
        client.off("error", done)
      }
      const done = () => {
        stop()
        resume(Effect.void)
      }
      client.on("ready", done)
      client.on("error", done)
      return Effect.sync(stop)
    }).pipe(Effect.timeoutOption(connectWait))

    const now = yield* Clock.currentTimeMillis
    const ready = client.status === "ready"
    const health = yield* Ref.make<Health>({
      state: ready ? "connected" : "unavailable",
      since: now,
      lastError: ready ? undefined : "no connection at start",
      outages: ready ? 0 : 1,
      probedAt: now
    })
    if (!ready) {
      yield* Effect.logWarning(
        "Redis store: no connection at start; serving from local state until Redis answers (it is retried in the background)"
      )
    }

    const report = (error: StoreUnavailable): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (at) =>
        Effect.flatten(
          Ref.modify(health, (h): [Effect.Effect<void>, Health] =>
            h.state === "unavailable"
              ? [Effect.void, h]
              : [
                  Effect.logWarning(
                    `Redis store unavailable (${error.message}); serving from local state until it answers again`
                  ),
                  { state: "unavailable", since: at, lastError: error.message, outages: h.outages + 1, probedAt: at }
                ]
          )
        )
      )

    const recovered = (at: number): Effect.Effect<void> =>
      Effect.flatten(
        Ref.modify(health, (h): [Effect.Effect<void>, Health] =>
          h.state === "connected"
            ? [Effect.void, h]
            : [
                Effect.logInfo(
                  `Redis store answers again after ${Duration.format(Duration.millis(Math.max(0, at - h.since)))} unavailable; back on shared state`
                ),
                { state: "connected", since: at, lastError: h.lastError, outages: h.outages, probedAt: h.probedAt }
              ]
        )
      )

    /** Whether a call may reach Redis now: always when connected, once per probe interval when not. */
    const admit = (at: number): Effect.Effect<boolean> =>
      Ref.modify(health, (h): [boolean, Health] =>
        h.state === "connected"
          ? [true, h]
          : at - h.probedAt >= Duration.toMillis(probeEvery)
            ? [true, { ...h, probedAt: at }]
            : [false, h]
      )

    const unavailable = (message: string) => new StoreUnavailable({ message })

    const attempt = <A>(command: (redis: Client) => Promise<A>): Effect.Effect<A, StoreUnavailable> =>
      Effect.tryPromise({
        try: () => command(client),
        catch: (cause) => {
          const message = describe(cause)
          return new StoreUnavailable({
            message:
              message === "Command timed out"
                ? `Redis did not answer within ${Duration.format(settings.timeout)}`
                : `Redis call failed: ${scrub(message)}`,
            reply: cause instanceof ReplyError
          })
        }
      })

    const onFailure = (error: StoreUnavailable) =>
      error.reply === true
        ? Effect.logWarning(`Redis store: ${error.message}; this call is served locally`)
        : report(error)

    // Connected, the hot path: one Ref read around the command. Unavailable: a probe per interval, else fail fast.
    const run = <A>(command: (redis: Client) => Promise<A>): Effect.Effect<A, StoreUnavailable> =>
      Effect.flatMap(Ref.get(health), (h) =>
        h.state === "connected"
          ? Effect.tapError(attempt(command), onFailure)
          : Effect.flatMap(Clock.currentTimeMillis, (at) =>
              Effect.flatMap(admit(at), (go) =>
                go
                  ? attempt(command).pipe(
                      Effect.tapBoth({
                        onFailure,
                        onSuccess: () => Effect.flatMap(Clock.currentTimeMillis, recovered)
                      })
                    )
                  : Effect.fail(unavailable("Redis is unavailable; waiting for it to answer again"))
              )
            )
      )

    const script = (name: string, lua: string) => {
      const sha = Crypto.createHash("sha1").update(lua).digest("hex")
      return (
        keys: ReadonlyArray<string>,
        args: ReadonlyArray<string | number>
      ): Effect.Effect<unknown, StoreUnavailable> =>
        run((redis) =>
          redis.evalsha(sha, keys.length, ...keys, ...args).catch((error: unknown) => {
            if (!describe(error).startsWith("NOSCRIPT")) {
              if (error instanceof Error) error.message = `script ${name}: ${error.message}`
              throw error
            }
            return redis.eval(lua, keys.length, ...keys, ...args)
          })
        )
    }

    const time = Effect.map(
      run((redis) => redis.time()),
      ([seconds, micros]) => Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
    )

    return {
      prefix: settings.prefix,
      timeout: settings.timeout,
      key: (...parts) => settings.prefix + parts.join(":"),
      run,
      script,
      time,
      status: Effect.map(Ref.get(health), ({ probedAt: _, ...status }) => status),
      report,
      preload: (...scripts) =>
        Effect.ignore(run((redis) => Promise.all(scripts.map((lua) => redis.script("LOAD", lua)))))
    }
  })
