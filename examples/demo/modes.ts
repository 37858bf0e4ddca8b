/**
 * The three ways the demo runs the same comparison: in simulated time, over loopback HTTP, over a real provider.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Random from "effect/Random"
import type { Chat } from "../../src/index.js"
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
export const loopback = (load: Load, seed: number, latencyScale = 1): Promise<ReadonlyArray<Outcome>> =>
  Effect.runPromise(
    Effect.forEach(strategies, ([name, strategy]) =>
      runStrategy(Fleets.loopback(latencyScale), name, strategy, load)
    ).pipe(Effect.withRandom(Random.make(seed)), Effect.provide(NodeHttpClient.layerUndici))
  )

/** A short question with a tight output limit: live runs cost fractions of a cent. */
const liveRequest = (i: number): Chat.ChatCompletionRequest => ({
  model: "demo",
  max_tokens: 16,
  messages: [{ role: "user", content: `In one word: what is the capital of ${capitals[i % capitals.length]}?` }]
})

const capitals = ["France", "Japan", "Kenya", "Peru", "Norway", "Vietnam"]

/** Every strategy over real providers (a handful of requests each), in real time. */
export const live = (models: ReadonlyArray<string>, load: Load, seed: number): Promise<ReadonlyArray<Outcome>> =>
  Effect.runPromise(
    Effect.forEach(strategies, ([name, strategy]) =>
      runStrategy(Fleets.live(models), name, strategy, { ...load, request: liveRequest })
    ).pipe(Effect.withRandom(Random.make(seed)), Effect.provide(NodeHttpClient.layerUndici))
  )
