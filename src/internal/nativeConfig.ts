/**
 * What the `layerConfig` of a native client (Anthropic, Gemini) reads from `Config`: the API key from
 * `<PREFIX>_API_KEY` and an optional host from `<PREFIX>_BASE_URL`.
 *
 * A key that is missing, or set but empty or blank, is an `Authentication` error naming the variable, at layer
 * construction — a blank key would otherwise only show up as a 401 on the first request.
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as LiterLlmError from "../LiterLlmError.js"

/**
 * The key and base URL read from config for a native provider.
 *
 * @since 0.1.0
 * @category config
 */
export const readNativeConfig = (
  provider: string,
  prefix: string,
  layerName: string
): Effect.Effect<
  { readonly apiKey: Redacted.Redacted<string>; readonly baseUrl: string | undefined },
  LiterLlmError.Authentication
> =>
  Effect.gen(function* () {
    const variable = `${prefix}_API_KEY`
    const apiKey = yield* Effect.orElseSucceed(Config.option(Config.redacted(variable)), () =>
      Option.none<Redacted.Redacted<string>>()
    )
    if (Option.isNone(apiKey) || Redacted.value(apiKey.value).trim() === "") {
      return yield* new LiterLlmError.Authentication({
        provider,
        message: `${variable} is not set${
          Option.isSome(apiKey) ? " (it is empty)" : ""
        }; set it to the provider's API key, or pass apiKey to ${layerName}`
      })
    }
    const baseUrl = yield* Effect.orElseSucceed(Config.option(Config.string(`${prefix}_BASE_URL`)), () =>
      Option.none<string>()
    )
    return { apiKey: apiKey.value, baseUrl: Option.getOrUndefined(baseUrl) }
  })
