/**
 * What FakeUpstream answers to one request under one script, as data: the route a request takes, the reply a script
 * resolves to, the JSON body of a whole answer and the SSE text of a streamed one. Pure functions of the request, the
 * script and the time, so `respond.ts` is left with the network: delays, drops, stalls and writing.
 *
 * @since 0.2.0
 */
import type { RecordedRequest, Script } from "../../FakeUpstream.js"
import * as AnthropicWire from "./anthropic.js"
import * as Responses from "./responses.js"
import * as Wire from "./wire.js"

/**
 * The endpoints FakeUpstream serves.
 *
 * @since 0.2.0
 * @category models
 */
export type Route = "chat" | "responses" | "embeddings" | "models" | "messages" | "unknown"

/**
 * The route of a method and path (the path may carry any prefix, e.g. `/v1`).
 *
 * @since 0.2.0
 * @category routing
 */
export const routeOf = (method: string, path: string): Route => {
  if (method === "POST" && path.endsWith("/chat/completions")) return "chat"
  if (method === "POST" && path.endsWith("/responses")) return "responses"
  if (method === "POST" && path.endsWith("/embeddings")) return "embeddings"
  if (method === "GET" && path.endsWith("/models")) return "models"
  if (method === "POST" && path.endsWith("/messages")) return "messages"
  return "unknown"
}

/**
 * Whether a route answers with SSE when the request asks for `stream: true`.
 *
 * @since 0.2.0
 * @category routing
 */
export const streams = (route: Route): boolean => route === "chat" || route === "responses" || route === "messages"

/**
 * A named field of a JSON body, or `undefined`.
 *
 * @since 0.2.0
 * @category utils
 */
export const field = (body: unknown, name: string): unknown =>
  typeof body === "object" && body !== null ? (body as Record<string, unknown>)[name] : undefined

const brokenJson = '{"id": "broken", "choices": [ {"index": 0, '

/**
 * The text sent for a scripted `malformed: true` body.
 *
 * @since 0.2.0
 * @category utils
 */
export const malformedBody = brokenJson

/**
 * The reply a script resolves to for a request, at `now` (milliseconds).
 *
 * @since 0.2.0
 * @category constructors
 */
export const replyOf = (request: RecordedRequest, script: Script, now: number): Wire.Reply => {
  const text = script.reply ?? "ok"
  const pieces = Wire.split(text, Math.min(script.chunks ?? 3, Math.max(1, text.length)))
  const toolCalls = script.toolCalls ?? []
  const prompt = JSON.stringify(field(request.body, "messages") ?? field(request.body, "input") ?? "")
  const completionChars = text.length + toolCalls.reduce((n, call) => n + call.name.length + call.arguments.length, 0)
  const model = field(request.body, "model")
  return {
    id: `fake-${request.index}`,
    created: Math.floor(now / 1000),
    model: script.model ?? (typeof model === "string" ? model : "fake-model"),
    pieces,
    toolCalls,
    promptTokens: script.usage?.promptTokens ?? Math.max(1, Math.ceil(prompt.length / 4)),
    completionTokens: script.usage?.completionTokens ?? Math.max(1, Math.ceil(completionChars / 4)),
    cachedTokens: script.usage?.cachedTokens,
    reasoningTokens: script.usage?.reasoningTokens
  }
}

/**
 * The error body of a non-2xx status in the route's wire format.
 *
 * @since 0.2.0
 * @category constructors
 */
export const errorBody = (route: Route, request: RecordedRequest, path: string, status: number): unknown => {
  const message =
    route === "unknown" ? `no route for ${request.method} ${path}` : `fake upstream scripted HTTP ${status}`
  return route === "messages" ? AnthropicWire.anthropicError(status, message) : Wire.openAiError(status, message)
}

/**
 * The JSON body of a successful whole answer.
 *
 * @since 0.2.0
 * @category constructors
 */
export const successBody = (route: Route, request: RecordedRequest, script: Script, reply: Wire.Reply): unknown => {
  switch (route) {
    case "chat":
      return Wire.openAiCompletion(reply)
    case "responses":
      return Responses.response(reply, request.body)
    case "messages":
      return AnthropicWire.anthropicMessage(reply)
    case "models":
      return {
        object: "list",
        data: [{ id: reply.model, object: "model", created: reply.created, owned_by: "fake-upstream" }]
      }
    default: {
      const input = field(request.body, "input")
      const texts = Array.isArray(input) ? input.map((x) => JSON.stringify(x)) : [String(input ?? "")]
      return {
        object: "list",
        model: reply.model,
        data: texts.map((text, index) => ({
          object: "embedding",
          index,
          embedding: Wire.embedding(text, script.dimensions ?? 8)
        })),
        usage: { prompt_tokens: reply.promptTokens, total_tokens: reply.promptTokens }
      }
    }
  }
}

const named = (e: { readonly event: string; readonly data: unknown }) =>
  `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`

/**
 * The SSE text of a streamed answer, one string per event; a scripted `malformed` event keeps its event name (where
 * the format has one) and carries broken JSON.
 *
 * @since 0.2.0
 * @category constructors
 */
export const streamEvents = (
  route: Route,
  request: RecordedRequest,
  script: Script,
  reply: Wire.Reply
): ReadonlyArray<string> => {
  let events: ReadonlyArray<string>
  let broken: (index: number) => string
  if (route === "messages") {
    events = AnthropicWire.anthropicEvents(reply).map(named)
    broken = () => `event: content_block_delta\ndata: ${brokenJson}\n\n`
  } else if (route === "responses") {
    const all = Responses.events(reply, request.body)
    events = all.map(named)
    broken = (i) => `event: ${all[i]!.event}\ndata: ${brokenJson}\n\n`
  } else {
    const includeUsage = field(field(request.body, "stream_options"), "include_usage") === true
    events = [
      ...Wire.openAiChunks(reply, includeUsage).map((c) => `data: ${JSON.stringify(c)}\n\n`),
      "data: [DONE]\n\n"
    ]
    broken = () => `data: ${brokenJson}\n\n`
  }
  const bad = script.malformed === true ? 0 : typeof script.malformed === "number" ? script.malformed : -1
  return bad >= 0 && bad < events.length ? events.map((e, i) => (i === bad ? broken(i) : e)) : events
}
