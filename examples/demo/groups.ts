/**
 * `npm run demo -- --groups`: routing by model group, over three HTTP servers on loopback.
 *
 * Two public model names: "gpt-4o-mini" (two deployments, each sending its own dated model upstream, with a small
 * context window) and "gpt-4o" (one deployment, a big one). A prompt too long for the small model moves at once to
 * the big one (`contextWindowFallbacks`); a per-request `only` pins a call to one deployment; a model nobody serves is
 * refused, naming the ones served. Each call's route (`chatWithRoute`) is printed: what answered, after what.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FakeUpstream from "../../src/FakeUpstream.js"
import { type Chat, Deployment, OpenAiCompatible, Router, Strategy } from "../../src/index.js"

/** One call of the scenario, as printed. */
export interface Step {
  readonly title: string
  readonly outcome: string
  /** What the answering server saw as `model` (the deployment's own), if a server answered. */
  readonly upstreamModel: string | undefined
  readonly route: Router.Route | undefined
}

/** The small model's window, in characters of the last message (a stand-in for tokens). */
const smallWindow = 200

const tooLong = {
  status: 400,
  body: {
    error: {
      message: `This model's maximum context length is ${smallWindow} tokens; your messages are longer.`,
      type: "invalid_request_error",
      code: "context_length_exceeded"
    }
  }
}

/** A server answering with its name; `small`: one refusing prompts over the small window. */
const server = (name: string, small: boolean) =>
  FakeUpstream.make({
    script: (request) => {
      const messages = (request.body as { messages?: ReadonlyArray<{ content?: unknown }> } | undefined)?.messages
      const last = String(messages?.at(-1)?.content ?? "")
      return small && last.length > smallWindow ? tooLong : { reply: `${name} answers`, latency: "2 millis" }
    }
  })

const ask = (model: string, content: string): Chat.ChatCompletionRequest => ({
  model,
  max_tokens: 32,
  messages: [{ role: "user", content }]
})

const describeRoute = (route: Router.Route) => {
  const tried = route.attempts.map(
    (a) => `${a.deployment}${a.error === undefined ? "" : ` ${a.error}`} (${Duration.format(a.duration)})`
  )
  const cost = route.cost === undefined ? "" : `, $${route.cost.toFixed(6)}`
  return `answered by ${route.deployment} in group ${route.group}${cost}; attempts: ${tried.join(" → ")}`
}

/** Runs the scenario; each step with its route. */
export const run: Effect.Effect<ReadonlyArray<Step>, unknown> = Effect.gen(function* () {
  const mini = [yield* server("mini-eu", true), yield* server("mini-us", true)]
  const big = yield* server("big", false)
  const layer = (upstream: FakeUpstream.Service, name: string) =>
    OpenAiCompatible.layer({ baseUrl: upstream.baseUrl, provider: name })
  const router = yield* Router.make({
    deployments: [
      Deployment.make({
        name: "mini-eu",
        group: "gpt-4o-mini",
        model: "gpt-4o-mini-2024-07-18",
        layer: layer(mini[0], "mini-eu")
      }),
      Deployment.make({
        name: "mini-us",
        group: "gpt-4o-mini",
        model: "gpt-4o-mini-2024-07-18",
        layer: layer(mini[1], "mini-us")
      }),
      Deployment.make({ name: "big", group: "gpt-4o", model: "gpt-4o-2024-11-20", layer: layer(big, "big") })
    ],
    strategy: Strategy.roundRobin(),
    contextWindowFallbacks: { "gpt-4o-mini": ["gpt-4o"] }
  })
  const servers = { "mini-eu": mini[0], "mini-us": mini[1], big }
  const lastModel = (name: keyof typeof servers) =>
    Effect.map(servers[name].requests, (seen) => (seen.at(-1)?.body as { model?: string } | undefined)?.model)
  const step = (title: string, call: Effect.Effect<{ readonly route: Router.Route }, unknown>) =>
    Effect.matchEffect(call, {
      onFailure: (error) =>
        Effect.succeed<Step>({
          title,
          outcome: `refused: ${error instanceof Error ? `${(error as { _tag?: string })._tag}: ${error.message}` : String(error)}`,
          upstreamModel: undefined,
          route: undefined
        }),
      onSuccess: ({ route }) =>
        Effect.map(lastModel(route.deployment as keyof typeof servers), (upstreamModel): Step => ({
          title,
          outcome: describeRoute(route),
          upstreamModel,
          route
        }))
    })
  return [
    yield* step('"gpt-4o-mini", a short prompt', router.chatWithRoute(ask("gpt-4o-mini", "Name a prime."))),
    yield* step(
      `"gpt-4o-mini", a ${smallWindow * 2}-character prompt`,
      router.chatWithRoute(ask("gpt-4o-mini", "Summarize: ".padEnd(smallWindow * 2, "lorem ipsum ")))
    ),
    yield* step(
      '"gpt-4o-mini" with Router.withRouting({ only: ["mini-us"] })',
      router.chatWithRoute(ask("gpt-4o-mini", "Name a colour.")).pipe(Router.withRouting({ only: ["mini-us"] }))
    ),
    yield* step('"gpt-5", which no group serves', router.chatWithRoute(ask("gpt-5", "Hello?")))
  ]
}).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))

/** The scenario as lines of text. */
export const render = (steps: ReadonlyArray<Step>): ReadonlyArray<string> => [
  "effect-liter-llm — model groups, a context-window fallback, per-request routing",
  "",
  'Groups: "gpt-4o-mini" = mini-eu, mini-us (round robin; each sends "gpt-4o-mini-2024-07-18" upstream and refuses',
  `        prompts over ${smallWindow} characters with context_length_exceeded); "gpt-4o" = big ("gpt-4o-2024-11-20")`,
  'Router: contextWindowFallbacks { "gpt-4o-mini": ["gpt-4o"] }; three FakeUpstream servers on 127.0.0.1',
  "",
  ...steps.flatMap((s) => [
    `${s.title}`,
    `  ${s.outcome}`,
    ...(s.upstreamModel === undefined ? [] : [`  the server was asked for model "${s.upstreamModel}"`])
  ])
]
