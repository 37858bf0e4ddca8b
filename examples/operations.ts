/**
 * The README's example of every operation through the router, kept here so the typechecker keeps it honest. It needs
 * real keys to run: `OPENAI_API_KEY=… GROQ_API_KEY=… COHERE_API_KEY=… npx tsx examples/operations.ts`.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Chunk, Effect, Layer, Redacted, Stream } from "effect"
import { Deployment, LlmService, OpenAiCompatible, Rerankers, Router, Strategy } from "../src/index.js"

const key = (name: string) => Redacted.make(process.env[name] ?? "")
const openai = OpenAiCompatible.layer({ baseUrl: "https://api.openai.com/v1", apiKey: key("OPENAI_API_KEY") })
const groq = OpenAiCompatible.layer({ baseUrl: "https://api.groq.com/openai/v1", apiKey: key("GROQ_API_KEY") })
const cohere = Rerankers.cohere({ apiKey: key("COHERE_API_KEY") })

// one group per operation; "stt" has two deployments: Groq first, OpenAI when Groq fails
const Llm = Router.layer({
  deployments: [
    Deployment.make({ name: "images", group: "images", model: "gpt-image-1", layer: openai }),
    Deployment.make({ name: "voice", group: "voice", model: "gpt-4o-mini-tts", layer: openai }),
    Deployment.make({ name: "groq-stt", group: "stt", model: "whisper-large-v3", layer: groq }),
    Deployment.make({ name: "openai-stt", group: "stt", model: "whisper-1", priority: 1, layer: openai }),
    Deployment.make({ name: "moderation", group: "moderation", model: "omni-moderation-latest", layer: openai }),
    Deployment.make({ name: "cohere", group: "rerank", model: "rerank-v3.5", layer: cohere })
  ],
  strategy: Strategy.fallback()
}).pipe(Layer.provide(NodeHttpClient.layerUndici))

const program = Effect.gen(function* () {
  const image = yield* LlmService.image({ model: "images", prompt: "A lighthouse at dusk", size: "1024x1024" })
  const speech = yield* LlmService.speech({ model: "voice", input: "The lighthouse is lit.", voice: "alloy" })
  // the audio is a stream of bytes as they arrive: pipe it on, or collect it as here
  const spoken = Buffer.concat(Chunk.toReadonlyArray(yield* Stream.runCollect(speech.audio)))
  const { text } = yield* LlmService.transcribe({ model: "stt", file: spoken, filename: "speech.mp3" })
  const moderation = yield* LlmService.moderate({ model: "moderation", input: text })
  const ranked = yield* LlmService.rerank({
    model: "rerank",
    query: "Is the lighthouse lit?",
    documents: [text, "The harbour is closed."],
    top_n: 1
  })
  return { image: image.data.length, audio: speech.contentType, text, moderation, best: ranked.results[0]?.index }
})

Effect.runPromise(program.pipe(Effect.provide(Llm))).then(
  (result) => console.log(result),
  (error) => console.error(String(error))
)
