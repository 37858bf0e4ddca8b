/**
 * What a deployment changes in the requests it is sent: fields it forces (`params`), numeric fields it caps (`caps`),
 * fields it removes because its provider rejects them (`dropParams`), and HTTP headers it adds (`headers`). Applied
 * by wrapping the deployment's service once, when the router is built, so the request the upstream receives is the
 * rewritten one and the caller's own object is never changed.
 *
 * Decisions:
 * - A field applies to an operation when that operation's request has it: the fields of `ChatCompletionRequest` for
 *   `chat` and `chatStream`, of `EmbeddingRequest` for `embed` (`model`, `user`, `extra_body` belong to both).
 * - Order: drop, then force, then cap — so a cap also bounds a forced value.
 * - A cap lowers a value; it never raises one nor adds a missing field (the provider's default stands; force a value
 *   with `params` to set it).
 * - A forced `extra_body` is merged into the caller's (its keys win): it is a bag of provider-specific fields, not
 *   one value.
 * - Headers travel in the `ExtraHeaders` context reference while the deployment's layer is built ({@link withHeaders});
 *   the HTTP helper adds them to the endpoint every provider builds, so they cost nothing per call. They never
 *   replace the endpoint's credentials, and a deployment may not set credential headers at all (those belong on the
 *   provider layer, where keys are `Redacted` and scrubbed from messages).
 * - Everything is checked when the router is built ({@link check}): unknown fields, fields no deployment may touch
 *   (`messages`, `input`, `stream`), values of the wrong type or range, a field both forced and dropped, headers that
 *   are not valid HTTP. Each problem is a `BadRequest` naming the deployment and the field, never the header value.
 * - A deployment with nothing to change keeps its service as it is: no cost per call.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Chat from "../../Chat.js"
import type * as Deployment from "../../Deployment.js"
import * as Embedding from "../../Embedding.js"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import * as ExtraHeaders from "../extraHeaders.js"
import { validateHeader } from "../http.js"
import * as Validate from "../validate.js"

type Fields = Readonly<Record<string, unknown>>
type Described = Pick<Deployment.Deployment<any, any>, "name" | "params" | "caps" | "dropParams" | "headers">

const chatFields: ReadonlySet<string> = new Set(Object.keys(Chat.ChatCompletionRequest.fields))
const embedFields: ReadonlySet<string> = new Set(Object.keys(Embedding.EmbeddingRequest.fields))
const untouchable: ReadonlySet<string> = new Set(["messages", "input", "stream"])

/** The fields a cap may bound, with the range of their values (the same as `Validate` checks on every request). */
const numeric = {
  max_tokens: Validate.NonNegativeInt,
  max_completion_tokens: Validate.NonNegativeInt,
  n: Validate.PositiveInt,
  top_logprobs: Validate.NonNegativeInt,
  temperature: Validate.Finite,
  top_p: Validate.Finite,
  presence_penalty: Validate.Finite,
  frequency_penalty: Validate.Finite,
  dimensions: Validate.PositiveInt
}
const Numeric = Schema.partial(Schema.Struct(numeric))
const ChatParams = Schema.Struct({ params: Schema.partial(Chat.ChatCompletionRequest) })
const EmbedParams = Schema.Struct({ params: Schema.partial(Embedding.EmbeddingRequest) })
const NumericParams = Schema.Struct({ params: Numeric })
const Caps = Schema.Struct({ caps: Numeric })

const credentialHeaders: ReadonlySet<string> = new Set([
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "api-key",
  "x-goog-api-key"
])

const bad = (d: Described, message: string) =>
  Effect.fail(
    new LiterLlmError.BadRequest({ provider: "router", message: `Router: deployment "${d.name}": ${message}` })
  )

const pick = (record: Fields, keep: (key: string) => boolean): Fields =>
  Object.fromEntries(Object.entries(record).filter(([key]) => keep(key)))

/** Checks a deployment's params, caps, dropParams and headers; a `BadRequest` names the deployment and the field. */
export const check = (d: Described): Effect.Effect<void, LiterLlmError.BadRequest> =>
  Effect.gen(function* () {
    const component = `Router: deployment "${d.name}"`
    const params = d.params ?? {}
    for (const key of Object.keys(params)) {
      if (untouchable.has(key)) return yield* bad(d, `params.${key} cannot be forced: it is the request itself`)
      if (!chatFields.has(key) && !embedFields.has(key)) {
        return yield* bad(
          d,
          `params.${key} is not a field of a chat or embeddings request; put provider-specific fields under params.extra_body`
        )
      }
    }
    yield* Validate.options(component, ChatParams, { params: pick(params, (k) => chatFields.has(k)) })
    yield* Validate.options(component, EmbedParams, { params: pick(params, (k) => embedFields.has(k)) })
    yield* Validate.options(component, NumericParams, { params: pick(params, (k) => k in numeric) })
    for (const key of Object.keys(d.caps ?? {})) {
      if (!(key in numeric)) {
        return yield* bad(d, `caps.${key} cannot be capped; caps apply to ${Object.keys(numeric).join(", ")}`)
      }
    }
    yield* Validate.options(component, Caps, { caps: d.caps ?? {} })
    for (const key of d.dropParams ?? []) {
      if (untouchable.has(key) || key === "model") return yield* bad(d, `dropParams cannot remove ${key}`)
      if (!chatFields.has(key) && !embedFields.has(key)) {
        return yield* bad(d, `dropParams names ${key}, which is not a field of a chat or embeddings request`)
      }
      if (key in params) return yield* bad(d, `${key} is both forced (params) and dropped (dropParams); keep one`)
    }
    for (const [name, value] of Object.entries(d.headers ?? {})) {
      if (credentialHeaders.has(name.toLowerCase())) {
        return yield* bad(
          d,
          `headers.${name} would carry credentials; give the key to the provider layer (apiKey), where it is redacted`
        )
      }
      if (typeof value !== "string") return yield* bad(d, `headers.${name} must be a string`)
      const problem = validateHeader(name, value)
      if (problem !== undefined) return yield* bad(d, `headers.${name} is invalid: ${problem.reason}`)
    }
  })

/** The rewrite of one operation's requests, or `undefined` when the deployment changes none of its fields. */
const rewriteFor = (d: Described, fields: ReadonlySet<string>): (<R>(request: R) => R) | undefined => {
  const drop = (d.dropParams ?? []).filter((key) => fields.has(key))
  const force = Object.entries(d.params ?? {}).filter(([key]) => fields.has(key) && key !== "extra_body")
  const extra = fields.has("extra_body") ? (d.params?.["extra_body"] as Fields | undefined) : undefined
  const caps = Object.entries(d.caps ?? {}).filter(([key]) => fields.has(key))
  if (drop.length === 0 && force.length === 0 && extra === undefined && caps.length === 0) return undefined
  return <R>(request: R): R => {
    const out: Record<string, unknown> = { ...(request as Fields) }
    for (const key of drop) delete out[key]
    for (const [key, value] of force) out[key] = value
    if (extra !== undefined) out["extra_body"] = { ...(out["extra_body"] as Fields | undefined), ...extra }
    for (const [key, cap] of caps) {
      const value = out[key]
      if (typeof value === "number" && value > cap) out[key] = cap
    }
    return out as R
  }
}

const same = <R>(request: R): R => request

/** The deployment's service, with its request rewrites applied to every call (checked first by {@link check}). */
export const wrap =
  (d: Described) =>
  (service: LlmService.Service): LlmService.Service => {
    const chat = rewriteFor(d, chatFields)
    const embed = rewriteFor(d, embedFields)
    if (chat === undefined && embed === undefined) return service
    const forChat = chat ?? same
    const forEmbed = embed ?? same
    return {
      ...service,
      chat: (request) => service.chat(forChat(request)),
      chatStream: (request) => service.chatStream(forChat(request)),
      embed: (request) => service.embed(forEmbed(request))
    }
  }

/** Runs the build of the deployment's layer with its headers in context, where its provider client reads them. */
export const withHeaders =
  (d: Described) =>
  <A, E, R>(build: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    d.headers === undefined ? build : ExtraHeaders.provide(ExtraHeaders.normalize(d.headers))(build)
