/**
 * An idle deadline for a streamed answer that costs nothing per chunk.
 *
 * `Stream.timeoutFail` bounds each pull with its own timeout: two fibers and a timer for every chunk, which measured
 * at about 100 µs of CPU a chunk (bench/streamOps.ts) — more than the rest of a routed stream's layers together.
 * Here one fiber watches the whole stream instead. The stream says when a read of the upstream starts waiting
 * (`waiting`) and when what it waited for came (`arrived`): plain writes of a number and a flag. The fiber sleeps
 * until the deadline of the read in progress (or a whole timeout when none is), and, finding that read still
 * waiting past it, closes the scope the request lives in (a request made through `HttpClient.withScope`), which
 * aborts the request: the read fails, and the stream, seeing `stalled()`, reports the stall rather than the abort.
 *
 * Only time spent waiting on the upstream counts, as with a timeout around each pull: a consumer that is slow to
 * pull (a client reading slowly, backpressure) never trips it. Time is read from the `Clock` in context, so
 * `TestClock` drives it in tests.
 *
 * @since 0.4.0
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"

/** What a stream under watch reports, and asks. */
export interface Stall {
  /** A read of the upstream starts waiting now. */
  readonly waiting: () => void
  /** The read in progress got what it waited for (or ended). */
  readonly arrived: () => void
  /** Whether a read waited past the deadline and the request was ended for it. */
  readonly stalled: () => boolean
}

/**
 * Watches reads for waits longer than `timeout`, and closes `request` (ending what it holds) on the first. The
 * watching fiber lives in the `Scope` in context and stops with it.
 */
export const watch = (
  timeout: Duration.Duration,
  request: Scope.CloseableScope
): Effect.Effect<Stall, never, Scope.Scope> =>
  Effect.gen(function* () {
    const clock = yield* Effect.clock
    const millis = Duration.toMillis(timeout)
    // watching starts when the response headers are in and the first events are awaited
    let since = clock.unsafeCurrentTimeMillis()
    let pending = true
    let stalled = false
    const wait: Effect.Effect<void> = Effect.suspend(() => {
      // with no read in progress, the next one starts after now: a whole timeout from now is never too late
      const left = pending ? since + millis - clock.unsafeCurrentTimeMillis() : millis
      if (left > 0) return Effect.flatMap(Effect.sleep(Duration.millis(left)), () => wait)
      stalled = true
      return Scope.close(request, Exit.void)
    })
    yield* Effect.forkScoped(wait)
    return {
      waiting: () => {
        since = clock.unsafeCurrentTimeMillis()
        pending = true
      },
      arrived: () => {
        pending = false
      },
      stalled: () => stalled
    }
  })
