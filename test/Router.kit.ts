/** Helpers shared by the router tests: fake deployments whose calls the tests can count and script. */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type * as Chat from "../src/Chat.js"
import * as Deployment from "../src/Deployment.js"
import type * as LiterLlmError from "../src/LiterLlmError.js"
import * as LlmService from "../src/LlmService.js"
import * as LlmTest from "../src/LlmTest.js"
import * as Router from "../src/Router.js"
import * as Strategy from "../src/Strategy.js"

export const request: Chat.ChatCompletionRequest = { model: "test-model", messages: [{ role: "user", content: "hi" }] }

export const replyOf = (response: Chat.ChatCompletionResponse) => response.choices[0].message.content

export const response = (text: string): Chat.ChatCompletionResponse => ({
  id: "x",
  object: "chat.completion",
  created: 0,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }]
})

/** An `LlmTest` deployment answering its own name. */
export const fake = (name: string, options: LlmTest.Options = {}, extra: Partial<Deployment.Deployment> = {}) =>
  Effect.map(LlmTest.make({ reply: name, ...options }), (test) => ({
    test,
    deployment: Deployment.make({ name, layer: Layer.succeed(LlmService.LlmService, test.service), ...extra })
  }))

/** One scripted call: answer after `latency` millis, or fail with `error` after it. */
export interface Step {
  readonly latency?: number
  readonly error?: LiterLlmError.LiterLlmError
}

/** A deployment following `script` call by call (the last step repeats), counting calls and interruptions. */
export const scripted = (name: string, script: ReadonlyArray<Step>, extra: Partial<Deployment.Deployment> = {}) =>
  Effect.gen(function* () {
    const calls = yield* Ref.make(0)
    const interrupted = yield* Ref.make(0)
    const chat = () =>
      Effect.flatMap(
        Ref.getAndUpdate(calls, (n) => n + 1),
        (n) => {
          const step = script[Math.min(n, script.length - 1)]
          const wait = step.latency === undefined ? Effect.void : Effect.sleep(step.latency)
          return Effect.zipRight(
            wait,
            step.error === undefined ? Effect.succeed(response(name)) : Effect.fail(step.error)
          ).pipe(Effect.onInterrupt(() => Ref.update(interrupted, (k) => k + 1)))
        }
      )
    const chatStream = () => Stream.fromEffect(Effect.map(chat(), toChunk))
    const service = LlmService.make({ chat, chatStream })
    return {
      calls: Ref.get(calls),
      interrupted: Ref.get(interrupted),
      deployment: Deployment.make({ name, layer: Layer.succeed(LlmService.LlmService, service), ...extra })
    }
  })

export const toChunk = (r: Chat.ChatCompletionResponse): Chat.ChatCompletionChunk => ({
  id: r.id,
  object: "chat.completion.chunk",
  created: 0,
  model: r.model,
  choices: [{ index: 0, delta: { content: r.choices[0].message.content ?? "" }, finish_reason: "stop" }]
})

/** The cheapest possible deployment: answers at once and counts its calls (LlmTest records every request). */
export const counting = (name: string) =>
  Effect.map(Ref.make(0), (calls) => ({
    calls: Ref.get(calls),
    deployment: Deployment.make({
      name,
      layer: LlmService.layer({
        chat: () =>
          Effect.as(
            Ref.update(calls, (n) => n + 1),
            response(name)
          )
      })
    })
  }))

/** A router's options but its deployments; the strategy is `Strategy.fallback()` unless given. */
export type RouterOptions = Omit<Router.Options<Deployment.Deployment>, "deployments" | "strategy"> & {
  readonly strategy?: Strategy.Strategy | undefined
}

/**
 * One deployment per name, made by `make`, behind one router, in the order of `names`. Gives the router and each
 * deployment under its name.
 */
const routedBy = <K extends string, A extends { readonly deployment: Deployment.Deployment }>(
  names: ReadonlyArray<K>,
  make: (name: K) => Effect.Effect<A>,
  options: RouterOptions
) =>
  Effect.gen(function* () {
    const made = {} as Record<K, A>
    for (const name of names) made[name] = yield* make(name)
    const router = yield* Router.make({
      ...options,
      strategy: options.strategy ?? Strategy.fallback(),
      deployments: names.map((name) => made[name].deployment)
    })
    return { router, ...made }
  })

/**
 * `scripted` deployments, one per key with the key's script, in key order, behind one router (fallback unless
 * `options` names a strategy). Keys are deployment names: never number-like, whose order an object does not keep.
 */
export const scriptedRouter = <K extends string>(
  scripts: Record<K, ReadonlyArray<Step>>,
  options: RouterOptions = {}
) => routedBy(Object.keys(scripts) as Array<K>, (name) => scripted(name, scripts[name]), options)

/** `fake` deployments, one per key with the key's `LlmTest` options, as `scriptedRouter` places them. */
export const fakeRouter = <K extends string>(fakes: Record<K, LlmTest.Options>, options: RouterOptions = {}) =>
  routedBy(Object.keys(fakes) as Array<K>, (name) => fake(name, fakes[name]), options)
