/**
 * Schemas for the options middleware layers share (prices, durations), checked with `Validate.options` when a layer
 * is built, so that a bad value fails the build naming the option instead of meaning "no limit".
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { NonNegative } from "../validate.js"

/** A price: rates in USD per million tokens, finite and not negative. */
export const PricingSchema = Schema.Struct({
  inputPerMillion: NonNegative,
  outputPerMillion: NonNegative,
  cachedInputPerMillion: Schema.optional(NonNegative)
})

/** A duration input (`"30 seconds"`, millis, a `Duration`) that decodes to a finite length above zero. */
export const PositiveDuration = Schema.Unknown.pipe(
  Schema.filter((input) =>
    Option.match(Duration.decodeUnknown(input), {
      onNone: () => `expected a duration such as "30 seconds"`,
      onSome: (duration) =>
        Duration.isFinite(duration) && Duration.toMillis(duration) > 0 ? true : "expected a finite duration above zero"
    })
  )
)
