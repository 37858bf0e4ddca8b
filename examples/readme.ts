/**
 * The README's example, kept here so the typechecker keeps it honest. It needs real keys to run:
 * `OPENAI_API_KEY=… AZURE_OPENAI_API_KEY=… npx tsx examples/readme.ts` (Azure's base URL is a placeholder).
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Redacted } from "effect"
import { Deployment, LlmService, OpenAiCompatible, Router, Strategy } from "../src/index.js"

const deployment = (name: string, baseUrl: string, key: string) =>
  Deployment.make({
    name,
    model: "gpt-4o-mini",
    layer: OpenAiCompatible.layer({ baseUrl, apiKey: Redacted.make(key) })
  })

const Llm = Router.layer({
  deployments: [
    deployment("openai", "https://api.openai.com/v1", process.env.OPENAI_API_KEY ?? ""),
    deployment("azure-eu", "https://example-eu.openai.azure.com/openai/v1", process.env.AZURE_OPENAI_API_KEY ?? "")
  ],
  strategy: Strategy.latencyBased()
}).pipe(Layer.provide(NodeHttpClient.layerUndici))

const program = LlmService.chat({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hello in French." }]
})

Effect.runPromise(program.pipe(Effect.provide(Llm))).then(
  (response) => console.log(response.choices[0]?.message.content),
  (error) => console.error(String(error))
)
