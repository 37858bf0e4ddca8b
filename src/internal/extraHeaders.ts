/**
 * HTTP headers added to the provider calls made inside an effect — how a router deployment's `headers` reach the
 * provider below it without the provider knowing about deployments. A `Context.Reference`, read by the HTTP helper
 * (`http.ts`) for every request it builds, so every provider honours it, including providers inside a nested router.
 *
 * Names are kept in lower case, so that an inner setting replaces an outer one whatever their spelling; an inner
 * deployment's headers win over an outer router's. The HTTP helper never lets them replace the endpoint's credential
 * headers, and spans show their values as `<redacted>` unless the name is known protocol metadata (`secrets.ts`).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/** A header set, names in lower case. */
export type Headers = Readonly<Record<string, string>>

const none: Headers = {}

/** The extra headers of the calls in the current context; none unless provided. */
export class ExtraHeaders extends Context.Reference<ExtraHeaders>()("effect-liter-llm/ExtraHeaders", {
  defaultValue: (): Headers => none
}) {}

/** `headers` with every name in lower case. */
export const normalize = (headers: Readonly<Record<string, string>>): Headers => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value
  return out
}

/** Runs `effect` with `headers` (lower-case names) added over the ones already in context. */
export const provide =
  (headers: Headers) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(ExtraHeaders, (outer) =>
      Effect.provideService(effect, ExtraHeaders, outer === none ? headers : { ...outer, ...headers })
    )

/** Runs `stream` with `headers` (lower-case names) added over the ones already in context. */
export const provideStream =
  (headers: Headers) =>
  <A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
    Stream.unwrap(
      Effect.map(ExtraHeaders, (outer) =>
        Stream.provideService(stream, ExtraHeaders, outer === none ? headers : { ...outer, ...headers })
      )
    )
