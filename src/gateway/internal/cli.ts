/**
 * The command line: `effect-liter-llm check --config FILE` and
 * `effect-liter-llm serve --config FILE [--host H] [--port P] [--workers N]`.
 *
 * - `check` decodes the file (every problem, with its path) and exits 1 when there is any, 0 with a summary when not.
 * - `serve` prints exactly one line `listening on http://HOST:PORT` on stdout once requests are accepted (port 0
 *   picks a free port: the line is how a script learns it). Notes and logs go to stderr.
 * - `--workers N` forks N processes with node:cluster; they share the listening socket (the primary hands out
 *   connections), each with its own router and middleware, sharing state only through `redis:` — without Redis each
 *   worker counts limits and budgets alone, and `serve` says so. The primary prints the line once every worker
 *   listens, and replaces a worker that dies.
 * - SIGTERM or SIGINT: each server stops accepting, lets in-flight requests finish within `shutdownTimeout`, then
 *   closes its Redis connection (the layer's scope); the primary forwards the signal and exits when the workers have.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import cluster from "node:cluster"
import * as Config from "../Config.js"
import * as Gateway from "../Gateway.js"
import * as Server from "../Server.js"

const usage = `usage:
  effect-liter-llm check --config FILE
  effect-liter-llm serve --config FILE [--host HOST] [--port PORT] [--workers N]`

/** A parsed command line. */
export interface Command {
  readonly command: "check" | "serve"
  readonly config: string
  readonly host: string | undefined
  readonly port: number | undefined
  readonly workers: number
}

/** Reads the arguments after the program name; a string is what is wrong with them. */
export const parseArgs = (argv: ReadonlyArray<string>): Command | string => {
  const [command, ...rest] = argv
  if (command !== "check" && command !== "serve") {
    return command === undefined ? "no command given" : `unknown command "${command}"`
  }
  const flags = new Map<string, string>()
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    const eq = arg.indexOf("=")
    const name = eq === -1 ? arg : arg.slice(0, eq)
    if (!["--config", "--host", "--port", "--workers"].includes(name)) return `unknown option "${arg}"`
    if (command === "check" && name !== "--config") return `check takes only --config, not ${name}`
    const value = eq === -1 ? rest[++i] : arg.slice(eq + 1)
    if (value === undefined || value === "") return `${name} needs a value`
    flags.set(name, value)
  }
  const config = flags.get("--config")
  if (config === undefined) return "--config FILE is required"
  const int = (name: string, min: number, max: number) => {
    const text = flags.get(name)
    if (text === undefined) return undefined
    const n = Number(text)
    return /^\d+$/.test(text) && n >= min && n <= max
      ? n
      : `${name} expects a whole number from ${min} to ${max}, got "${text}"`
  }
  const port = int("--port", 0, 65535)
  if (typeof port === "string") return port
  const workers = int("--workers", 1, 256)
  if (typeof workers === "string") return workers
  return { command, config, host: flags.get("--host"), port, workers: workers ?? 1 }
}

const summary = (config: Config.Config) => {
  const groups = Object.values(config.groups)
  const deployments = groups.reduce((n, list) => n + list.length, 0)
  return `${groups.length} group${groups.length === 1 ? "" : "s"}, ${deployments} deployment${deployments === 1 ? "" : "s"}, ${config.keys?.length ?? 0} key${config.keys?.length === 1 ? "" : "s"}${config.redis === undefined ? "" : ", redis"}`
}

/** Loads the file, printing its problems on stderr; fails (exit 1) when it has any. */
const loadOrReport = (path: string) => Effect.tapError(Config.load(path), (error) => Console.error(error.message))

const check = (command: Command) =>
  Effect.flatMap(loadOrReport(command.config), (config) => Console.log(`${command.config}: ok (${summary(config)})`))

/** One serving process: the gateway for as long as the process runs; tells the primary (or stdout) when it listens. */
const serveHere = (command: Command) =>
  Effect.gen(function* () {
    const config = yield* loadOrReport(command.config)
    const { note } = Gateway.bindHost(config, command.host)
    if (note !== undefined && cluster.isPrimary) yield* Console.error(note)
    const announce = Layer.effectDiscard(
      Effect.flatMap(Server.Listening, (address) =>
        cluster.isWorker && process.send !== undefined
          ? Effect.sync(() => process.send!({ ell: "listening", url: address.url }))
          : Console.log(`listening on ${address.url}`)
      )
    )
    return yield* Layer.launch(
      announce.pipe(Layer.provide(Gateway.layer(config, { host: command.host, port: command.port })))
    )
  })

/** The primary of `--workers N`: forks, prints the line once all listen, replaces the dead, forwards signals. */
const servePrimary = (command: Command) =>
  Effect.gen(function* () {
    const config = yield* loadOrReport(command.config)
    const { note } = Gateway.bindHost(config, command.host)
    if (note !== undefined) yield* Console.error(note)
    if (config.redis === undefined) {
      yield* Console.error(
        `${command.workers} workers without redis: each worker keeps its own rate limits, budgets and router state`
      )
    }
    yield* Effect.async<void, string>((resume) => {
      let stopping = false
      let announced = false
      const ready = new Set<number>()
      const stop = () => {
        if (stopping) return
        stopping = true
        const workers = Object.values(cluster.workers ?? {})
        if (workers.length === 0) resume(Effect.void)
        for (const worker of workers) worker?.process.kill("SIGTERM")
      }
      const fork = () => {
        const worker = cluster.fork()
        worker.on("message", (message: { ell?: string; url?: string }) => {
          if (message?.ell !== "listening") return
          ready.add(worker.id)
          if (!announced && ready.size >= command.workers) {
            announced = true
            process.stdout.write(`listening on ${message.url}\n`)
          }
        })
      }
      cluster.on("exit", (worker, code, signal) => {
        ready.delete(worker.id)
        if (stopping) {
          if (Object.keys(cluster.workers ?? {}).length === 0) {
            resume(announced ? Effect.void : Effect.fail("a worker could not start; see its output above"))
          }
          return
        }
        if (!announced) {
          // A worker that dies before every worker listens would die again: stop rather than fork forever.
          process.stderr.write(`worker ${worker.process.pid} exited (${signal ?? code}) before listening\n`)
          stop()
          return
        }
        process.stderr.write(`worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`)
        fork()
      })
      process.on("SIGTERM", stop)
      process.on("SIGINT", stop)
      for (let i = 0; i < command.workers; i++) fork()
    })
  })

/** Runs the command line (`argv` without `node` and the script) and exits the process with its outcome. */
export const main = (argv: ReadonlyArray<string>): void => {
  const command = parseArgs(argv)
  if (typeof command === "string") {
    process.stderr.write(`effect-liter-llm: ${command}\n${usage}\n`)
    process.exitCode = 2
    return
  }
  if (command.command === "check") {
    NodeRuntime.runMain(check(command), { disableErrorReporting: true })
  } else if (command.workers > 1 && cluster.isPrimary) {
    // Not under runMain: its own signal handling would exit the primary before the workers have drained.
    Effect.runPromiseExit(servePrimary(command)).then((exit) => {
      if (Exit.isFailure(exit)) {
        const failure = Cause.failureOption(exit.cause)
        if (Option.isSome(failure) && typeof failure.value === "string") process.stderr.write(`${failure.value}\n`)
        process.exitCode = 1
      }
    })
  } else {
    NodeRuntime.runMain(serveHere(command))
  }
}
