/**
 * The router as an `LlmService`: each request-response operation is one span (`Router.chat`, …), current while it
 * runs, so each attempt's span and the deployments' own spans are its children; the request is checked inside it
 * (a rejected one is traced too), and sized for cost-based ordering only once checked.
 *
 * Each call reads the routing settings in its context (`Router.withRouting`) and finds the group its model names;
 * both are checked before any deployment is asked. `Router.chat` and `chatWithRoute` are the same operation (one
 * span, with the route's facts as attributes); the plain one just leaves the facts out of its answer.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import * as LlmService from "../../LlmService.js"
import { estimatePromptTokens, estimateTokens, expectedCompletionTokens } from "../tokens.js"
import * as Validate from "../validate.js"
import { call, type Core } from "./attempt.js"
import * as Groups from "./groups.js"
import * as MoreOperations from "./operations.js"
import type * as Order from "./order.js"
import * as Route from "./route.js"
import * as Routing from "./routing.js"
import * as RouterStream from "./stream.js"
import { fresh, route, routeIn } from "./walk.js"

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

/** A deployment's call, without this router's routing settings (see `Routing.isolated`). */
const own = <A>(plan: RouterStream.Plan, effect: Effect.Effect<A, E>) =>
  plan.steer === undefined ? effect : Routing.isolated(effect)

/** A built router's operations: the service, and chat with its route's facts. */
export interface Operations {
  readonly service: LlmService.Service
  readonly chatWithRoute: (
    request: Chat.ChatCompletionRequest
  ) => Effect.Effect<{ readonly response: Chat.ChatCompletionResponse; readonly route: Route.Route }, E>
  readonly chatStreamWithRoute: (
    request: Chat.ChatCompletionRequest
  ) => Effect.Effect<RouterStream.Routed, E, Scope.Scope>
}

type E = LiterLlmError.LiterLlmError

/** The operations of a built router. */
export const operationsOf = (core: Core): Operations => {
  const sized = <R>(size: (request: R) => Order.CostInput, request: R) =>
    core.config.needsCost ? size(request) : undefined

  /** Where a request for `model` goes: its group, and the routing settings in context, both checked. */
  const planOf = (model: string | undefined): Effect.Effect<RouterStream.Plan, E> =>
    Effect.flatMap(Routing.Routing, (settings): Effect.Effect<RouterStream.Plan, E> => {
      const group = Groups.find(core.groups, model)
      if (Either.isLeft(group)) return Effect.fail(group.left)
      if (Routing.isNone(settings)) return Effect.succeed({ group: group.right, steer: undefined, settings })
      const steer = Routing.compile(core.members, core.groups, settings)
      if (Either.isLeft(steer)) return Effect.fail(steer.left)
      return Effect.succeed({ group: group.right, steer: steer.right, settings })
    })

  const routedChat = (request: Chat.ChatCompletionRequest) =>
    Effect.flatMap(planOf(request.model), (plan) =>
      Effect.flatMap(Ref.make(fresh), (walk) =>
        routeIn(
          core,
          {
            run: call((m) => own(plan, m.service.chat(request))),
            cost: sized(chatCost, request),
            hedge: true,
            ...plan
          },
          walk
        ).pipe(
          Effect.flatMap((response) =>
            Effect.map(Ref.get(walk), (w) => ({ response, route: Route.factsOf(core, w, response.usage ?? undefined) }))
          ),
          Effect.tap(({ route }) => Route.annotate(route)),
          Effect.tapError(() => Effect.flatMap(Ref.get(walk), Route.annotateFailed))
        )
      )
    )

  const chatWithRoute = (request: Chat.ChatCompletionRequest) =>
    operation(
      "Router.chat",
      () => Validate.chatProblem(request),
      () => routedChat(request)
    )

  const streamRouted = (request: Chat.ChatCompletionRequest) =>
    Effect.zipRight(
      Validate.chat(request),
      Effect.flatMap(planOf(request.model), (plan) =>
        RouterStream.chatStreamRouted(core, request, sized(chatCost, request), plan)
      )
    )

  const service = LlmService.make({
    provider: "router",
    chat: (request) => Effect.map(chatWithRoute(request), (routed) => routed.response),
    chatStream: (request) =>
      Stream.unwrapScoped(
        Effect.map(
          Effect.tap(streamRouted(request), ({ route }) => Route.annotate(route)),
          (routed) => routed.stream
        )
      ).pipe(Stream.withSpan("Router.chatStream", spanOptions)),
    embed: (request) =>
      operation(
        "Router.embed",
        () => Validate.embeddingProblem(request),
        () =>
          Effect.flatMap(planOf(request.model), (plan) =>
            route(core, {
              run: call((m) => own(plan, m.service.embed(request))),
              cost: sized(embedCost, request),
              hedge: true,
              ...plan
            })
          )
      ),
    ...MoreOperations.make(core, operation, planOf),
    listModels: operation("Router.listModels", fine, () =>
      route(core, {
        run: call((m) => m.service.listModels),
        cost: undefined,
        hedge: false,
        group: undefined,
        steer: undefined,
        settings: {}
      })
    )
  })

  const chatStreamWithRoute = (request: Chat.ChatCompletionRequest) =>
    Effect.flatMap(Effect.makeSpanScoped("Router.chatStream", spanOptions), (span) =>
      Effect.tap(Effect.withParentSpan(streamRouted(request), span), ({ route }) =>
        Effect.withParentSpan(Route.annotate(route), span)
      )
    )

  return { service, chatWithRoute, chatStreamWithRoute }
}
