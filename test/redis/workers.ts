/**
 * The worker processes of `processes.test.ts`: each is `node --import tsx test/redis/worker.ts`, driven by JSON lines
 * over stdin and stdout.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Ref from "effect/Ref"
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import * as Readline from "node:readline"

const repo = Path.resolve(import.meta.dirname, "../..")

export interface Worker {
  readonly send: (command: Record<string, unknown>) => Effect.Effect<any>
}

/** Spawns a worker; it is told to finish (stdin closed) when the scope closes, and killed if it does not. */
export const spawnWorker = Effect.gen(function* () {
  const child = yield* Effect.acquireRelease(
    Effect.sync(() =>
      ChildProcess.spawn(process.execPath, ["--import", "tsx", Path.join(repo, "test/redis/worker.ts")], {
        cwd: repo,
        stdio: ["pipe", "pipe", "inherit"]
      })
    ),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.stdin!.end()
      }).pipe(
        Effect.timeout(Duration.seconds(5)),
        Effect.catchAll(() => Effect.sync(() => void child.kill("SIGKILL")))
      )
  )
  const waiting = new Map<number, Deferred.Deferred<unknown, string>>()
  const ready = yield* Deferred.make<void>()
  Readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    const message = JSON.parse(line) as { id?: number; ready?: boolean; result?: unknown; error?: string }
    if (message.ready === true) return Deferred.unsafeDone(ready, Exit.void)
    const deferred = waiting.get(message.id ?? -1)
    if (deferred === undefined) return
    waiting.delete(message.id!)
    Deferred.unsafeDone(deferred, message.error === undefined ? Exit.succeed(message.result) : Exit.fail(message.error))
  })
  // Loading the library through tsx takes seconds, and far more when the machine is busy.
  yield* Deferred.await(ready).pipe(
    Effect.timeoutFail({ duration: Duration.minutes(2), onTimeout: () => "the worker did not start within 2 minutes" }),
    Effect.orDie
  )
  const ids = yield* Ref.make(0)
  const send = (command: Record<string, unknown>) =>
    Effect.gen(function* () {
      const id = yield* Ref.updateAndGet(ids, (n) => n + 1)
      const deferred = yield* Deferred.make<unknown, string>()
      waiting.set(id, deferred)
      child.stdin!.write(JSON.stringify({ ...command, id }) + "\n")
      return yield* Deferred.await(deferred).pipe(
        Effect.timeoutFail({ duration: Duration.seconds(30), onTimeout: () => "no answer within 30 s" }),
        Effect.orDieWith((error) => new Error(`worker ${JSON.stringify(command)}: ${error}`))
      )
    })
  return { send } satisfies Worker
})
