/**
 * The gateway's command line as a real child process: `node --import tsx bin/effect-liter-llm.mjs …` from the
 * checkout (the bin runs the TypeScript sources), its output collected, killed when the test's scope closes.
 */
import * as Effect from "effect/Effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const repo = Path.resolve(import.meta.dirname, "../../..")
const bin = Path.join(repo, "bin/effect-liter-llm.mjs")

export interface Child {
  readonly process: ChildProcess.ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Effect.Effect<number | string>
  /** Waits until stdout has a line matching `pattern` (at most `seconds`), failing with the output so far. */
  readonly line: (pattern: RegExp, seconds?: number) => Effect.Effect<RegExpExecArray, Error>
}

/** Starts the command; the process is killed (SIGKILL) if still running when the scope closes. */
export const spawn = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.sync((): Child => {
      const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", bin, ...args], {
        cwd: repo,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", EFFECT_LITER_LLM_SOURCE: "1", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let out = ""
      let err = ""
      child.stdout!.on("data", (data) => (out += String(data)))
      child.stderr!.on("data", (data) => (err += String(data)))
      const exit = new Promise<number | string>((resolve) =>
        child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
      )
      const line = (pattern: RegExp, seconds = 180) =>
        Effect.async<RegExpExecArray, Error>((resume) => {
          const started = Date.now()
          const timer = setInterval(() => {
            const match = pattern.exec(out)
            if (match !== null) {
              clearInterval(timer)
              resume(Effect.succeed(match))
            } else if (child.exitCode !== null || Date.now() - started > seconds * 1000) {
              clearInterval(timer)
              resume(
                Effect.fail(new Error(`no line ${pattern} (exit ${child.exitCode})\nstdout:\n${out}\nstderr:\n${err}`))
              )
            }
          }, 25)
          return Effect.sync(() => clearInterval(timer))
        })
      return {
        process: child,
        stdout: () => out,
        stderr: () => err,
        exited: Effect.promise(() => exit),
        line
      }
    }),
    (child) => Effect.sync(() => child.process.exitCode === null && child.process.kill("SIGKILL"))
  )

/** Runs the command to its end (at most `seconds`). */
export const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}, seconds = 180) =>
  Effect.scoped(
    Effect.gen(function* () {
      const child = yield* spawn(args, env)
      const code = yield* child.exited.pipe(
        Effect.timeoutFail({
          duration: `${seconds} seconds`,
          onTimeout: () => new Error(`still running after ${seconds}s:\n${child.stderr()}`)
        })
      )
      return { code, stdout: child.stdout(), stderr: child.stderr() }
    })
  )

/** A config file in a fresh temporary folder, removed when the scope closes. */
export const configFile = (text: string, name = "gateway.yaml") =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "ell-gateway-"))
      const file = Path.join(dir, name)
      Fs.writeFileSync(file, text)
      return file
    }),
    (file) => Effect.sync(() => Fs.rmSync(Path.dirname(file), { recursive: true, force: true }))
  )
