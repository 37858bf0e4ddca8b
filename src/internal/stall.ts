/**
 * An idle deadline for a streamed answer that costs nothing per chunk.
 *
 * `Stream.timeoutFail` bounds each pull with its own timeout: two fibers and a timer for every chunk, which measured
 * at about 100 µs of CPU a chunk (bench/streamOps.ts) — more than the rest of a routed stream's layers together.
 * Here one fiber sleeps for the whole stream instead: each chunk only writes down the time (`touch`), and the fiber,
 * waking at the deadline, sleeps again for what is left unless nothing came since. When nothing did, it closes the
 * scope the request lives in (a request made through `HttpClient.withScope`), which aborts the request: the read
 * that waits for the next bytes fails, and the caller, seeing `stalled()`, reports the stall rather than the abort.
 *
 * Time is read from the `Clock` in context, so `TestClock` drives it in tests. The deadline is measured from `watch`
 * (once the response headers are in) and then from the last `touch`.
 *
 * @since 0.4.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"

/** What a stream under watch sees: mark activity, and ask whether the deadline passed. */
export interface Stall {
  /** Marks activity now: the deadline moves to now + timeout. */
  readonly touch: () => void
  /** Whether the deadline passed and the request was ended for it. */
  readonly stalled: () => boolean
}

/**
 * Watches for `timeout` without a `touch`, then closes `request` (ending what it holds). The watching fiber lives in
 * the `Scope` in context and stops with it.
 */
export const watch = (
  timeout: Duration.Duration,
  request: Scope.CloseableScope
): Effect.Effect<Stall, never, Scope.Scope> =>
  Effect.gen(function* () {
    const clock = yield* Effect.clock
    const millis = Duration.toMillis(timeout)
    let last = clock.unsafeCurrentTimeMillis()
    let stalled = false
    const wait: Effect.Effect<void> = Effect.suspend(() => {
      const left = last + millis - clock.unsafeCurrentTimeMillis()
      if (left > 0) return Effect.flatMap(Effect.sleep(Duration.millis(left)), () => wait)
      stalled = true
      return Scope.close(request, Exit.void)
    })
    yield* Effect.forkScoped(wait)
    return {
      touch: () => {
        last = clock.unsafeCurrentTimeMillis()
      },
      stalled: () => stalled
    }
  })
