/**
 * Our OpenAI-compatible requests checked against OpenAI's published OpenAPI description, served by Prism on loopback
 * with request validation on (`--errors`): a request that breaks the spec gets a 422.
 */
import * as Command from "@effect/platform/Command"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type * as Chat from "../../src/Chat.js"
import type * as LlmService from "../../src/LlmService.js"
import * as OpenAiCompatible from "../../src/providers/OpenAiCompatible.js"

// Both live inside the repository (the spec is a vendored fixture, Prism a dev dependency), so a fresh clone runs this.
const spec = Path.resolve(import.meta.dirname, "../fixtures/openapi/openai-openapi.yaml")
const prismBin = Path.resolve(import.meta.dirname, "../../node_modules/.bin/prism")

/** A missing file fails the suite with a message saying what to do, never a skip. */
const requireFile = (file: string, hint: string) =>
  Effect.suspend(() => (Fs.existsSync(file) ? Effect.void : Effect.dieMessage(`${file} is missing: ${hint}`)))

/**
 * Removes the two type-less `nullable: true` lines that stop Prism from compiling the chat request schema (see the
 * reference README); fails loudly if the spec changed and they are not where expected.
 */
const patchSpec = (text: string): string => {
  const lines = text.split("\n")
  const drop = new Set<number>()
  const prediction = lines.findIndex(
    (line, i) => /^\s+prediction:$/.test(line) && /^\s+nullable: true$/.test(lines[i + 1] ?? "")
  )
  if (prediction !== -1) drop.add(prediction + 1)
  const stop = lines.indexOf("    StopConfiguration:")
  const stopNullable = lines.findIndex((line, i) => i > stop && line === "      nullable: true")
  if (stop !== -1 && stopNullable !== -1 && stopNullable < stop + 10) drop.add(stopNullable)
  if (drop.size !== 2) throw new Error("openai-openapi.yaml changed: the nullable lines to patch were not found")
  return lines.filter((_, i) => !drop.has(i)).join("\n")
}

const freePort = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as Net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

class Prism extends Context.Tag("test/Prism")<Prism, { readonly baseUrl: string }>() {}

const PrismLive = Layer.scoped(
  Prism,
  Effect.gen(function* () {
    yield* requireFile(spec, "it is committed with the repository (see test/fixtures/openapi/README.md)")
    yield* requireFile(prismBin, "@stoplight/prism-cli is a dev dependency; run npm ci")
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "prism-"))),
      (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
    )
    const file = Path.join(dir, "openai-openapi.yaml")
    Fs.writeFileSync(file, patchSpec(Fs.readFileSync(spec, "utf8")))
    const port = yield* freePort
    // The process is killed (SIGTERM to its group) when the layer's scope closes.
    const process = yield* Command.start(
      Command.make(prismBin, "mock", "--errors", "-p", String(port), "-h", "127.0.0.1", file)
    )
    // Prism logs every request; its output must be drained for as long as it runs, or it dies on a closed pipe.
    const listening = yield* Deferred.make<void>()
    const output = yield* Ref.make<ReadonlyArray<string>>([])
    yield* process.stdout.pipe(
      Stream.merge(process.stderr),
      Stream.decodeText(),
      Stream.splitLines,
      Stream.runForEach((line) =>
        line.includes("Prism is listening")
          ? Deferred.succeed(listening, undefined)
          : Ref.update(output, (lines) => [...lines.slice(-19), line])
      ),
      Effect.forkScoped
    )
    // If Prism exits before listening (a spec it cannot read, a busy port), fail with its last lines instead of waiting.
    const exited = process.exitCode.pipe(
      Effect.zip(Ref.get(output)),
      Effect.flatMap(([code, lines]) =>
        Effect.dieMessage(`prism exited with code ${code} before listening:\n${lines.join("\n")}`)
      )
    )
    yield* Effect.raceFirst(Deferred.await(listening), exited)
    return { baseUrl: `http://127.0.0.1:${port}` }
  })
).pipe(Layer.provide(NodeContext.layer))

/**
 * Prism starts once for the file. A runtime rather than `it.layer`: if it cannot start, every test fails with the
 * reason, where a failing `beforeAll` would leave them reported as skipped.
 */
const prism = ManagedRuntime.make(PrismLive)
afterAll(() => prism.dispose(), 60_000)

const client = (options: Partial<OpenAiCompatible.Options> = {}) =>
  Effect.flatMap(Prism, ({ baseUrl }) =>
    OpenAiCompatible.make({ baseUrl, apiKey: Redacted.make("sk-prism"), provider: "prism", ...options })
  ).pipe(Effect.provide(FetchHttpClient.layer), Effect.provide(prism))

const fullRequest: Chat.ChatCompletionRequest = {
  model: "gpt-4o-mini",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }]
    },
    { role: "tool", tool_call_id: "call_1", content: "18C, sunny" }
  ],
  temperature: 0.3,
  max_completion_tokens: 100,
  stop: ["\n\n"],
  seed: 7,
  tools: [
    {
      type: "function",
      function: {
        name: "weather",
        description: "Current weather",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
      }
    }
  ],
  tool_choice: "auto",
  response_format: { type: "text" },
  user: "test-user"
}

describe("requests against OpenAI's OpenAPI description (Prism, --errors)", () => {
  it.effect(
    "accepts our chat, embeddings and model-list requests and we decode its answers",
    () =>
      Effect.gen(function* () {
        const service: LlmService.Service = yield* client()
        const chat = yield* service.chat(fullRequest)
        expect(chat.choices.length).toBeGreaterThanOrEqual(0)
        expect(typeof chat.id).toBe("string")
        const embeddings = yield* service.embed({ model: "text-embedding-3-small", input: ["a", "b"], dimensions: 8 })
        expect(Array.isArray(embeddings.data)).toBe(true)
        const models = yield* service.listModels
        expect(Array.isArray(models.data)).toBe(true)
      }),
    240_000
  )

  it.effect(
    "an invalid request gets 422, which is our BadRequest",
    () =>
      Effect.gen(function* () {
        const service = yield* client()
        const bad = { model: "gpt-4o-mini", messages: [{ role: "user" }] } as unknown as Chat.ChatCompletionRequest
        const error = yield* Effect.flip(service.chat(bad))
        expect(error._tag).toBe("BadRequest")
        expect("status" in error && error.status).toBe(422)
        const badTemperature = yield* Effect.flip(service.chat({ ...fullRequest, temperature: 7 }))
        expect("status" in badTemperature && badTemperature.status).toBe(422)
      }),
    240_000
  )

  it.effect(
    "random spec-valid answers (Prefer: dynamic=true) decode",
    () =>
      Effect.gen(function* () {
        const service = yield* client({ headers: { prefer: "dynamic=true" } })
        for (let i = 0; i < 15; i++) {
          const chat = yield* service.chat(fullRequest)
          expect(typeof chat.model).toBe("string")
          const models = yield* service.listModels
          expect(Array.isArray(models.data)).toBe(true)
          const embeddings = yield* service.embed({ model: "text-embedding-3-small", input: "x" })
          expect(Array.isArray(embeddings.data)).toBe(true)
        }
      }),
    240_000
  )
})
