/**
 * What a `LanguageModel` call asks of the model besides the prompt: its tools, the tool choice, and the shape of the
 * answer.
 *
 * Decisions:
 * - A tool's JSON Schema and description are @effect/ai's own (`Tool.getJsonSchemaFromSchemaAst`), the same the @effect/ai providers send.
 * - `strict` (default `true`, as @effect/ai-openai) goes with every function and with `json_schema`; turn it off in
 *   `EffectAi.Config` when a schema has optional fields, which strict mode rejects.
 * - `{ oneOf, mode }`: @effect/ai has already cut the tools down to `oneOf`, so the choice is just `mode`.
 * - Provider-defined tools (an OpenAI web search, an Anthropic computer) run at that provider and have no
 *   chat-completions form: such a tool fails the call with `MalformedInput` naming it, rather than being dropped.
 * - The `json_schema` name is the object name with what OpenAI does not allow in a name replaced by `_`.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Either from "effect/Either"
import type * as Chat from "../../Chat.js"

/** The request fields for tools, tool choice and response format. */
export interface ToolFields {
  readonly tools?: ReadonlyArray<Chat.Tool>
  readonly tool_choice?: Chat.ToolChoice
  readonly response_format?: Chat.ResponseFormat
}

const toolChoice = (choice: LanguageModel.ToolChoice<string>): Chat.ToolChoice => {
  if (typeof choice === "string") return choice
  if ("tool" in choice) return { type: "function", function: { name: choice.tool } }
  return choice.mode ?? "auto"
}

const functionTool = (tool: Tool.Any, strict: boolean): Either.Either<Chat.Tool, string> => {
  if (!Tool.isUserDefined(tool)) {
    return Either.left(
      `tool "${tool.name}" is defined by a provider and runs there; chat completions cannot offer it — remove it from the toolkit`
    )
  }
  const description = tool.description ?? Tool.getDescriptionFromSchemaAst(tool.parametersSchema.ast)
  return Either.right({
    type: "function",
    function: {
      name: tool.name,
      ...(description === undefined ? {} : { description }),
      parameters: { ...Tool.getJsonSchemaFromSchemaAst(tool.parametersSchema.ast) },
      strict
    }
  })
}

/** A name OpenAI accepts for a `json_schema`: letters, digits, `_` and `-`, at most 64 of them. */
const schemaName = (name: string): string => name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64) || "object"

/**
 * The tool and format fields for a call, or what in it cannot be sent.
 */
const responseFormat = (format: LanguageModel.ProviderOptions["responseFormat"], strict: boolean) => {
  if (format.type !== "json") return {}
  const description = Tool.getDescriptionFromSchemaAst(format.schema.ast)
  const json_schema = {
    name: schemaName(format.objectName),
    ...(description === undefined ? {} : { description }),
    schema: { ...Tool.getJsonSchemaFromSchemaAst(format.schema.ast) },
    strict
  }
  return { response_format: { type: "json_schema" as const, json_schema } }
}

/**
 * The tool and format fields for a call, or what in it cannot be sent.
 */
export const toolFields = (
  options: LanguageModel.ProviderOptions,
  strict: boolean
): Either.Either<ToolFields, string> =>
  Either.map(Either.all(options.tools.map((tool) => functionTool(tool, strict))), (tools): ToolFields => ({
    ...(tools.length === 0 ? {} : { tools, tool_choice: toolChoice(options.toolChoice) }),
    ...responseFormat(options.responseFormat, strict)
  }))
