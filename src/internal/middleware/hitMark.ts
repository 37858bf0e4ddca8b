/**
 * How the cache tells the pieces outside it that what it answered did not go upstream.
 *
 * For users, it marks the current span `liter_llm.cache.hit` (the telemetry span when telemetry is outside it, else
 * the caller's). For the pieces themselves a zeroed usage says it for a call; but a stream replayed from the cache and
 * abandoned before its usage chunk carries no usage at all, and telemetry would estimate what it cost. So the
 * telemetry stream wrapper provides a {@link HitMark} below it, and the cache sets it: a channel of their own, rather
 * than reading the span's attributes back, which a tracer need not keep.
 */
import * as Context from "effect/Context"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

/** Whether the stream being answered is a cache hit (a replay, or a share of another caller's stream). */
export interface Mark {
  hit: boolean
}

/** The mark of the stream below a telemetry span; made per stream run by the telemetry piece. */
export class HitMark extends Context.Tag("effect-liter-llm/internal/HitMark")<HitMark, Mark>() {}

/**
 * Marks what the fiber is answering as a hit, or (`false`) as a call after all: its current span, and the
 * {@link HitMark} above it, if any. Not `Effect.annotateCurrentSpan`: without a span in context it builds (and drops)
 * an exception with a stack trace, which cost more than a whole cache hit.
 */
export const markHit = (fiber: Fiber.RuntimeFiber<unknown, unknown>, hit: boolean): void => {
  const context = fiber.currentContext
  const span = Context.getOption(context, Tracer.ParentSpan)
  if (Option.isSome(span) && span.value._tag === "Span") span.value.attribute("liter_llm.cache.hit", hit)
  const mark = Context.getOption(context, HitMark)
  if (Option.isSome(mark)) mark.value.hit = hit
}
