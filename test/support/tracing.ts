/** A tracer for tests: Effect's own spans (public `Tracer.make` over the current tracer), each one kept for inspection. */
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"

/** The current tracer, recording every span it starts into `spans`; provide it with `Effect.withTracer`. */
export const recordingTracer = (spans: Array<Tracer.Span>): Effect.Effect<Tracer.Tracer> =>
  Effect.map(Effect.tracer, (base) =>
    Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        const span = base.span(name, parent, context, links, startTime, kind, options)
        spans.push(span)
        return span
      },
      context: base.context
    })
  )
