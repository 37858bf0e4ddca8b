/**
 * A request answered with JSON: sent, read within the endpoint's cap, decoded with a schema, all within the
 * endpoint's timeout, and every error passed through the endpoint's `scrub`.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Schema from "effect/Schema"
import type * as LiterLlmError from "../LiterLlmError.js"
import type { Endpoint } from "./httpEndpoint.js"
import { timeoutError } from "./httpErrors.js"
import { makeRequest, readBody, type RequestSpec, send } from "./httpRequest.js"
import { decodeJson, parseJson } from "./jsonDecode.js"
import * as StreamError from "./streamError.js"

/**
 * A 200 answer that does not decode may be an error object sent with the wrong status (some OpenAI-compatible
 * servers and proxies do): mapped like the same error inside a stream, rather than reported as a body we could not
 * read. Looked at only after decoding failed, so an answer that decodes is never second-guessed.
 */
const errorInBody = (text: string, provider: string): Effect.Effect<never, LiterLlmError.LiterLlmError> | undefined =>
  Either.match(parseJson(text, provider, "the response"), {
    onLeft: () => undefined,
    onRight: (json) => {
      const mapped = StreamError.fromEvent(provider, "", json)
      return mapped === undefined ? undefined : Effect.flatMap(mapped, Effect.fail)
    }
  })

/**
 * Sends a request and decodes the JSON answer with `schema`, within the endpoint's timeout.
 *
 * @since 0.1.0
 * @category requests
 */
export const json = <A, I, R>(
  client: HttpClient.HttpClient,
  endpoint: Endpoint,
  spec: RequestSpec,
  schema: Schema.Schema<A, I, R>
): Effect.Effect<A, LiterLlmError.LiterLlmError, R> => {
  const built = makeRequest(endpoint, spec, "application/json")
  if (Either.isLeft(built)) return Effect.fail(endpoint.scrub(built.left))
  const effect = send(client, endpoint, built.right).pipe(
    Effect.flatMap((response) => readBody(endpoint, response, `${spec.method} ${spec.path}`)),
    Effect.flatMap((text) =>
      decodeJson(schema, text, endpoint.provider, `the response of ${spec.path}`).pipe(
        Effect.catchTag("Serialization", (error) => errorInBody(text, endpoint.provider) ?? Effect.fail(error))
      )
    )
  )
  const timed =
    endpoint.timeout === undefined
      ? effect
      : Effect.timeoutFail(effect, {
          duration: endpoint.timeout,
          onTimeout: () => timeoutError(endpoint, `${spec.method} ${spec.path}`)
        })
  return Effect.mapError(timed, endpoint.scrub)
}
