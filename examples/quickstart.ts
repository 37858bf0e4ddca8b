/**
 * `npx tsx examples/quickstart.ts` — the smallest useful router: two deployments, ordered fallback.
 *
 * The primary is down for its first call; the router moves that request to the backup and the caller never sees
 * the failure. The deployments here are `LlmTest` fakes so this runs offline; swap in real ones with, e.g.,
 *
 *   layer: Provider.layer("groq/llama-3.1-8b-instant").pipe(Layer.provide(FetchHttpClient.layer))   // GROQ_API_KEY
 */
import { Effect } from "effect"
import { Deployment, LiterLlmError, LlmService, LlmTest, Router, Strategy } from "../src/index.js"

const Llm = Router.layer({
  strategy: Strategy.fallback(),
  deployments: [
    Deployment.make({
      name: "primary",
      layer: LlmTest.layer({ reply: "Hello from the primary.", failures: [new LiterLlmError.ServiceUnavailable()] })
    }),
    Deployment.make({ name: "backup", layer: LlmTest.layer({ reply: "Hello from the backup." }) })
  ]
})

const program = Effect.gen(function* () {
  for (let i = 1; i <= 3; i++) {
    const response = yield* LlmService.chat({ model: "any", messages: [{ role: "user", content: "Say hello." }] })
    console.log(`request ${i}: ${response.choices[0]?.message.content}`)
  }
})

program.pipe(Effect.provide(Llm), Effect.runPromise)
