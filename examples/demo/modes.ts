/**
 * The three ways the demo runs the same comparison: in simulated time, over loopback HTTP, over a real provider.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Random from "effect/Random"
import { type Load, type Outcome, runStrategy, strategies } from "./compare.js"
import * as Fleets from "./fleets.js"
import { runSimulated } from "./simulatedTime.js"

/**
 * Every strategy over the simulated fleet, each in its own simulated world seeded alike, so every strategy meets the
 * same deployments in the same state. Synchronous: simulated time needs no event loop.
 */
export const simulated = (load: Load, seed: number): ReadonlyArray<Outcome> =>
  strategies.map(([name, strategy]) => {
    const exit = runSimulated(
      runStrategy(Fleets.simulated, name, strategy, load).pipe(Effect.withRandom(Random.make(seed)))
    )
    if (Exit.isFailure(exit)) throw new Error(`strategy ${name} failed to run: ${String(exit.cause)}`)
    return exit.value
  })

/** Every strategy over real HTTP servers on 127.0.0.1, in real time; each strategy gets freshly started servers. */
export const loopback = (load: Load, seed: number): Promise<ReadonlyArray<Outcome>> =>
  Effect.runPromise(
    Effect.forEach(strategies, ([name, strategy]) => runStrategy(Fleets.loopback, name, strategy, load)).pipe(
      Effect.withRandom(Random.make(seed)),
      Effect.provide(NodeHttpClient.layerUndici)
    )
  )
