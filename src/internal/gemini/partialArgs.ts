/**
 * Gemini 3 can stream a function call's arguments (`streamFunctionCallArguments`): a part names the function with
 * `willContinue: true`, later parts carry `partialArgs` (a JSON path and a value each; a string may arrive in pieces,
 * a piece with `willContinue: true` being continued by the next one for the same path), and a part whose
 * `functionCall` has no `willContinue` (often an empty `{}`) closes the call.
 *
 * The pieces address the arguments by path, not as JSON text, so they cannot become OpenAI argument deltas one by one:
 * they are collected here into the arguments object, serialised once when the call closes.
 */
import type * as Wire from "./wire.js"

/**
 * The arguments of a call whose arguments are still streaming.
 *
 * @since 0.1.0
 * @category streams
 */
export interface OpenCall {
  readonly args: Record<string, unknown>
  /** The path of a string value a later piece continues. */
  openString: string | undefined
}

/**
 * A call with nothing collected yet.
 *
 * @since 0.1.0
 * @category streams
 */
export const open = (): OpenCall => ({ args: {}, openString: undefined })

/** `$.a.b[0]['c d']` as keys and indexes; undefined when the path has another shape. */
const parsePath = (path: string): ReadonlyArray<string | number> | undefined => {
  if (!path.startsWith("$")) return undefined
  const segments: Array<string | number> = []
  const step = /\.([^.[\]]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]/y
  step.lastIndex = 1
  while (step.lastIndex < path.length) {
    const match = step.exec(path)
    if (match === null) return undefined
    segments.push(match[2] !== undefined ? Number(match[2]) : (match[1] ?? match[3] ?? match[4])!)
  }
  return segments
}

/** The container at `segments` below `root`, created (object or array, as the next segment asks) where missing. */
const setAt = (root: Record<string, unknown>, segments: ReadonlyArray<string | number>, value: unknown): void => {
  let node: Record<string | number, unknown> = root
  for (let i = 0; i < segments.length - 1; i++) {
    const key = segments[i]!
    const existing = node[key]
    if (typeof existing !== "object" || existing === null) {
      const created = typeof segments[i + 1] === "number" ? [] : {}
      node[key] = created
      node = created as Record<string | number, unknown>
    } else {
      node = existing as Record<string | number, unknown>
    }
  }
  node[segments[segments.length - 1]!] = value
}

const getAt = (root: Record<string, unknown>, segments: ReadonlyArray<string | number>): unknown => {
  let node: unknown = root
  for (const key of segments) {
    if (typeof node !== "object" || node === null) return undefined
    node = (node as Record<string | number, unknown>)[key]
  }
  return node
}

/** The value a piece carries, or undefined for a piece that carries none. */
const valueOf = (piece: Wire.PartialArg): { readonly value: unknown } | undefined => {
  if (piece.stringValue != null) return { value: piece.stringValue }
  if (piece.numberValue != null) return { value: piece.numberValue }
  if (piece.boolValue != null) return { value: piece.boolValue }
  if (piece.structValue != null) return { value: piece.structValue }
  if (piece.listValue != null) return { value: piece.listValue }
  if (piece.nullValue !== undefined) return { value: null }
  return undefined
}

/**
 * Adds the pieces of one part to the call. Returns the paths it could not place (so the caller can report them
 * rather than drop them silently).
 *
 * @since 0.1.0
 * @category streams
 */
export const apply = (call: OpenCall, pieces: ReadonlyArray<Wire.PartialArg>): ReadonlyArray<string> => {
  const unplaced: Array<string> = []
  for (const piece of pieces) {
    const segments = parsePath(piece.jsonPath)
    const carried = valueOf(piece)
    if (segments === undefined || segments.length === 0 || carried === undefined) {
      if (carried !== undefined || segments === undefined) unplaced.push(piece.jsonPath)
      continue
    }
    const previous = getAt(call.args, segments)
    const continues = call.openString === piece.jsonPath && typeof previous === "string"
    const value = continues && typeof carried.value === "string" ? previous + carried.value : carried.value
    setAt(call.args, segments, value)
    call.openString = typeof carried.value === "string" && piece.willContinue === true ? piece.jsonPath : undefined
  }
  return unplaced
}
