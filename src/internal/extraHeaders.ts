/**
 * HTTP headers for the provider clients built inside an effect — how a router deployment's `headers` reach the
 * provider below it without the provider knowing about deployments. A `Context.Reference`, read by the HTTP helper
 * (`httpEndpoint.ts`) when a provider builds its endpoint, so every provider honours it, including providers inside a
 * nested router.
 *
 * Read at build time rather than per request: providing a context value around every call costs more than the rest
 * of the router's work on a call (measured ~20 µs a call against ~1 µs for the request rewrites), while the headers
 * of a deployment never change. So they apply to the provider layers a router builds — not to a service built before
 * and handed over in `Layer.succeed`.
 *
 * Names are kept in lower case, so that an inner setting replaces an outer one whatever their spelling; an inner
 * deployment's headers win over an outer router's. The HTTP helper never lets them replace the endpoint's credential
 * header, and spans show their values as `<redacted>` unless the name is known protocol metadata (`secrets.ts`).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"

/** A header set, names in lower case. */
export type Headers = Readonly<Record<string, string>>

/** No extra headers: the default. */
export const none: Headers = {}

/** The extra headers of the provider clients built in the current context; none unless provided. */
export class ExtraHeaders extends Context.Reference<ExtraHeaders>()("effect-liter-llm/ExtraHeaders", {
  defaultValue: (): Headers => none
}) {}

/** `headers` with every name in lower case. */
export const normalize = (headers: Readonly<Record<string, string>>): Headers => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value
  return out
}

/** Runs `effect` (a layer's build) with `headers` (lower-case names) added over the ones already in context. */
export const provide =
  (headers: Headers) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(ExtraHeaders, (outer) =>
      Effect.provideService(effect, ExtraHeaders, outer === none ? headers : { ...outer, ...headers })
    )
