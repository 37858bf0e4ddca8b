/**
 * effect-liter-llm/ai: the library as @effect/ai's `LanguageModel` and `EmbeddingModel`, and @effect/ai providers
 * as deployments. A separate entry point, so that the main one never loads @effect/ai (an optional peer).
 *
 * @since 0.2.0
 */

/** @since 0.2.0 */
export * as EffectAi from "./EffectAi.js"
