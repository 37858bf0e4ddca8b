/**
 * Chat-completion chunks as @effect/ai stream parts, as a pure fold: `step` takes the state and one chunk and gives
 * the parts it adds; `end` closes what is open and gives the tool calls; `finish` gives the finish part.
 *
 * The order is @effect/ai's: `response-metadata` first; reasoning and text each as start, deltas, end (a block ends
 * when the other kind or a tool call begins); a tool call as `tool-params-start`, its argument deltas, and — once the
 * stream has ended, when its arguments are whole — `tool-params-end` and the parsed `tool-call`; `finish` last, after
 * the usage chunk that follows the finish reason. The caller emits `end`'s parts and `finish` as separate stream
 * chunks, because @effect/ai runs a toolkit's handlers per chunk and puts their results right after that chunk:
 * with the finish part in a chunk of its own, it also comes after the tool results.
 */
import type * as AiError from "@effect/ai/AiError"
import type * as Response from "@effect/ai/Response"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type * as Chat from "../../Chat.js"
import { malformedOutput } from "./errors.js"
import { finishReason, metadataPart, toolParams, usage } from "./response.js"

interface Call {
  readonly id: string
  readonly name: string
  readonly args: string
  /** Whether its `tool-params-start` went out (it waits for the name). */
  readonly started: boolean
}

/** What the fold remembers between chunks. */
export interface State {
  readonly seenFirst: boolean
  /** The kind of the open block and its id, if one is open. */
  readonly open: { readonly kind: "text" | "reasoning"; readonly id: string } | undefined
  readonly blocks: number
  /** Tool calls by their index in the stream. */
  readonly calls: ReadonlyArray<Call>
  readonly finishReason: string | null
  readonly usage: Chat.Usage | null
}

/** The state before the first chunk. */
export const initial: State = {
  seenFirst: false,
  open: undefined,
  blocks: 0,
  calls: [],
  finishReason: null,
  usage: null
}

/** A stream part as @effect/ai decodes it. */
export type Part = Response.StreamPartEncoded

const close = (state: State, parts: Array<Part>): State => {
  if (state.open === undefined) return state
  parts.push({ type: state.open.kind === "text" ? "text-end" : "reasoning-end", id: state.open.id })
  return { ...state, open: undefined }
}

const write = (state: State, kind: "text" | "reasoning", delta: string, parts: Array<Part>): State => {
  let next = state
  if (next.open?.kind !== kind) {
    next = close(next, parts)
    const id = `${kind}-${next.blocks}`
    parts.push({ type: kind === "text" ? "text-start" : "reasoning-start", id })
    next = { ...next, open: { kind, id }, blocks: next.blocks + 1 }
  }
  parts.push({ type: kind === "text" ? "text-delta" : "reasoning-delta", id: next.open!.id, delta })
  return next
}

const fragment = (calls: ReadonlyArray<Call>, delta: Chat.DeltaToolCall, idPrefix: string, parts: Array<Part>) => {
  const index = delta.index
  const known = calls[index]
  const call: Call = known ?? { id: delta.id ?? "", name: "", args: "", started: false }
  const name = call.name === "" ? (delta.function?.name ?? "") : call.name
  const args = call.args + (delta.function?.arguments ?? "")
  let next: Call = { ...call, id: call.id === "" ? (delta.id ?? "") : call.id, name, args }
  if (!next.started && name !== "") {
    const id = next.id === "" ? `${idPrefix}_call_${index}` : next.id
    parts.push({ type: "tool-params-start", id, name, providerExecuted: false })
    if (args !== "") parts.push({ type: "tool-params-delta", id, delta: args })
    next = { ...next, id, started: true }
  } else if (next.started && delta.function?.arguments) {
    parts.push({ type: "tool-params-delta", id: next.id, delta: delta.function.arguments })
  }
  const copy = [...calls]
  while (copy.length < index) copy.push({ id: "", name: "", args: "", started: false })
  copy[index] = next
  return copy
}

/**
 * The parts one chunk adds; a tool call that came without an id is named `<idPrefix>_call_<index>`.
 */
export const step = (state: State, chunk: Chat.ChatCompletionChunk, idPrefix: string): [State, Array<Part>] => {
  const parts: Array<Part> = []
  let next = state
  if (!next.seenFirst) {
    parts.push(metadataPart(chunk.id, chunk.model, chunk.created))
    next = { ...next, seenFirst: true }
  }
  const choice = chunk.choices.find((c) => c.index === 0)
  const delta = choice?.delta
  if (delta?.reasoning_content) next = write(next, "reasoning", delta.reasoning_content, parts)
  if (delta?.content) next = write(next, "text", delta.content, parts)
  if (delta?.tool_calls != null && delta.tool_calls.length > 0) {
    next = close(next, parts)
    let calls = next.calls
    for (const call of delta.tool_calls) calls = fragment(calls, call, idPrefix, parts)
    next = { ...next, calls }
  }
  if (choice?.finish_reason != null) next = { ...next, finishReason: choice.finish_reason }
  if (chunk.usage != null) next = { ...next, usage: chunk.usage }
  return [next, parts]
}

/**
 * Closes the open block and completes the tool calls; fails naming the tool whose arguments are not JSON.
 */
export const end = (state: State): Either.Either<[State, Array<Part>], string> => {
  const parts: Array<Part> = []
  const closed = close(state, parts)
  for (const call of closed.calls.filter((c) => c.started)) {
    const params = toolParams(call.name, call.args)
    if (Either.isLeft(params)) return Either.left(params.left)
    parts.push({ type: "tool-params-end", id: call.id })
    parts.push({ type: "tool-call", id: call.id, name: call.name, params: params.right, providerExecuted: false })
  }
  return Either.right([closed, parts])
}

/**
 * The finish part: the last finish reason and the last usage the stream carried.
 */
export const finish = (state: State): Response.FinishPartEncoded => ({
  type: "finish",
  reason: finishReason(
    state.finishReason,
    state.calls.some((c) => c.started)
  ),
  usage: usage(state.usage)
})

/**
 * The parts of a stream of chunks: the fold over its chunks (chunk boundaries kept), then `end`'s parts, then the
 * finish part, each of the last two in a stream chunk of its own. The fold's state lives in a `Ref` made per call.
 */
export const toParts = (
  chunks: Stream.Stream<Chat.ChatCompletionChunk, AiError.AiError>,
  idPrefix: string,
  method: string
): Effect.Effect<Stream.Stream<Part, AiError.AiError>> =>
  Effect.map(Ref.make(initial), (state) => {
    const body = Stream.mapChunksEffect(chunks, (chunk) =>
      Ref.modify(state, (current) => {
        let next = current
        const parts: Array<Part> = []
        for (const item of chunk) {
          const [after, added] = step(next, item, idPrefix)
          next = after
          parts.push(...added)
        }
        return [Chunk.unsafeFromArray(parts), next] as const
      })
    )
    const calls = Stream.unwrap(
      Effect.flatMap(Ref.get(state), (current) =>
        Either.match(end(current), {
          onLeft: (description) => Effect.fail(malformedOutput(method, description)),
          onRight: ([closed, parts]) => Effect.as(Ref.set(state, closed), Stream.fromChunk(Chunk.fromIterable(parts)))
        })
      )
    )
    const last = Stream.fromEffect(Effect.map(Ref.get(state), finish))
    return Stream.concat(Stream.concat(body, calls), last)
  })
