/**
 * The HTTP plumbing every provider client shares, as one namespace: an `Endpoint` (base URL, validated headers, auth,
 * timeout), JSON requests decoded with a schema, and streaming requests turned into server-sent events — with every
 * failure mapped to a `LiterLlmError`, never a platform error, a `ParseError` or a defect.
 *
 * The code lives in modules of one idea each, and each module's doc states the mapping rules its code applies:
 * - `httpEndpoint.ts`: the endpoint, its header validation, auth and extra headers;
 * - `httpRequest.ts`: one request built, sent (non-2xx answers as their error) and its body read within the cap;
 * - `httpErrors.ts`: transport failures and timeouts as `LiterLlmError`s (`Network`, `Timeout`, …);
 * - `jsonDecode.ts`: JSON text decoded with a schema, a failure as `Serialization` naming the path;
 * - `httpJson.ts`: a request answered with JSON; `httpSse.ts`: a request answered with server-sent events;
 * - `httpBinary.ts` (imported on its own, a user of this module like the providers): bytes and multipart uploads.
 *
 * This module only re-exports, rather than having every importer take the module it needs: a provider uses four or
 * five of them together, and `Http.json`, `Http.sse`, `Http.makeEndpoint` say at the call site that they are one
 * plumbing better than `HttpJson.json` or `HttpSse.sse` would. The split serves whoever reads or changes the
 * plumbing and leaves its users untouched. The modules import each other, never this one, so there is no import
 * cycle; the names are listed one by one so that the namespace offers what it offered before the split and not the
 * helpers a module exports only for its neighbours (such as `causeDetail`).
 *
 * API keys are `Redacted` until the moment the header is written, their header names are added to the platform's
 * redacted header names (so spans show `<redacted>`), and no error message quotes a header value or a query string.
 * Errors of `json` and `sse` pass through the endpoint's `scrub`, which replaces the key should an upstream echo it
 * back in a body; a provider that builds errors from event payloads itself maps its whole stream through `scrub`
 * too.
 *
 * @since 0.1.0
 */

/**
 * Re-exported from the modules that define them, for the providers and tests that reach them through this one.
 *
 * @since 0.1.0
 */
export { defaultMaxBodySize, maxErrorBodyBytes } from "./body.js"
export { minScrubbedKeyLength, scrubSecret } from "./secrets.js"

/**
 * The endpoint: where requests go, with which headers (httpEndpoint.ts).
 *
 * @since 0.1.0
 */
export { type Auth, type Endpoint, type EndpointOptions, makeEndpoint, validateHeader } from "./httpEndpoint.js"

/**
 * One request: built, sent, its body read (httpRequest.ts); its failures mapped (httpErrors.ts).
 *
 * @since 0.1.0
 */
export { makeRequest, readBody, type RequestSpec, send } from "./httpRequest.js"
export { timeoutError, transportError } from "./httpErrors.js"

/**
 * JSON text decoded with a schema (jsonDecode.ts).
 *
 * @since 0.1.0
 */
export { decodeJson, decodeUnknownEither, jsonDecoder, parseJson, serializationError } from "./jsonDecode.js"

/**
 * The two kinds of request the providers make: JSON (httpJson.ts) and server-sent events (httpSse.ts).
 *
 * @since 0.1.0
 */
export { json } from "./httpJson.js"
export { sse, type SseOptions } from "./httpSse.js"
