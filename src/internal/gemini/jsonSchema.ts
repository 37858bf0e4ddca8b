/**
 * Converts a JSON Schema (what OpenAI tools and `response_format` carry) into the OpenAPI-subset schema Gemini's
 * `parameters` and `responseSchema` accept.
 *
 * Gemini rejects the whole request on a keyword it does not know (`additionalProperties`, `$schema`, `$ref` …), so
 * only keywords it documents are kept; `type: [T, "null"]` becomes `type: T, nullable: true`; `const` becomes a
 * one-value `enum`; `oneOf` becomes `anyOf`; local `$ref`s into `$defs`/`definitions` are inlined. A recursive
 * schema is cut off at a fixed depth (as a plain object), since Gemini cannot express recursion.
 */
const kept = new Set([
  "type",
  "format",
  "title",
  "description",
  "nullable",
  "enum",
  "maxItems",
  "minItems",
  "required",
  "minProperties",
  "maxProperties",
  "minLength",
  "maxLength",
  "pattern",
  "example",
  "propertyOrdering",
  "default",
  "minimum",
  "maximum"
])

const maxDepth = 24

type Json = Record<string, unknown>

const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const resolveRef = (ref: string, root: Json): unknown => {
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref)
  if (match === null) return undefined
  const defs = root[match[1]]
  return isRecord(defs) ? defs[decodeURIComponent(match[2])] : undefined
}

const convert = (schema: unknown, root: Json, depth: number): unknown => {
  if (!isRecord(schema)) return schema
  if (depth > maxDepth) return { type: "object" }
  if (typeof schema["$ref"] === "string") {
    const target = resolveRef(schema["$ref"], root)
    return target === undefined ? { type: "object" } : convert(target, root, depth + 1)
  }
  const out: Json = {}
  for (const [key, value] of Object.entries(schema)) {
    if (kept.has(key)) out[key] = value
  }
  const type = schema["type"]
  if (Array.isArray(type)) {
    const types = type.filter((t) => t !== "null")
    if (types.length < type.length) out["nullable"] = true
    if (types.length === 1) out["type"] = types[0]
    else {
      delete out["type"]
      if (types.length > 1) out["anyOf"] = types.map((t) => ({ type: t }))
    }
  }
  if ("const" in schema && !("enum" in out)) out["enum"] = [schema["const"]]
  if (isRecord(schema["properties"])) {
    out["properties"] = Object.fromEntries(
      Object.entries(schema["properties"]).map(([name, value]) => [name, convert(value, root, depth + 1)])
    )
  }
  if (schema["items"] !== undefined) out["items"] = convert(schema["items"], root, depth + 1)
  const alternatives = schema["anyOf"] ?? schema["oneOf"]
  if (Array.isArray(alternatives)) {
    const nonNull = alternatives.filter((alt) => !(isRecord(alt) && alt["type"] === "null"))
    if (nonNull.length < alternatives.length) out["nullable"] = true
    if (nonNull.length === 1 && Object.keys(out).every((k) => k === "nullable" || k === "description")) {
      // `anyOf: [T, null]` is how Pydantic spells an optional T: flatten it to T, keeping our own description.
      const own = { ...out }
      const inner = convert(nonNull[0], root, depth + 1)
      Object.assign(out, isRecord(inner) ? inner : {}, own)
    } else out["anyOf"] = nonNull.map((alt) => convert(alt, root, depth + 1))
  }
  return out
}

/**
 * The Gemini form of a JSON Schema.
 *
 * @since 0.1.0
 * @category schema
 */
export const toGeminiSchema = (schema: unknown): unknown => (isRecord(schema) ? convert(schema, schema, 0) : schema)
