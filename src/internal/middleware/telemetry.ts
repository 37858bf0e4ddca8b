/**
 * Telemetry around the calls of a service (see `Telemetry.ts` for what a span and the metrics record). Spans come
 * from `Effect.useSpan` and `Stream.withSpan`: the caller's span is their parent, they are the parent of whatever
 * runs below, and they end on every exit, interruption included. What an ended call leaves on its span, in the
 * metrics and in the cost sinks is the recorder's (`../telemetry/recorder.ts`); what each kind of call's end tells
 * it, `../telemetry/outcomes.ts`.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as Chat from "../../Chat.js"
import type * as Embedding from "../../Embedding.js"
import type * as LiterLlmError from "../../LiterLlmError.js"
import type * as LlmService from "../../LlmService.js"
import type * as Telemetry from "../../Telemetry.js"
import * as Attributes from "../telemetry/attributes.js"
import * as Outcomes from "../telemetry/outcomes.js"
import * as Recorder from "../telemetry/recorder.js"
import * as Ops from "./ops.js"
import * as StreamSettle from "./stream.js"

/** The other operations' names on spans and metrics, by their name on `LlmService`. */
const opNames: Record<Ops.Name, Recorder.Operation> = {
  image: "image",
  speech: "speech",
  transcribe: "transcription",
  moderate: "moderation",
  rerank: "rerank"
}

/** Attributes set through `Attributes`' setters, collected into a record for span options. */
const collect = (set: (target: Attributes.Target) => void): Record<string, unknown> => {
  const attributes: Record<string, unknown> = {}
  set({ attribute: (key, value) => (attributes[key] = value) })
  return attributes
}

/** Traces, measures and prices every call of `below` but `listModels`. */
export const make = (options: Telemetry.Options) => (below: LlmService.Service) => {
  const { deployment, handlesFor, record } = Recorder.make(options)
  const recordContent = options.recordContent ?? false
  const base: Record<string, unknown> = { deployment }
  if (options.provider !== undefined) {
    base["gen_ai.provider.name"] = options.provider
    base["gen_ai.system"] = options.provider
  }
  const baseEntries = Object.entries(base)
  // No stack capture: a middleware's call site is always this module, and a stack per call costs more than the rest.
  const spanOptions = (attributes: Record<string, unknown>): Tracer.SpanOptions => ({
    kind: "client",
    captureStackTrace: false,
    attributes: { ...base, ...attributes }
  })
  // For calls: the same options, made once. Their attributes are set on the span itself (no record built and copied
  // per call), inside the span's effect, so a request an untyped caller built wrong still ends the span.
  const callSpanOptions: Tracer.SpanOptions = { kind: "client", captureStackTrace: false }
  const annotateBase = (span: Tracer.Span) => {
    for (const [key, value] of baseEntries) span.attribute(key, value)
  }

  const chatOutcome = Outcomes.chat(recordContent)

  /**
   * Runs `call` in a client span that is the parent of whatever runs below, and records its end on the span. The
   * request's attributes are set inside the span's effect: reading a request an untyped caller built wrong may throw,
   * and the throw is then a defect of this call, recorded on a span that still ends.
   */
  const traced = <A>(
    operation: Recorder.Operation,
    model: string,
    annotate: (span: Tracer.Span) => void,
    call: Effect.Effect<A, LiterLlmError.LiterLlmError>,
    outcomeOf: (exit: Exit.Exit<A, LiterLlmError.LiterLlmError>) => Recorder.Outcome
  ) =>
    Effect.useSpan(`${operation} ${model}`, callSpanOptions, (span) =>
      Effect.clockWith((clock) => {
        const start = clock.unsafeCurrentTimeNanos()
        return Effect.suspend(() => {
          annotateBase(span)
          annotate(span)
          return Effect.withParentSpan(call, span)
        }).pipe(Effect.onExit((exit) => record(span, operation, model, start, outcomeOf(exit))))
      })
    )

  // Suspended: the span's name reads the request, which an untyped caller may have built wrong; a throw there is a
  // defect of this call, never an exception out of `chat`.
  const chat = (request: Chat.ChatCompletionRequest) =>
    Effect.suspend(() =>
      traced(
        "chat",
        request.model,
        (span) => Attributes.chatRequest(span, request, recordContent),
        below.chat(request),
        chatOutcome
      )
    )

  const embed = (request: Embedding.EmbeddingRequest) =>
    Effect.suspend(() =>
      traced(
        "embeddings",
        request.model,
        (span) => Attributes.embedRequest(span, request, recordContent),
        below.embed(request),
        Outcomes.embed
      )
    )

  // The stream's span is made by `Stream.withSpan`, which ends it with the stream; inside, it is the current span,
  // and the stream is accounted on it (first chunk, usage, cost) before it ends.
  const chatStream = (request: Chat.ChatCompletionRequest) =>
    Stream.suspend(() =>
      StreamSettle.settle(
        Effect.all([Clock.currentTimeNanos, Effect.orDie(Effect.currentSpan), Ref.make(false)]),
        () => below.chatStream(request),
        ([start, span], outcome) =>
          record(span, "chat", request.model, start, Outcomes.stream(span, request, outcome, recordContent)),
        // the first chunk's time, checked in the step that records each chunk rather than in a stream layer of its own
        ([start, span, seen]) =>
          Effect.whenEffect(
            Effect.flatMap(Clock.currentTimeNanos, (now) =>
              Effect.zipRight(
                Effect.sync(() => span.event("gen_ai.first_chunk", now)),
                Metric.update(handlesFor("chat", request.model).timeToFirstChunk, Number(now - start) / 1e9)
              )
            ),
            Ref.getAndSet(seen, true).pipe(Effect.map((already) => !already))
          )
      ).pipe(
        Stream.withSpan(
          `chat ${request.model}`,
          spanOptions({
            ...collect((target) => Attributes.chatRequest(target, request, recordContent)),
            "gen_ai.request.stream": true
          })
        )
      )
    )

  // The other operations: a span and metrics per call, tokens where the answer reports them, a transcription's cost
  // by its hours of audio (speech is traced until its audio starts; its bytes stream on outside the span).
  const others = Ops.wrapAll(
    below,
    (name, spec, call) => (request) =>
      Effect.suspend(() =>
        traced(
          opNames[name],
          request.model,
          (span) => {
            span.attribute("gen_ai.operation.name", opNames[name])
            span.attribute("gen_ai.request.model", request.model)
          },
          call(request),
          (exit) => Outcomes.operation(spec, request.model, exit)
        )
      )
  )

  const service: LlmService.Service = { ...below, ...others, chat, embed, chatStream }
  return service
}
