/**
 * The library as the benchmarks see it: its public entry point only, so they measure what users call and keep
 * working while the internals change. `npm run bench` compiles it with tsc first and points `BENCH_LIBRARY` at the
 * compiled entry (tsx, which runs the sources, wraps every function literal in a naming call that costs per call);
 * a benchmark run on its own, without that variable, loads the sources through tsx.
 */
type Library = typeof import("../src/index.js")

const entry = process.env.BENCH_LIBRARY ?? new URL("../src/index.ts", import.meta.url).href

/** The namespaces of `src/index.ts`: `Router`, `LlmClient`, `LlmTest`, ... */
export const Lib: Library = await import(entry)

/** Whether the library was loaded compiled, for the report. */
export const compiled: boolean = process.env.BENCH_LIBRARY !== undefined
