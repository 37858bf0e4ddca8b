/**
 * Images, speech, transcription, moderation and rerank through the router: strategy order, failover on transient
 * errors, deployments that cannot do an operation skipped (and a BadRequest when none can), model groups, and speech
 * failing over before its first byte only; the route facts of each carry its cost.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import * as Deployment from "../../src/Deployment.js"
import * as LiterLlmError from "../../src/LiterLlmError.js"
import * as LlmService from "../../src/LlmService.js"
import * as LlmTest from "../../src/LlmTest.js"
import * as Router from "../../src/Router.js"
import * as Strategy from "../../src/Strategy.js"
import { recordingTracer } from "../support/tracing.js"

const rerank = { model: "rr", query: "french city", documents: ["berlin", "a french city"] }
const unavailable = new LiterLlmError.ServiceUnavailable({ provider: "test" })

const routerOf = (deployments: ReadonlyArray<Deployment.Deployment>, strategy = Strategy.fallback()) =>
  Router.layerWithStats({ deployments, strategy })

const speaking = (name: string, audio: Stream.Stream<Uint8Array, LiterLlmError.LiterLlmError>) =>
  Deployment.make({
    name,
    layer: LlmService.layer({ provider: name, speech: () => Effect.succeed({ contentType: "audio/mpeg", audio }) })
  })

const bytesOf = (audio: Stream.Stream<Uint8Array, LiterLlmError.LiterLlmError>) =>
  Effect.map(Stream.runCollect(audio), (chunks) => Chunk.toReadonlyArray(chunks).flatMap((c) => [...c]))

describe("Router: every operation", () => {
  it.effect("rerank, moderation, images and transcription fail over on a transient error", () =>
    Effect.gen(function* () {
      const answer = yield* LlmService.rerank(rerank)
      expect(answer.results[0].index).toBe(1)
      yield* LlmService.moderate({ model: "m", input: "x" })
      yield* LlmService.image({ model: "img", prompt: "a fox" })
      yield* LlmService.transcribe({ model: "stt", file: new Uint8Array(8) })
      const stats = yield* Router.stats
      expect(stats.deployments.map((d) => d.successes)).toEqual([0, 4])
      expect(stats.failovers).toBe(4)
    }).pipe(
      Effect.provide(
        routerOf([
          Deployment.make({ name: "down", layer: LlmTest.layer({ fail: unavailable }) }),
          Deployment.make({ name: "up", layer: LlmTest.layer() })
        ])
      )
    )
  )

  it.effect("round robin spreads rerank calls like chat calls", () =>
    Effect.gen(function* () {
      for (let i = 0; i < 4; i++) yield* LlmService.rerank(rerank)
      const stats = yield* Router.stats
      expect(stats.deployments.map((d) => d.requests)).toEqual([2, 2])
    }).pipe(
      Effect.provide(
        routerOf(
          [
            Deployment.make({ name: "a", layer: LlmTest.layer() }),
            Deployment.make({ name: "b", layer: LlmTest.layer() })
          ],
          Strategy.roundRobin()
        )
      )
    )
  )

  it.effect("a deployment that cannot do the operation is skipped; when none can, BadRequest names it", () =>
    Effect.gen(function* () {
      const answer = yield* LlmService.rerank(rerank)
      expect(answer.results).toHaveLength(2)
      const stats = yield* Router.stats
      expect(stats.deployments.map((d) => d.successes)).toEqual([0, 1])
      const error = yield* Effect.flip(LlmService.speech({ model: "tts", input: "x", voice: "v" }))
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toContain(`"speech"`)
      expect(error.message).toContain("chat-only, reranker")
    }).pipe(
      Effect.provide(
        routerOf([
          Deployment.make({ name: "chat-only", layer: LlmTest.layer({ operations: ["chat", "chatStream"] }) }),
          Deployment.make({ name: "reranker", layer: LlmTest.layer({ operations: ["rerank"] }) })
        ])
      )
    )
  )

  it.effect("model groups route the other operations too, each deployment sending its own model", () =>
    Effect.gen(function* () {
      const test = yield* LlmTest.make({ operations: ["rerank"] })
      const answer = yield* Effect.provide(
        LlmService.rerank({ ...rerank, model: "reranker" }),
        Router.layer({
          deployments: [
            Deployment.make({
              name: "cohere",
              group: "reranker",
              model: "rerank-v3.5",
              layer: Layer.succeed(LlmService.LlmService, test.service)
            })
          ],
          strategy: Strategy.fallback()
        })
      )
      expect(answer.model).toBe("rerank-v3.5")
      const missing = yield* Effect.flip(
        Effect.provide(
          LlmService.moderate({ model: "nope", input: "x" }),
          Router.layer({
            deployments: [Deployment.make({ name: "m", group: "mod", layer: LlmTest.layer() })],
            strategy: Strategy.fallback()
          })
        )
      )
      expect(missing._tag).toBe("NotFound")
    })
  )

  it.effect("speech fails over when the audio fails before its first byte", () =>
    Effect.gen(function* () {
      const answer = yield* LlmService.speech({ model: "tts", input: "hello", voice: "v" })
      expect(yield* bytesOf(answer.audio)).toEqual([1, 2, 3])
      const stats = yield* Router.stats
      expect(stats.deployments.map((d) => [d.failures, d.successes])).toEqual([
        [1, 0],
        [0, 1]
      ])
    }).pipe(
      Effect.provide(
        routerOf([
          speaking("broken", Stream.fail(new LiterLlmError.Network({ message: "reset before any audio" }))),
          speaking("fine", Stream.make(new Uint8Array([1, 2]), new Uint8Array([3])))
        ])
      )
    )
  )

  it.effect("speech that breaks after its first byte ends with Streaming, and nobody else is asked", () =>
    Effect.gen(function* () {
      const answer = yield* LlmService.speech({ model: "tts", input: "hello", voice: "v" })
      const error = yield* Effect.flip(bytesOf(answer.audio))
      expect(error._tag).toBe("Streaming")
      const stats = yield* Router.stats
      expect(stats.deployments.map((d) => d.requests)).toEqual([1, 0])
    }).pipe(
      Effect.provide(
        routerOf([
          speaking(
            "partial",
            Stream.concat(
              Stream.make(new Uint8Array([9])),
              Stream.fail(new LiterLlmError.Network({ message: "reset mid-audio" }))
            )
          ),
          speaking("fine", Stream.make(new Uint8Array([1])))
        ])
      )
    )
  )

  it.effect("bad input is refused by the router before any deployment is asked", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(LlmService.rerank({ ...rerank, top_n: 0 }))
      expect(error._tag).toBe("BadRequest")
      expect((yield* Router.stats).deployments[0].requests).toBe(0)
    }).pipe(Effect.provide(routerOf([Deployment.make({ name: "a", layer: LlmTest.layer() })])))
  )

  it.effect("route facts price each answer at the deployment that gave it: tokens, or a transcription's hours", () =>
    Effect.gen(function* () {
      const routes: Array<Router.Route> = []
      const spans: Array<Tracer.Span> = []
      const tracer = yield* recordingTracer(spans)
      const heard = Router.observeRoutes((route) => Effect.sync(() => void routes.push(route)))
      // LlmTest reports (query + documents) / 4 = 8 tokens for this rerank, and bytes / 16000 as seconds of audio
      yield* heard(LlmService.rerank(rerank))
      // asked of the group "stt": priced as whisper-1 ($0.36 an hour), the model its deployment sends upstream
      yield* heard(LlmService.transcribe({ model: "stt", file: new Uint8Array(16000 * 60) })).pipe(
        Effect.withTracer(tracer)
      )
      yield* heard(LlmService.moderate({ model: "m", input: "x" }))
      expect(routes.map((r) => [r.deployment, r.group])).toEqual([
        ["reranker", "rr"],
        ["whisper", "stt"],
        ["moderator", "m"]
      ])
      expect(routes[0]!.cost).toBeCloseTo(0.8, 9)
      expect(routes[1]!.cost).toBeCloseTo(0.006, 9)
      // a moderation reports no usage and has no price: no cost rather than a guess
      expect(routes[2]!.cost).toBeUndefined()
      const span = spans.find((s) => s.name === "Router.transcribe")
      expect(span?.attributes.get("ell.route.cost")).toBeCloseTo(0.006, 9)
    }).pipe(
      Effect.provide(
        routerOf([
          Deployment.make({
            name: "reranker",
            group: "rr",
            pricing: { inputPerMillion: 100_000, outputPerMillion: 0 },
            layer: LlmTest.layer()
          }),
          Deployment.make({ name: "whisper", group: "stt", model: "whisper-1", layer: LlmTest.layer() }),
          Deployment.make({ name: "moderator", group: "m", layer: LlmTest.layer() })
        ])
      )
    )
  )
})
