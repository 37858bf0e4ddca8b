/**
 * Keeping an API key out of what leaves the process: error messages built from what an upstream sent, and the
 * attributes of the platform's HTTP client spans.
 *
 * An upstream or a proxy may echo the key back — in a `www-authenticate` header, a debug header, an error body, a
 * stream event. Messages are scrubbed of the key's text; span attributes cannot be scrubbed after the fact (the
 * platform records response headers before the caller sees the response), so every header whose name is not known
 * to carry protocol metadata is recorded as `<redacted>`, through the platform's public `currentRedactedNames`.
 */
import * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as LiterLlmError from "../LiterLlmError.js"

const redactedText = "<redacted>"

/**
 * The shortest API key {@link scrubSecret} removes from messages.
 *
 * @since 0.1.0
 * @category secrets
 */
export const minScrubbedKeyLength = 8

/**
 * Returns a function that removes `secret` from an error's `message`, and from the message of its `cause` (a JSON
 * parser's message quotes the text it choked on), in case an upstream or a proxy echoed the key back. The error
 * keeps its class and every other field. Cheap when the key is absent: one `includes` per text.
 *
 * A message may quote a body cut at a length limit, so a key cut short is removed too: any run of text matching the
 * key's first {@link minScrubbedKeyLength} characters or more.
 *
 * Keys shorter than {@link minScrubbedKeyLength} are left alone: those are placeholders that local servers accept
 * ("ollama", "EMPTY"), and replacing them would also blank ordinary words such as a provider name in the message.
 *
 * @since 0.1.0
 * @category secrets
 */
export const scrubSecret = (
  secret: Redacted.Redacted<string> | undefined
): ((error: LiterLlmError.LiterLlmError) => LiterLlmError.LiterLlmError) => {
  const value = secret === undefined ? "" : Redacted.value(secret)
  if (value.length < minScrubbedKeyLength) return (error) => error
  const head = value.slice(0, minScrubbedKeyLength)
  const clean = (text: string) => {
    let out = ""
    let from = 0
    for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, from)) {
      let end = at + head.length
      while (end - at < value.length && text.charCodeAt(end) === value.charCodeAt(end - at)) end++
      out += text.slice(from, at) + redactedText
      from = end
    }
    return out + text.slice(from)
  }
  return (error) => {
    const cause: unknown = "cause" in error ? error.cause : undefined
    const causeText = cause instanceof Error ? cause.message : typeof cause === "string" ? cause : undefined
    const dirtyCause = causeText !== undefined && causeText.includes(head)
    if (!dirtyCause && !error.message.includes(head)) return error
    const copy = Object.assign(Object.create(Object.getPrototypeOf(error)), error, { message: clean(error.message) })
    // the cause's own structure may hold the key in more places than its message, so it is replaced by its text
    if (dirtyCause) copy.cause = clean(causeText)
    return copy as LiterLlmError.LiterLlmError
  }
}

/**
 * Header names whose values are protocol metadata, never credentials: these keep their values in the platform's
 * client spans. Every other header of our requests and of their answers is shown as `<redacted>`, because an upstream
 * or a proxy may echo the key back in any header (`www-authenticate`, a debug header), and the platform records
 * response headers before we see them.
 */
const plainHeaders = new RegExp(
  "^(?!(?:" +
    [
      "accept",
      "accept-encoding",
      "age",
      "alt-svc",
      "anthropic-beta",
      "anthropic-organization-id",
      "anthropic-ratelimit-[a-z0-9-]+",
      "anthropic-version",
      "cache-control",
      "cf-cache-status",
      "cf-ray",
      "connection",
      "content-encoding",
      "content-length",
      "content-type",
      "date",
      "keep-alive",
      "openai-model",
      "openai-organization",
      "openai-processing-ms",
      "openai-project",
      "openai-version",
      "request-id",
      "retry-after",
      "retry-after-ms",
      "server",
      "strict-transport-security",
      "traceparent",
      "tracestate",
      "transfer-encoding",
      "user-agent",
      "vary",
      "via",
      "x-content-type-options",
      "x-envoy-upstream-service-time",
      "x-ratelimit-[a-z0-9-]+",
      "x-request-id"
    ].join("|") +
    ")$)"
)

/**
 * Runs an HTTP call with the secret header names and every header outside the metadata list redacted in its spans.
 *
 * @since 0.1.0
 * @category secrets
 */
export const withSecretsRedacted = <A, E, R>(secretHeaders: ReadonlyArray<string>, effect: Effect.Effect<A, E, R>) =>
  Effect.locallyWith(effect, Headers.currentRedactedNames, (names) => [...names, ...secretHeaders, plainHeaders])
