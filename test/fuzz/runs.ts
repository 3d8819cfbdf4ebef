// How many cases a fuzz property runs. The defaults keep the whole folder under
// ~90 s on CI's 2 cores; FUZZ_RUNS=10 (a factor) scales every property up for a
// long local hunt. fast-check prints the seed and the shrunk counterexample on
// failure; FUZZ_SEED replays one.

import fc from 'fast-check';

const factor = Number(process.env.FUZZ_RUNS ?? '1');
if (!Number.isFinite(factor) || factor <= 0) throw new Error(`FUZZ_RUNS must be a positive number, not ${JSON.stringify(process.env.FUZZ_RUNS)}`);
const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;

/** fast-check parameters for a property whose CI default is `runs` cases. */
export function fuzzParams<T>(runs: number): fc.Parameters<T> {
  return {
    numRuns: Math.max(1, Math.round(runs * factor)),
    ...(seed !== undefined ? { seed } : {}),
    // The error of the shrunk case belongs in the report (node:test does not print causes).
    includeErrorInReport: true,
  };
}
