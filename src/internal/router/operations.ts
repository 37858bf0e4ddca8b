/**
 * The router's other operations: images, speech, transcription, moderation and rerank go through the same walk as
 * chat — strategy order, model groups, per-request routing, failover, circuits — each as one span (`Router.image`,
 * …). None is hedged (an image or a transcription asked twice is paid twice). A deployment that cannot do an
 * operation is skipped (see `walk.ts`); when none can, the caller gets a `BadRequest` naming the operation.
 *
 * Speech fails over before its first byte, as chat streams before their first chunk: the first piece of audio is
 * pulled inside the attempt, under the attempt's timeout; once it has arrived the deployment owns the rest, and a
 * later failure ends the audio with `Streaming`. The rest of the answer is read from a scope that the audio stream
 * closes when it ends, fails or is interrupted — so run or interrupt the stream you get, or its connection stays open
 * until the process lets it go.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import type * as Speech from "../../Speech.js"
import * as Ops from "../middleware/ops.js"
import { call, type Core } from "./attempt.js"
import type * as RouterStream from "./stream.js"
import * as Route from "./route.js"
import { fresh, routeIn } from "./walk.js"

type E = LiterLlmError.LiterLlmError

type Operation = <A>(
  name: string,
  problem: () => LiterLlmError.BadRequest | undefined,
  routed: () => Effect.Effect<A, E>
) => Effect.Effect<A, E>

/** The first piece of the audio, pulled in a scope of its own; the audio handed on starts with it and closes it. */
const firstByte = (deployment: string, answer: Speech.SpeechResponse): Effect.Effect<Speech.SpeechResponse, E> =>
  Effect.flatMap(Scope.make(), (scope) =>
    Effect.gen(function* () {
      const pull = yield* Scope.extend(Stream.toPull(answer.audio), scope)
      const first = yield* pullFirst(pull)
      const rest = Stream.repeatEffectChunkOption(
        Effect.mapError(
          pull,
          Option.map((error) => broke(deployment, error))
        )
      )
      const audio = Stream.concat(Stream.fromChunk(first), rest).pipe(Stream.ensuring(Scope.close(scope, Exit.void)))
      return { contentType: answer.contentType, audio }
    }).pipe(Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause))))
  )

const pullFirst = (
  pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>>
): Effect.Effect<Chunk.Chunk<Uint8Array>, E> =>
  Effect.matchEffect(pull, {
    onFailure: Option.match({
      // an answer with no audio at all is not an answer: another deployment may do better
      onNone: () => Effect.fail(new LiterLlmError.Network({ message: "the speech answer ended before any audio" })),
      onSome: Effect.fail
    }),
    onSuccess: (chunk) => (Chunk.isEmpty(chunk) ? pullFirst(pull) : Effect.succeed(chunk))
  })

const broke = (deployment: string, error: E): E =>
  error._tag === "Streaming"
    ? error
    : new LiterLlmError.Streaming({
        provider: deployment,
        cause: error,
        message: `the audio from deployment "${deployment}" failed after it started (${error._tag}: ${error.message}); the partial audio is incomplete and was not asked of another deployment`
      })

/** The five operations of a built router. */
export const make = (
  core: Core,
  operation: Operation,
  planOf: (model: string | undefined) => Effect.Effect<RouterStream.Plan, E>
): Pick<LlmService.Service, "image" | "speech" | "transcribe" | "moderate" | "rerank"> => {
  const routed =
    <Req extends { readonly model: string }, A>(
      name: string,
      spec: Ops.Spec<Req, A>,
      run: (service: LlmService.Service, request: Req, deployment: string) => Effect.Effect<A, E>
    ) =>
    (request: Req): Effect.Effect<A, E> =>
      operation(
        name,
        () => spec.problem(request),
        () =>
          Effect.flatMap(planOf(request.model), (plan) =>
            Effect.flatMap(Ref.make(fresh), (walk) =>
              routeIn(
                core,
                {
                  run: call((member) => run(member.service, request, member.name)),
                  cost: undefined,
                  hedge: false,
                  ...plan
                },
                walk
              ).pipe(
                // the route's facts, as for chat: the answer priced at the deployment that gave it (the model it sent
                // upstream, its prices) the way Budget prices it — by the hour of audio or by reported tokens
                Effect.tap((answer) =>
                  Effect.flatMap(Ref.get(walk), (w) =>
                    Route.annotate(
                      Route.factsPriced(core, w, (member) =>
                        Ops.answerCost(spec, member.model ?? request.model, member.pricing, answer)
                      )
                    )
                  )
                ),
                Effect.tapError(() => Effect.flatMap(Ref.get(walk), Route.annotateFailed))
              )
            )
          )
      )
  return {
    image: routed("Router.image", Ops.specs.image, (service, request) => service.image(request)),
    moderate: routed("Router.moderate", Ops.specs.moderate, (service, request) => service.moderate(request)),
    rerank: routed("Router.rerank", Ops.specs.rerank, (service, request) => service.rerank(request)),
    transcribe: routed("Router.transcribe", Ops.specs.transcribe, (service, request) => service.transcribe(request)),
    speech: routed("Router.speech", Ops.specs.speech, (service, request, deployment) =>
      Effect.flatMap(service.speech(request), (answer) => firstByte(deployment, answer))
    )
  }
}
