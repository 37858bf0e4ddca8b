import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as LiterLlmError from "../../src/LiterLlmError.js"
import { Answer, Await, run, type Stage } from "../../src/internal/middleware/pipeline.js"

type Result = Exit.Exit<string, LiterLlmError.LiterLlmError>

/** What one synthetic stage does: how it enters, and what its `leave` returns. */
interface Script {
  readonly enter: "ticket" | "answer" | "refuse" | "await" | "await-refuse"
  readonly leave: "none" | "pass" | "replace" | "exit-fail" | "effect" | "effect-fail"
}

const refusal = (i: number) => new LiterLlmError.HookRejected({ message: `refused by ${i}` })

/** Stages that log what happens to them, so a test can compare the log with what the guarantees say. */
const stagesOf = (scripts: ReadonlyArray<Script>, log: Array<string>): ReadonlyArray<Stage<string, string>> =>
  scripts.map((script, i) => ({
    enter: () => {
      log.push(`enter ${i}`)
      switch (script.enter) {
        case "ticket":
          return i
        case "answer":
          return new Answer(Effect.succeed(`answer ${i}`))
        case "refuse":
          return new Answer(Exit.fail(refusal(i)))
        case "await":
          return new Await(Effect.sync(() => i))
        case "await-refuse":
          return new Await(Effect.fail(refusal(i)))
      }
    },
    leave:
      script.leave === "none"
        ? undefined
        : (_call, ticket: number, exit: Result) => {
            log.push(`leave ${ticket} ${Exit.isSuccess(exit) ? exit.value : "failed"}`)
            switch (script.leave) {
              case "pass":
                return
              case "replace":
                return Exit.isSuccess(exit) ? Exit.succeed(`${exit.value}+${i}`) : exit
              case "exit-fail":
                return Exit.fail(refusal(100 + i))
              case "effect":
                return Effect.map(exit, (value) => `${value}*${i}`)
              case "effect-fail":
                return Effect.fail(refusal(100 + i))
            }
          }
  }))

/** The reference model: the log and result the guarantees in pipeline.ts describe, computed directly. */
const model = (scripts: ReadonlyArray<Script>, upstream: Result): { log: Array<string>; result: Result } => {
  const log: Array<string> = []
  let entered = 0
  let result: Result | undefined
  for (const [i, script] of scripts.entries()) {
    log.push(`enter ${i}`)
    if (script.enter === "answer") result = Exit.succeed(`answer ${i}`)
    else if (script.enter === "refuse" || script.enter === "await-refuse") result = Exit.fail(refusal(i))
    if (result !== undefined) break
    entered = i + 1
  }
  if (result === undefined) {
    log.push("upstream")
    result = upstream
  }
  for (let i = entered - 1; i >= 0; i--) {
    const script = scripts[i]!
    if (script.leave === "none") continue
    log.push(`leave ${i} ${Exit.isSuccess(result) ? result.value : "failed"}`)
    if (script.leave === "replace" && Exit.isSuccess(result)) result = Exit.succeed(`${result.value}+${i}`)
    if (script.leave === "effect" && Exit.isSuccess(result)) result = Exit.succeed(`${result.value}*${i}`)
    if (script.leave === "effect-fail" || script.leave === "exit-fail") result = Exit.fail(refusal(100 + i))
  }
  return { log, result }
}

const scriptArb: FastCheck.Arbitrary<Script> = FastCheck.record({
  enter: FastCheck.constantFrom("ticket", "ticket", "ticket", "answer", "refuse", "await", "await-refuse"),
  // `Effect.fail` of an error object is an effect (it captures the span), `Exit.fail` an exit: both paths are covered.
  leave: FastCheck.constantFrom("none", "pass", "replace", "exit-fail", "effect", "effect-fail")
})

describe("pipeline", () => {
  it("enters outermost first, leaves innermost first, exactly the stages that entered, with the exits they pass on", () =>
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(scriptArb, { maxLength: 6 }),
        FastCheck.boolean(),
        (scripts, upstreamSucceeds) => {
          const log: Array<string> = []
          const upstream: Result = upstreamSucceeds ? Exit.succeed("upstream") : Exit.fail(refusal(-1))
          const exit = Effect.runSyncExit(
            run(stagesOf(scripts, log), "chat", "request", () =>
              Effect.suspend(() => {
                log.push("upstream")
                return upstream
              })
            )
          )
          const expected = model(scripts, upstream)
          expect(log).toEqual(expected.log)
          expect(exit).toEqual(expected.result)
        }
      ),
      { numRuns: 500, seed: 20261128 }
    ))

  it.effect("an interrupted call leaves every stage that entered, once, and the service's effect is interrupted", () =>
    Effect.gen(function* () {
      const log: Array<string> = []
      const stages = stagesOf(
        [
          { enter: "ticket", leave: "pass" },
          { enter: "await", leave: "effect" },
          { enter: "ticket", leave: "none" }
        ],
        log
      )
      const fiber = yield* Effect.fork(
        run(stages, "chat", "request", () =>
          Effect.onInterrupt(Effect.as(Effect.sleep("1 minute"), "late"), () =>
            Effect.sync(() => log.push("upstream interrupted"))
          )
        )
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      expect(log).toEqual(["enter 0", "enter 1", "enter 2", "upstream interrupted", "leave 1 failed", "leave 0 failed"])
    })
  )

  it.effect("an interrupted wait leaves the stages that entered before it, and none after", () =>
    Effect.gen(function* () {
      const log: Array<string> = []
      const outer = stagesOf([{ enter: "ticket", leave: "pass" }], log)[0]!
      const waiting: Stage<string, string> = {
        enter: (call) => {
          log.push("enter 1")
          return new Await(Effect.as(call.restore(Effect.sleep("1 minute")), 1))
        },
        leave: () => {
          log.push("leave 1")
        }
      }
      const fiber = yield* Effect.fork(run([outer, waiting], "chat", "request", () => Effect.succeed("never")))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      expect(log).toEqual(["enter 0", "enter 1", "leave 0 failed"])
    })
  )

  it.effect("a wait not given back its interruptibility cannot be interrupted halfway", () =>
    Effect.gen(function* () {
      const log: Array<string> = []
      const stubborn: Stage<string, string> = {
        enter: () => new Await(Effect.as(Effect.sleep("1 second"), "ticket")),
        leave: () => {
          log.push("leave")
        }
      }
      const fiber = yield* Effect.fork(run([stubborn], "chat", "request", () => Effect.succeed("answer")))
      yield* TestClock.adjust("100 millis")
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(interrupting)
      // The wait finished, the stage entered, and it left again when the interruption took effect.
      expect(log).toEqual(["leave"])
    })
  )
})
