/**
 * The deployments of a built router: each layer built once, in the router's scope, with what the strategies read
 * from it (price, weight, priority, cap) and the `DeploymentHealth` it provides, if any.
 *
 * In a router with groups, a deployment's service sends its own model upstream: the request's `model` (the group,
 * a public name) is replaced by the deployment's `model`, else kept as the group name. Without groups the request
 * goes through untouched, as it always has.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Deployment from "../../Deployment.js"
import * as LlmService from "../../LlmService.js"
import * as Pricing from "../../Pricing.js"
import { DeploymentHealth } from "../health.js"
import * as Params from "./params.js"

/** One deployment, built. */
export interface Member {
  readonly index: number
  readonly name: string
  readonly service: LlmService.Service
  readonly group: string | undefined
  readonly model: string | undefined
  readonly pricing: Pricing.ModelPricing | undefined
  readonly weight: number
  readonly priority: number
  readonly tags: ReadonlyArray<string>
  readonly maxConcurrency: number
  readonly health: Context.Tag.Service<DeploymentHealth> | undefined
  /** The options of its attempt spans, as a regular call and as a circuit's probe. */
  readonly span: SpanOptions
  readonly probeSpan: SpanOptions
}

/** The options of an attempt span; the call site is inside the router, so its stack would tell nothing. */
export interface SpanOptions {
  readonly attributes: Readonly<Record<string, unknown>>
  readonly captureStackTrace: false
}

const spanOptions = (deployment: string, probe: boolean): SpanOptions => ({
  attributes: { deployment, probe },
  captureStackTrace: false
})

/** The service sending `model` upstream in place of the request's. */
const sending = (model: string, service: LlmService.Service): LlmService.Service => ({
  ...service,
  chat: (request) => service.chat({ ...request, model }),
  chatStream: (request) => service.chatStream({ ...request, model }),
  embed: (request) => service.embed({ ...request, model }),
  image: (request) => service.image({ ...request, model }),
  speech: (request) => service.speech({ ...request, model }),
  transcribe: (request) => service.transcribe({ ...request, model }),
  moderate: (request) => service.moderate({ ...request, model }),
  rerank: (request) => service.rerank({ ...request, model })
})

/** Builds every deployment's layer once, in list order, in the current scope. */
export const build = <D extends Deployment.Deployment<any, any>>(
  deployments: ReadonlyArray<D>,
  weights: ReadonlyArray<number>,
  grouped: boolean
) =>
  Effect.forEach(deployments, (d, index) => {
    const upstream = grouped ? (d.model ?? d.group) : d.model
    return Effect.map(Params.withHeaders(d)(Layer.build(d.layer)), (context): Member => ({
      index,
      name: d.name,
      service: grouped
        ? sending(upstream!, Params.wrap(d)(Context.get(context, LlmService.LlmService)))
        : Params.wrap(d)(Context.get(context, LlmService.LlmService)),
      group: d.group,
      model: upstream,
      pricing: d.pricing ?? (upstream === undefined ? undefined : Option.getOrUndefined(Pricing.lookup(upstream))),
      weight: weights[index],
      priority: d.priority ?? 0,
      tags: d.tags ?? [],
      maxConcurrency: d.maxConcurrency ?? Number.POSITIVE_INFINITY,
      health: Option.getOrUndefined(Context.getOption(context, DeploymentHealth)),
      span: spanOptions(d.name, false),
      probeSpan: spanOptions(d.name, true)
    }))
  })

/** Which deployments report themselves unhealthy right now (ask only when {@link anyHealth}). */
export const unhealthy = (members: ReadonlyArray<Member>): Effect.Effect<ReadonlyArray<boolean>> =>
  Effect.forEach(members, (m) =>
    m.health === undefined ? Effect.succeed(false) : Effect.map(m.health.state, (h) => h.status === "unhealthy")
  )

/** Whether any deployment has a health check. */
export const anyHealth = (members: ReadonlyArray<Member>): boolean => members.some((m) => m.health !== undefined)
