/**
 * The package as users get it: `npm pack` (which builds dist/ on `prepack`), installed offline into an empty scratch
 * project next to its peers, then imported from plain Node ESM and typechecked with `moduleResolution` `nodenext` and
 * `bundler`. Slow (the pack compiles the library): it runs once per file, and its tests have generous timeouts.
 */
import * as Command from "@effect/platform/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as ImportGraph from "./support/importGraph.js"

const repo = Path.resolve(import.meta.dirname, "..")
const modules = Fs.realpathSync(Path.join(repo, "node_modules"))
const slow = 300_000

/**
 * What the scratch project installs beside the tarball, linked from the repository's own install so nothing is
 * downloaded: the peers, the optional peers FakeUpstream and effect-liter-llm/ai need, the library's one dependency
 * (npm would otherwise ask the registry for it), and Node's types, as any TypeScript project on Node has.
 */
const besides = [
  "effect",
  "@effect/platform",
  "@effect/platform-node",
  "@effect/ai",
  "@noble/hashes",
  "@pydantic/genai-prices",
  "@types/node",
  "ioredis",
  "yaml"
]

/** Runs a command to its end; a non-zero exit fails the test with the command and its output. */
const run = (cwd: string, command: string, ...args: Array<string>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const process = yield* Command.start(Command.make(command, ...args).pipe(Command.workingDirectory(cwd)))
      const text = (stream: typeof process.stdout) => stream.pipe(Stream.decodeText(), Stream.mkString)
      const [stdout, stderr, code] = yield* Effect.all([text(process.stdout), text(process.stderr), process.exitCode], {
        concurrency: "unbounded"
      })
      if (code !== 0) {
        return yield* Effect.dieMessage(
          `\`${command} ${args.join(" ")}\` in ${cwd} exited ${code}:\n${stderr}${stdout}`
        )
      }
      return stdout
    })
  )

interface Packed {
  /** The scratch project, with the package installed in its node_modules. */
  readonly dir: string
  /** The paths the tarball holds, relative to the package root. */
  readonly files: ReadonlyArray<string>
  /** The installed package's package.json. */
  readonly manifest: { readonly exports: Record<string, unknown> }
}

class Scratch extends Context.Tag("test/Scratch")<Scratch, Packed>() {}

const ScratchLive = Layer.scoped(
  Scratch,
  Effect.gen(function* () {
    const root = yield* Effect.acquireRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "liter-pack-"))),
      (root) => Effect.sync(() => Fs.rmSync(root, { recursive: true, force: true }))
    )
    const [packed] = JSON.parse(yield* run(repo, "npm", "pack", "--json", "--pack-destination", root)) as Array<{
      readonly filename: string
      readonly files: ReadonlyArray<{ readonly path: string }>
    }>
    const dir = Path.join(root, "app")
    Fs.mkdirSync(dir)
    Fs.writeFileSync(Path.join(dir, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }))
    // --offline: nothing may come from the registry; --ignore-scripts: linked packages must not run their builds.
    const links = besides.map((name) => `file:${Path.join(modules, name)}`)
    yield* run(
      dir,
      "npm",
      "install",
      "--offline",
      "--ignore-scripts",
      "--no-audit",
      "--no-fund",
      Path.join(root, packed!.filename),
      ...links
    )
    const manifest = JSON.parse(Fs.readFileSync(Path.join(dir, "node_modules/effect-liter-llm/package.json"), "utf8"))
    return { dir, files: packed!.files.map((file) => file.path), manifest }
  })
).pipe(Layer.provide(NodeContext.layer))

/**
 * Packed and installed once for the file. A runtime rather than `it.layer`, so that a failing pack or install fails
 * every test with its output instead of leaving them reported as skipped.
 */
const scratch = ManagedRuntime.make(Layer.merge(ScratchLive, NodeContext.layer))
afterAll(() => scratch.dispose(), 60_000)

const inScratch = <A, E>(f: (packed: Packed) => Effect.Effect<A, E, NodeContext.NodeContext>) =>
  Effect.flatMap(Scratch, f).pipe(Effect.provide(scratch))

/** The export names of src/index.ts (`export * as Chat from …`): what the main entry must offer once installed. */
const publicModules = Fs.readFileSync(Path.join(repo, "src/index.ts"), "utf8")
  .split("\n")
  .flatMap((line) => /^export \* as (\w+) from/.exec(line)?.[1] ?? [])
  .sort()

/** Imports every entry the package exports, plus an internal path that must stay closed, and uses the first two. */
const checkScript = (entries: ReadonlyArray<string>) => `
import { Effect, Redacted } from "effect"
import { FetchHttpClient } from "@effect/platform"
${entries.map((entry, i) => `import * as entry${i} from ${JSON.stringify(`effect-liter-llm${entry.slice(1)}`)}`).join("\n")}
import manifest from "effect-liter-llm/package.json" with { type: "json" }
import * as Lib from "effect-liter-llm"
import * as FakeUpstream from "effect-liter-llm/FakeUpstream"

const internal = await import("effect-liter-llm/internal/sse.js").then(() => "importable", (error) => error.code)
const reply = await Effect.gen(function* () {
  const upstream = yield* FakeUpstream.make({ script: { reply: "hello from the package" } })
  const llm = yield* Lib.OpenAiCompatible.make({ baseUrl: upstream.baseUrl, apiKey: Redacted.make("sk-test") })
  const response = yield* llm.chat({ model: "m", messages: [{ role: "user", content: "hi" }] })
  return response.choices[0].message.content
}).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer), Effect.runPromise)
const names = [${entries.map((_, i) => `entry${i}`).join(", ")}].map((entry) => Object.keys(entry).sort())
console.log(JSON.stringify({ name: manifest.name, names, internal, reply }))
`

/** A user's file: typed use of the main entry and FakeUpstream; the `@ts-expect-error` lines fail if types go `any`. */
const userFile = `
import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { Chat, Deployment, LiterLlmError, LlmService, LlmTest, OpenAiCompatible, Router, Strategy } from "effect-liter-llm"
import * as FakeUpstream from "effect-liter-llm/FakeUpstream"
import { EffectAi } from "effect-liter-llm/ai"
import { AiError, LanguageModel } from "@effect/ai"
// @ts-expect-error internal modules are not exported
import * as Sse from "effect-liter-llm/internal/sse"

const request: Chat.ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "hi" }] }
export const text: Effect.Effect<string, LiterLlmError.LiterLlmError, LlmService.LlmService> = LlmService.chat(
  request
).pipe(Effect.map((response) => response.choices[0]?.message.content ?? ""))
// @ts-expect-error a response id is a string
export const id: Effect.Effect<number, LiterLlmError.LiterLlmError, LlmService.LlmService> = LlmService.chat(
  request
).pipe(Effect.map((response) => response.id))

const remote = OpenAiCompatible.layer({ baseUrl: "http://127.0.0.1:9/v1", apiKey: Redacted.make("k") })
export const routed = text.pipe(
  Effect.provide(
    Router.layer({
      deployments: [
        Deployment.make({ name: "fake", layer: LlmTest.layer() }),
        Deployment.make({ name: "remote", layer: remote.pipe(Layer.provide(FetchHttpClient.layer)) })
      ],
      strategy: Strategy.roundRobin()
    })
  )
)
export const upstream: Layer.Layer<FakeUpstream.FakeUpstream, unknown> = FakeUpstream.layer({ script: { reply: "x" } })
export { Sse }

// the @effect/ai entry: a LanguageModel over the LlmService in context
export const viaAi: Effect.Effect<string, AiError.AiError, LlmService.LlmService> = LanguageModel.generateText({
  prompt: "hi"
}).pipe(
  Effect.map((response) => response.text),
  Effect.provide(EffectAi.layer({ model: "m", config: { temperature: 0 } }))
)
// @ts-expect-error a temperature is a number
export const hot = EffectAi.withConfigOverride({ temperature: "hot" })
`

const tsconfig = (module: string, moduleResolution: string) => ({
  compilerOptions: { module, moduleResolution, target: "ES2022", strict: true, noEmit: true, skipLibCheck: true },
  files: ["use.ts"]
})

describe("the packed package", () => {
  it.effect(
    "npm pack builds dist/ and ships it with the sources, no tests, and an exports map of public entries only",
    () =>
      inScratch(({ files, manifest }) =>
        Effect.sync(() => {
          expect(files).toContain("dist/index.js")
          expect(files).toContain("dist/index.d.ts")
          expect(files).toContain("dist/FakeUpstream.js")
          const outside = files.filter((file) => !/^(dist|src)\//.test(file))
          expect(outside.sort()).toEqual(["LICENSE", "README.md", "bin/effect-liter-llm.mjs", "package.json"])
          expect(files.filter((file) => /(^|\/)(test|bench|examples)\/|\.test\./.test(file))).toEqual([])
          const entries = Object.keys(manifest.exports)
          expect(entries).toEqual(
            expect.arrayContaining([".", "./FakeUpstream", "./redis", "./gateway", "./package.json"])
          )
          for (const entry of entries) {
            expect(entry).not.toMatch(/\*|internal/)
            for (const target of JSON.stringify(manifest.exports[entry]).match(/\.\/[^"]+/g) ?? []) {
              expect(files).toContain(target.slice(2))
            }
          }
        })
      ),
    slow
  )

  it.effect(
    "plain Node ESM imports every public entry point of the installed package, and internals stay closed",
    () =>
      inScratch(({ dir, manifest }) =>
        Effect.gen(function* () {
          const entries = Object.keys(manifest.exports).filter((entry) => entry !== "./package.json")
          Fs.writeFileSync(Path.join(dir, "check.mjs"), checkScript(entries))
          const result = JSON.parse(yield* run(dir, process.execPath, "check.mjs"))
          expect(result.name).toBe("effect-liter-llm")
          expect(result.names[entries.indexOf(".")]).toEqual(publicModules)
          expect(result.names[entries.indexOf("./FakeUpstream")]).toEqual(expect.arrayContaining(["layer", "make"]))
          expect(result.names[entries.indexOf("./redis")]).toEqual(["Redis"])
          expect(result.names[entries.indexOf("./ai")]).toEqual(["EffectAi"])
          expect(result.names[entries.indexOf("./gateway")]).toEqual(["Access", "Config", "Gateway", "Server"])
          expect(result.internal).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
          expect(result.reply).toBe("hello from the package")
        })
      ),
    slow
  )

  it.effect(
    "a TypeScript file typechecks against it with moduleResolution nodenext and bundler",
    () =>
      inScratch(({ dir }) =>
        Effect.gen(function* () {
          Fs.writeFileSync(Path.join(dir, "use.ts"), userFile)
          const tsc = Path.join(modules, "typescript/bin/tsc")
          for (const [name, module, resolution] of [
            ["nodenext", "nodenext", "nodenext"],
            ["bundler", "preserve", "bundler"]
          ] as const) {
            Fs.writeFileSync(Path.join(dir, `tsconfig.${name}.json`), JSON.stringify(tsconfig(module, resolution)))
            // run() fails the test with tsc's diagnostics if there are any
            yield* run(dir, process.execPath, tsc, "-p", `tsconfig.${name}.json`)
          }
        })
      ),
    slow
  )

  it.effect(
    "the effect-liter-llm command runs from the installed package (compiled code) and checks a config",
    () =>
      inScratch(({ dir }) =>
        Effect.gen(function* () {
          Fs.writeFileSync(Path.join(dir, "gateway.yaml"), "groups:\n  m:\n    - { name: d, provider: ollama }\n")
          const bin = Path.join(dir, "node_modules/.bin/effect-liter-llm")
          const out = yield* run(dir, process.execPath, bin, "check", "--config", "gateway.yaml")
          expect(out).toContain("gateway.yaml: ok (1 group, 1 deployment, 0 keys)")
        })
      ),
    slow
  )

  it.effect(
    "the main entry's import graph in dist/ loads no Node built-in module",
    () =>
      inScratch(({ dir }) =>
        Effect.sync(() => {
          const graph = ImportGraph.walk(Path.join(dir, "node_modules/effect-liter-llm/dist/index.js"))
          // the walk reached the dependencies (effect alone is hundreds of files), not just the package
          expect(graph.files.some((file) => file.includes("/node_modules/effect/dist/esm/"))).toBe(true)
          expect(
            graph.builtins.map(({ importer, specifier }) => `${importer.split("/node_modules/").at(-1)}: ${specifier}`)
          ).toEqual([])
          // nor an optional peer: @effect/ai is loaded by effect-liter-llm/ai only
          expect(graph.files.filter((file) => file.includes("/node_modules/@effect/ai"))).toEqual([])
        })
      ),
    slow
  )
})

describe("ImportGraph.walk", () => {
  it.effect("finds a built-in module behind relative imports, re-exports and dynamic imports, once per file", () =>
    Effect.acquireUseRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "liter-graph-"))),
      (dir) =>
        Effect.sync(() => {
          Fs.writeFileSync(Path.join(dir, "index.js"), 'export * as A from "./a.js"\nimport "./b.js"\n')
          Fs.writeFileSync(Path.join(dir, "a.js"), 'export const load = () => import("./c.js")\nimport "./b.js"\n')
          Fs.writeFileSync(Path.join(dir, "b.js"), "/* import x from 'node:fs' */ export const b = 1\n")
          Fs.writeFileSync(Path.join(dir, "c.js"), 'import * as Http from "node:http"\nexport const c = Http\n')
          const graph = ImportGraph.walk(Path.join(dir, "index.js"))
          expect(graph.files.map((file) => Path.basename(file)).sort()).toEqual(["a.js", "b.js", "c.js", "index.js"])
          expect(graph.builtins.map((found) => [Path.basename(found.importer), found.specifier])).toEqual([
            ["c.js", "node:http"]
          ])
        }),
      (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
    )
  )
})
