/**
 * JSON answers (`response_format`) on Anthropic, which has no JSON mode in the Messages API.
 *
 * `json_schema` is served by a tool: the schema becomes the `input_schema` of an "answer tool" the model is made to
 * call, and the tool's input, serialised, becomes the answer's `content` (in streams, its `input_json_delta`s become
 * content deltas), with finish reason `stop` — the caller sees a plain JSON answer, never the tool. When the request
 * has tools of its own, the model must call some tool (`any`), its own or the answer tool, so both keep working.
 * `json_object` has no schema to enforce and is served by an instruction in the system prompt.
 */
import * as Chat from "../../Chat.js"
import type * as Wire from "./wire.js"

/**
 * The instruction added to `system` for `json_object`.
 *
 * @since 0.1.0
 * @category structured output
 */
export const jsonObjectInstruction = "Respond with a single valid JSON object and nothing else."

/**
 * The name of the answer tool for a request, when its `response_format` needs one.
 *
 * @since 0.1.0
 * @category structured output
 */
export const answerToolName = (request: Chat.ChatCompletionRequest): string | undefined => {
  const format = request.response_format
  if (format?.type !== "json_schema") return undefined
  const taken = new Set((request.tools ?? []).map(Chat.toolName))
  const name = format.json_schema.name
  return taken.has(name) ? `${name}_answer` : name
}

/**
 * The answer tool and the tool choice that makes the model use it.
 *
 * @since 0.1.0
 * @category structured output
 */
export const answerTool = (
  request: Chat.ChatCompletionRequest
): { readonly tool: Wire.RequestTool; readonly choice: Wire.RequestToolChoice } | undefined => {
  const format = request.response_format
  const name = answerToolName(request)
  if (format?.type !== "json_schema" || name === undefined) return undefined
  const ownTools = (request.tools ?? []).length > 0
  return {
    tool: {
      name,
      description:
        format.json_schema.description ?? "Give your final answer by calling this tool with the answer as its input.",
      input_schema: format.json_schema.schema ?? { type: "object" }
    },
    choice: ownTools ? { type: "any" } : { type: "tool", name }
  }
}
