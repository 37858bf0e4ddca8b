import type * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as AiModel from "@effect/ai/Model"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionPlan from "effect/ExecutionPlan"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"
import { EffectAi } from "../../src/ai/index.js"
import * as Deployment from "../../src/Deployment.js"
import type * as FakeUpstream from "../../src/FakeUpstream.js"
import * as Router from "../../src/Router.js"
import * as Strategy from "../../src/Strategy.js"
import { upstream } from "./kit.js"

/** Answers by the requested model: `primary` with `failure`, anything else with a reply naming the model. */
const byModel =
  (failure: FakeUpstream.Script) =>
  (request: FakeUpstream.RecordedRequest): FakeUpstream.Script => {
    const model = (request.body as { model: string }).model
    return model === "primary" ? failure : { reply: `from ${model}` }
  }

const models = (server: FakeUpstream.Service) =>
  Effect.map(server.requests, (requests) => requests.map((r) => (r.body as { model: string }).model))

const ask = LanguageModel.generateText({ prompt: "hi" })

/**
 * Waits (bounded, in real time: the HTTP exchange is real) until some fiber sleeps on the TestClock, so that an
 * `adjust` afterwards is measured from the start of that sleep.
 */
const untilSleeping = Effect.gen(function* () {
  for (let tries = 0; tries < 400; tries++) {
    if (Chunk.isNonEmpty(yield* TestClock.sleeps())) return
    yield* TestServices.provideLive(Effect.sleep("5 millis"))
  }
  return yield* Effect.dieMessage("nothing started sleeping on the TestClock within 2 seconds")
})

describe("EffectAi.model in an ExecutionPlan, over real HTTP", () => {
  it.scoped("the plan moves to the second model when the first fails with a retryable error", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream({ script: byModel({ status: 503 }) })
      const plan = ExecutionPlan.make(
        { provide: EffectAi.model("primary") },
        { provide: EffectAi.model("backup"), while: EffectAi.isRetryable }
      )
      const response = yield* ask.pipe(Effect.withExecutionPlan(plan), Effect.provide(llm))
      expect(response.text).toBe("from backup")
      expect(yield* models(server)).toEqual(["primary", "backup"])
    })
  )

  it.scoped("a non-retryable error (401) stops the plan with the status, and the second model is not asked", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream({ script: byModel({ status: 401 }) })
      const plan = ExecutionPlan.make(
        { provide: EffectAi.model("primary") },
        { provide: EffectAi.model("backup"), while: EffectAi.isRetryable }
      )
      const error = yield* ask.pipe(Effect.withExecutionPlan(plan), Effect.provide(llm), Effect.flip)
      expect(error._tag === "HttpResponseError" && error.response.status).toBe(401)
      expect(yield* models(server)).toEqual(["primary"])
    })
  )

  it.scoped("a step's schedule can wait the retry delay the error carries before trying again", () =>
    Effect.gen(function* () {
      const { llm, server } = yield* upstream({ scripts: [{ status: 429, headers: { "retry-after": "2" } }] })
      const waitAsAsked = Schedule.identity<AiError.AiError>().pipe(
        Schedule.addDelay((error) => Option.getOrElse(EffectAi.retryAfter(error), () => Duration.zero))
      )
      const plan = ExecutionPlan.make({
        provide: EffectAi.model("primary"),
        attempts: 2,
        while: EffectAi.isRetryable,
        schedule: waitAsAsked
      })
      const fiber = yield* ask.pipe(Effect.withExecutionPlan(plan), Effect.provide(llm), Effect.fork)
      yield* untilSleeping
      yield* TestClock.adjust("1999 millis")
      expect(yield* server.requests).toHaveLength(1)
      yield* TestClock.adjust("1 millis")
      const response = yield* Fiber.join(fiber)
      expect(response.text).toBe("ok")
      expect(yield* server.requests).toHaveLength(2)
    })
  )

  it.scoped("the model names its provider to @effect/ai, and a router under it fails over before the plan has to", () =>
    Effect.gen(function* () {
      const sick = yield* upstream({ script: { status: 503 } })
      const well = yield* upstream({ script: { reply: "from the router" } })
      const router = Router.layer({
        deployments: [
          Deployment.make({ name: "sick", layer: sick.llm }),
          Deployment.make({ name: "well", layer: well.llm })
        ],
        strategy: Strategy.fallback()
      })
      const model = EffectAi.model("gpt-4o")
      expect(model.provider).toBe("effect-liter-llm")
      const [provider, response] = yield* Effect.all([AiModel.ProviderName, ask]).pipe(
        Effect.provide(model),
        Effect.provide(router)
      )
      expect(provider).toBe("effect-liter-llm")
      expect(response.text).toBe("from the router")
      expect(yield* sick.server.requests).toHaveLength(1)
    })
  )
})
