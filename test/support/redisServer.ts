/**
 * A real `redis-server` for a test: a child process on a free loopback port, without persistence, stopped when the
 * test's scope closes. The test can kill it (SIGKILL), pause it (SIGSTOP), resume it (SIGCONT) and start it again on
 * the same port, to see what the library does when its Redis goes away.
 *
 * When `redis-server` is not installed the test fails with a message saying how to install it: a test that skips
 * itself would let CI pass without ever running the Redis code.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as ChildProcess from "node:child_process"
import * as Net from "node:net"

/** A running server and the handles to disturb it. */
export interface RedisServer {
  readonly port: number
  /** `redis://[:password@]127.0.0.1:PORT`, as the library takes it. */
  readonly url: Redacted.Redacted<string>
  /** The same URL in plain text, for tests that check it never appears in logs. */
  readonly plainUrl: string
  /** SIGKILL: the server is gone at once, connections reset. */
  readonly kill: Effect.Effect<void>
  /** SIGSTOP: the server keeps its connections but answers nothing. */
  readonly pause: Effect.Effect<void>
  /** SIGCONT: a paused server answers again (and runs what it received meanwhile). */
  readonly resume: Effect.Effect<void>
  /** Kills the server if it runs, then starts a fresh, empty one on the same port and waits until it answers. */
  readonly restart: Effect.Effect<void>
}

export interface Options {
  /** `requirepass`: clients must authenticate; the URL carries it. */
  readonly password?: string | undefined
  /** Start nothing yet: the port is reserved, `restart` starts the server (to test "absent at start"). */
  readonly absent?: boolean | undefined
}

/** A free loopback port, found by letting the OS pick one and closing it again. */
const freePort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.once("error", (error) => resume(Effect.die(error)))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * Starts redis-server and resolves once it says on its log that it accepts connections (no polling, no timers); a
 * server that exits first (port taken, bad option) fails the start with its last log lines.
 */
const spawn = (port: number, password: string | undefined): Effect.Effect<ChildProcess.ChildProcess> =>
  Effect.async<ChildProcess.ChildProcess>((resume) => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if (password !== undefined) args.push("--requirepass", password)
    const child = ChildProcess.spawn("redis-server", args, { stdio: ["ignore", "pipe", "ignore"] })
    let log = ""
    let ready = false
    child.stdout!.on("data", (chunk: Buffer) => {
      if (ready) return // keep reading, so the pipe never fills
      log = (log + chunk.toString("utf8")).slice(-4096)
      if (log.includes("Ready to accept connections")) {
        ready = true
        resume(Effect.succeed(child))
      }
    })
    child.once("exit", (code) => {
      if (!ready)
        resume(Effect.dieMessage(`redis-server on port ${port} exited (${code}) before it was ready:\n${log}`))
    })
    child.once("error", (error: NodeJS.ErrnoException) =>
      resume(
        Effect.dieMessage(
          error.code === "ENOENT"
            ? "redis-server is not installed: install it (apt-get install -y redis-server) to run the Redis tests"
            : `redis-server could not start: ${error.message}`
        )
      )
    )
  })

/** Sends a signal and, for SIGKILL, waits until the process has exited. */
const signal = (child: ChildProcess.ChildProcess, name: NodeJS.Signals): Effect.Effect<void> =>
  name !== "SIGKILL"
    ? Effect.sync(() => void child.kill(name))
    : child.exitCode !== null || child.signalCode !== null
      ? Effect.void
      : Effect.async<void>((resume) => {
          child.once("exit", () => resume(Effect.void))
          child.kill("SIGKILL")
        })

/** Starts a server (unless `absent`) and stops it when the scope closes. */
export const start = (options: Options = {}): Effect.Effect<RedisServer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const port = yield* freePort
    const password = options.password
    const current = yield* Effect.acquireRelease(Ref.make<ChildProcess.ChildProcess | undefined>(undefined), (ref) =>
      Effect.flatMap(Ref.get(ref), (child) => (child === undefined ? Effect.void : signal(child, "SIGKILL")))
    )
    const withChild = (f: (child: ChildProcess.ChildProcess) => Effect.Effect<void>) =>
      Effect.flatMap(Ref.get(current), (child) => (child === undefined ? Effect.void : f(child)))
    const kill = withChild((child) => signal(child, "SIGKILL"))
    const launch = Effect.gen(function* () {
      yield* Ref.set(current, yield* spawn(port, password))
    })
    if (options.absent !== true) yield* launch
    const plainUrl = `redis://${password === undefined ? "" : `:${password}@`}127.0.0.1:${port}`
    return {
      port,
      url: Redacted.make(plainUrl),
      plainUrl,
      kill,
      pause: withChild((child) => signal(child, "SIGSTOP")),
      resume: withChild((child) => signal(child, "SIGCONT")),
      restart: Effect.zipRight(kill, launch)
    }
  })
