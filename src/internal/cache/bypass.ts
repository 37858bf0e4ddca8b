/**
 * Whether the calls inside an effect skip every cache on their way: not looked up, not stored, not shared with
 * callers in flight — answered by the service below. A `Context.Reference`, so code deep in an application (or the
 * health check's probes, which must reach the deployment itself) can say so without threading an option.
 */
import * as Context from "effect/Context"

/** The flag; `false` unless provided. */
export class Bypass extends Context.Reference<Bypass>()("effect-liter-llm/LlmCache/Bypass", {
  defaultValue: (): boolean => false
}) {}
