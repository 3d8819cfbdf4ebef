// Differential trace: for generated inputs, the nftables, iptables and IPVS
// renderings must send every packet aimed at them the same way (verdict and
// endpoints, and masquerade for DNATed packets), except where
// known-differences.ts names a legitimate difference. TRACE_DIFF_RUNS scales it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { unexplained } from './differential.js';
import { KNOWN_DIFFERENCES } from './known-differences.js';
import { scenario } from './scenarios.js';

const RUNS = Number(process.env.TRACE_DIFF_RUNS ?? '300');

describe('trace: the nftables, iptables and IPVS renderings agree', () => {
  it(`on ${RUNS} generated inputs, for every packet aimed at them (known differences excepted)`, () => {
    const used = new Map<string, number>();
    fc.assert(
      fc.property(scenario, (sc) => {
        const bad = unexplained(sc, used);
        assert.deepEqual(bad, [], `the renderings disagree:\n${bad.join('\n')}`);
      }),
      { numRuns: RUNS, includeErrorInReport: true },
    );
    // Every listed difference must still show up: one that never does is obsolete and must go.
    for (const d of KNOWN_DIFFERENCES) assert.ok((used.get(d.id) ?? 0) > 0, `known difference ${d.id} never occurred in ${RUNS} inputs`);
  });
});
