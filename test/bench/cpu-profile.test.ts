// bench/cpu-profile.ts: a V8 profile's samples from a point in time on, as self time by
// file and function and inclusive time by function (recursion counted once).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileOf, summarize, type CpuProfile } from '../../bench/cpu-profile.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });
// root -> sync (lib/agent/agent.js:10) -> sync (recursion) -> spawn (node:child_process)
//      -> (idle)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 5] },
    { id: 2, callFrame: frame('sync', 'file:///x/lib/agent/agent.js', 9), children: [3] },
    { id: 3, callFrame: frame('sync', 'file:///x/lib/agent/agent.js', 9), children: [4] },
    { id: 4, callFrame: frame('spawn', 'node:child_process', 99) },
    { id: 5, callFrame: frame('(idle)') },
  ],
  startTime: 0,
  endTime: 10_000,
  // Sample i at t = sum of timeDeltas[0..i] µs and lasts until the next one.
  samples: [5, 2, 4, 4, 5, 5],
  timeDeltas: [0, 1000, 1000, 1000, 1000, 1000],
};

describe('cpu profile summary', () => {
  it('names files by their place: our lib/ or src/ path, a package, node itself', () => {
    assert.equal(fileOf('file:///w/lib/agent/watch/store.js'), 'agent/watch/store.js');
    assert.equal(fileOf('file:///w/node_modules/@scope/pkg/dist/x.js'), 'pkg:@scope/pkg');
    assert.equal(fileOf('node:internal/child_process'), 'node:');
    assert.equal(fileOf(''), '(native)');
  });

  it('self and inclusive ms from a point in time on; recursion counted once', () => {
    const s = summarize(profile, 0);
    // Durations: samples 0-4 last 1 ms each, the last one 0.
    assert.equal(s.totalMs, 5);
    assert.equal(s.idleMs, 2);
    assert.deepEqual(new Map(s.byFile), new Map([['(native)', 2], ['agent/agent.js', 1], ['node:', 2]]));
    const incl = new Map(s.inclusive);
    assert.equal(incl.get('sync agent/agent.js:10'), 3, 'its own ms and its callees, the recursion once');
    assert.equal(incl.get('spawn node::100'), 2);
    assert.equal(incl.has('(idle) (native):1'), false, 'idle is not inclusive time');
    // From 2 ms on, only the samples at t >= 2 ms count.
    assert.equal(summarize(profile, 2).totalMs, 3);
  });
});
