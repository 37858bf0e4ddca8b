/**
 * effect-liter-llm: one typed Effect interface to many LLM providers, and a router across their deployments.
 *
 * `FakeUpstream` (a scriptable OpenAI/Anthropic-compatible server on 127.0.0.1, for tests and demos) is not part of
 * this entry point: it needs Node's `http` module and `@effect/platform-node`, which the rest of the library does
 * not. Import it from `effect-liter-llm/FakeUpstream`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Chat from "./Chat.js"
/** @since 0.1.0 */
export * as Embedding from "./Embedding.js"
/** @since 0.1.0 */
export * as LiterLlmError from "./LiterLlmError.js"
/** @since 0.1.0 */
export * as LlmService from "./LlmService.js"
/** @since 0.1.0 */
export * as Models from "./Models.js"
/** @since 0.1.0 */
export * as LlmTest from "./LlmTest.js"
/** @since 0.1.0 */
export * as Pricing from "./Pricing.js"
/** @since 0.1.0 */
export * as Hooks from "./Hooks.js"
/** @since 0.1.0 */
export * as Telemetry from "./Telemetry.js"
/** @since 0.1.0 */
export * as Budget from "./Budget.js"
/** @since 0.1.0 */
export * as HealthCheck from "./HealthCheck.js"
/** @since 0.1.0 */
export * as Deployment from "./Deployment.js"
/** @since 0.1.0 */
export * as Strategy from "./Strategy.js"
/** @since 0.1.0 */
export * as Router from "./Router.js"
/** @since 0.1.0 */
export * as RouterStore from "./RouterStore.js"
/** @since 0.1.0 */
export * as RateLimit from "./RateLimit.js"
/** @since 0.1.0 */
export * as Anthropic from "./providers/Anthropic.js"
/** @since 0.1.0 */
export * as Gemini from "./providers/Gemini.js"
/** @since 0.1.0 */
export * as LlmCache from "./LlmCache.js"
/** @since 0.1.0 */
export * as OpenAiCompatible from "./providers/OpenAiCompatible.js"
/** @since 0.1.0 */
export * as Provider from "./providers/Provider.js"
/** @since 0.1.0 */
export * as LlmClient from "./LlmClient.js"
/** @since 0.2.0 */
export * as Image from "./Image.js"
/** @since 0.2.0 */
export * as Speech from "./Speech.js"
/** @since 0.2.0 */
export * as Transcription from "./Transcription.js"
/** @since 0.2.0 */
export * as Moderation from "./Moderation.js"
/** @since 0.2.0 */
export * as Rerank from "./Rerank.js"
/** @since 0.2.0 */
export * as Rerankers from "./providers/Rerankers.js"
