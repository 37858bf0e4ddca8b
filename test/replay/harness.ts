/**
 * Replays one fixture in every split mode and checks that a client call gives the same result each time: the body
 * reaching the client whole, one byte at a time, or cut inside UTF-8 characters and line breaks must not change what
 * the client decodes, nor whether (and how) it fails.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import type { Fixture } from "./fixture.js"
import * as Server from "./server.js"
import * as Split from "./split.js"

/**
 * Runs `call` against a fresh server per mode (the base URL it gets has no path; add `/v1` or what the client needs),
 * asserts every mode's outcome equals the first mode's, and returns that outcome as an `Either`.
 */
export const replay = <A, E, R>(
  fixture: Fixture,
  call: (url: string) => Effect.Effect<A, E, R>,
  modes: ReadonlyArray<Split.Mode> = Split.allModes
): Effect.Effect<Either.Either<A, E>, Error, R | Scope.Scope> =>
  Effect.gen(function* () {
    const outcomes: Array<readonly [Split.Mode, Either.Either<A, E>]> = []
    for (const mode of modes) {
      const server = yield* Server.serve(fixture, mode)
      outcomes.push([mode, yield* Effect.either(call(server.url))])
    }
    const [[firstMode, first]] = outcomes as [readonly [Split.Mode, Either.Either<A, E>]]
    for (const [mode, outcome] of outcomes.slice(1)) {
      expect(
        outcome,
        `${fixture.name}: ${Split.describeMode(mode)} differs from ${Split.describeMode(firstMode)}`
      ).toEqual(first)
    }
    return first
  })

/** Like {@link replay}, for a call expected to succeed: returns its value (and fails the test with the error if not). */
export const replaySuccess = <A, E, R>(
  fixture: Fixture,
  call: (url: string) => Effect.Effect<A, E, R>,
  modes?: ReadonlyArray<Split.Mode>
): Effect.Effect<A, Error | E, R | Scope.Scope> => Effect.flatMap(replay(fixture, call, modes), (outcome) => outcome)

/** Like {@link replay}, for a call expected to fail: returns its error (and fails the test if it succeeded). */
export const replayFailure = <A, E, R>(
  fixture: Fixture,
  call: (url: string) => Effect.Effect<A, E, R>,
  modes?: ReadonlyArray<Split.Mode>
): Effect.Effect<E, Error, R | Scope.Scope> =>
  Effect.flatMap(replay(fixture, call, modes), (outcome) =>
    Either.isLeft(outcome)
      ? Effect.succeed(outcome.left)
      : Effect.fail(new Error(`${fixture.name}: expected a failure, got ${JSON.stringify(outcome.right)}`))
  )
