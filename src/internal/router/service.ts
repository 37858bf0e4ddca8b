/**
 * The router as an `LlmService`: each request-response operation is one span (`Router.chat`, …), current while it
 * runs, so each attempt's span and the deployments' own spans are its children; the request is checked inside it
 * (a rejected one is traced too), and sized for cost-based ordering only once checked.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import * as LlmService from "../../LlmService.js"
import { estimatePromptTokens, estimateTokens, expectedCompletionTokens } from "../tokens.js"
import * as Validate from "../validate.js"
import { call, type Core } from "./attempt.js"
import type * as Order from "./order.js"
import * as RouterStream from "./stream.js"
import { route } from "./walk.js"

const chatCost = (request: Chat.ChatCompletionRequest): Order.CostInput => ({
  promptTokens: estimatePromptTokens(request),
  completionTokens: expectedCompletionTokens(request),
  model: request.model
})

const embedCost = ({ input, model }: Embedding.EmbeddingRequest): Order.CostInput => ({
  promptTokens: estimateTokens(typeof input === "string" ? input : JSON.stringify(input)),
  completionTokens: 0,
  model
})

// The call site of a router span is inside the router: capturing its stack would cost time and tell nothing.
const spanOptions = { captureStackTrace: false } as const

/** A request-response operation as the `name` span; `routed` is only built once `problem` found nothing wrong. */
const operation = <A>(
  name: string,
  problem: () => LiterLlmError.BadRequest | undefined,
  routed: () => Effect.Effect<A, LiterLlmError.LiterLlmError>
): Effect.Effect<A, LiterLlmError.LiterLlmError> =>
  Effect.withSpan(
    Effect.suspend(() => {
      const bad = problem()
      return bad === undefined ? routed() : Effect.fail(bad)
    }),
    name,
    spanOptions
  )

const fine = () => undefined

/** The service of a built router. */
export const serviceOf = (core: Core): LlmService.Service => {
  const sized = <R>(size: (request: R) => Order.CostInput, request: R) =>
    core.config.needsCost ? size(request) : undefined
  return LlmService.make({
    provider: "router",
    chat: (request) => {
      const run = call((m) => m.service.chat(request))
      return operation(
        "Router.chat",
        () => Validate.chatProblem(request),
        () => route(core, { run, cost: sized(chatCost, request), hedge: true })
      )
    },
    chatStream: (request) =>
      Stream.unwrap(
        Effect.map(Validate.chat(request), () => RouterStream.chatStream(core, request, sized(chatCost, request)))
      ).pipe(Stream.withSpan("Router.chatStream", spanOptions)),
    embed: (request) => {
      const run = call((m) => m.service.embed(request))
      return operation(
        "Router.embed",
        () => Validate.embeddingProblem(request),
        () => route(core, { run, cost: sized(embedCost, request), hedge: true })
      )
    },
    listModels: operation("Router.listModels", fine, () =>
      route(core, { run: call((m) => m.service.listModels), cost: undefined, hedge: false })
    )
  })
}
