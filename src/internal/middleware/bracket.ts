/**
 * A lighter `Effect.acquireUseRelease` for the admission/settle pairs of the middleware (budget, rate limit).
 *
 * Same guarantees: `acquire` runs uninterruptibly, `use` runs with the caller's interruptibility, and `release` runs
 * exactly once, uninterruptibly, on every exit (success, failure, interruption) once `acquire` has succeeded. It
 * skips the pieces of the general combinator these callers do not need, which run on every call:
 *
 * - `use`'s exit is matched directly instead of being reified with `Effect.exit` and flat-mapped again;
 * - `release` may be synchronous (return nothing), so a release that only updates in-memory state costs no effect;
 * - a `release` that fails or dies would have its cause appended to `use`'s, as `acquireUseRelease` does; the
 *   releases given here are total, so that branch is not built (a defect thrown by a synchronous release still ends
 *   the fiber as a defect).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

export const bracket = <R, E1, A, E>(
  acquire: Effect.Effect<R, E1>,
  use: (resource: R) => Effect.Effect<A, E>,
  release: (resource: R, exit: Exit.Exit<A, E>) => Effect.Effect<void> | void
): Effect.Effect<A, E | E1> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(acquire, (resource) =>
      Effect.matchCauseEffect(restore(Effect.suspend(() => use(resource))), {
        onFailure: (cause) => settled(release(resource, Exit.failCause(cause)), Exit.failCause(cause)),
        onSuccess: (value) => settled(release(resource, Exit.succeed(value)), Exit.succeed(value))
      })
    )
  )

const settled = <A, E>(released: Effect.Effect<void> | void, exit: Exit.Exit<A, E>): Effect.Effect<A, E> =>
  released === undefined ? exit : Effect.zipRight(released, exit)
