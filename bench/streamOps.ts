/**
 * `npx tsx bench/streamOps.ts`: what one Effect `Stream` operator costs per chunk when chunks arrive one at a time,
 * as a live model's tokens do (one element per macrotask). Each row is the source alone or with one operator of the
 * kinds a routed, traced stream passes through; CPU µs per chunk, median of 5 interleaved rounds. For reading the
 * streaming rows of BENCHMARKS.md: the gateway's per-event cost is roughly the sum of its stream's layers.
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"

const N = 200

/** `N` numbers, one per macrotask. */
const source = () =>
  Stream.async<number>((emit) => {
    let i = 0
    const tick = () => {
      if (i < N) {
        void emit.single(i++)
        setImmediate(tick)
      } else void emit.end()
    }
    setImmediate(tick)
  })

const variants: Record<string, () => Stream.Stream<number, unknown>> = {
  "source alone": source,
  "Stream.timeoutFail (idle timeout)": () => source().pipe(Stream.timeoutFail(() => "idle", "30 seconds")),
  "Stream.mapError": () => source().pipe(Stream.mapError(() => "mapped")),
  "Stream.mapChunks": () => source().pipe(Stream.mapChunks((chunk) => chunk)),
  "Stream.takeWhile": () => source().pipe(Stream.takeWhile(() => true)),
  "Stream.withSpan": () => source().pipe(Stream.withSpan("s")),
  "Stream.provideService": () => source().pipe(Stream.provideService(Clock.Clock, Clock.make())),
  "mapChunksEffect (Ref + Clock)": () =>
    Stream.unwrap(
      Effect.map(Ref.make(false), (seen) =>
        source().pipe(
          Stream.mapChunksEffect((chunk) =>
            Effect.as(
              Effect.whenEffect(
                Clock.currentTimeNanos,
                Ref.getAndSet(seen, true).pipe(Effect.map((already) => !already))
              ),
              chunk
            )
          )
        )
      )
    ),
  "settle (acquireRelease, collect, onEnd)": () =>
    Stream.unwrapScoped(
      Effect.gen(function* () {
        const chunks = yield* Ref.make(Chunk.empty<number>())
        const end = yield* Ref.make(false)
        yield* Effect.acquireRelease(Effect.void, () => Effect.void)
        return source().pipe(
          Stream.mapChunksEffect((chunk) => Effect.as(Ref.update(chunks, Chunk.appendAll(chunk)), chunk)),
          Stream.tapErrorCause(() => Effect.void),
          Stream.onEnd(Ref.set(end, true))
        )
      })
    ),
  "toPull + repeatEffectChunkOption": () =>
    Stream.unwrapScoped(
      Effect.map(Stream.toPull(source()), (pull) => Stream.repeatEffectChunkOption(Effect.tap(pull, () => Effect.void)))
    )
}

const main = async () => {
  const samples: Record<string, Array<number>> = {}
  for (const make of Object.values(variants))
    for (let i = 0; i < 5; i++) await Effect.runPromise(Stream.runDrain(make()))
  for (let round = 0; round < 5; round++) {
    for (const [name, make] of Object.entries(variants)) {
      const start = process.cpuUsage()
      for (let i = 0; i < 10; i++) await Effect.runPromise(Stream.runDrain(make()))
      const used = process.cpuUsage(start)
      ;(samples[name] ??= []).push((used.user + used.system) / 10 / N)
    }
  }
  for (const [name, values] of Object.entries(samples)) {
    const median = [...values].sort((a, b) => a - b)[2]!
    process.stdout.write(`| ${name} | ${median.toFixed(1)} |\n`)
  }
}

void main()
