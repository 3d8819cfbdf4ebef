import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PackedChain, packChains, ruleCount, RulesByName } from '../../../src/backends/iptables/packed-chains.js';
import type { IptChain } from '../../../src/backends/iptables/render.js';

const chain = (name: string, n: number): IptChain => ({
  name,
  rules: Array.from({ length: n }, (_, i) => `-A ${name} -m comment --comment "ns/svc-${name}:${i}" -j DNAT --to-destination 10.0.${i}.1:80`),
});

describe('iptables packed chains', () => {
  it('keeps shared chains as they are and gives back every packed chain its rules, in order, from any group', () => {
    const shared = new Set(['SVP-SERVICES']);
    const a = [chain('SVP-SERVICES', 2), chain('SVP-SVC-A', 3), chain('SVP-SEP-A1', 0), chain('SVP-SEP-A2', 2)];
    const b = [chain('SVP-SVC-B', 1), chain('SVP-SEP-B1', 2)];
    const [pa, pfilter] = packChains([a, [chain('SVP-SERVICES', 1)]] as const, shared);
    const [pb] = packChains([b] as const, shared);
    assert.equal(pa[0], a[0], 'a shared chain is not packed');
    assert.ok(pa.slice(1).every((c) => c instanceof PackedChain));
    assert.equal(pfilter.length, 1);
    // Read groups alternately: the one-group memo must never answer for the other group.
    for (let round = 0; round < 2; round++) {
      b.forEach((c, i) => assert.deepEqual(pb[i]!.rules, c.rules));
      a.forEach((c, i) => assert.deepEqual(pa[i]!.rules, c.rules, c.name));
      assert.deepEqual(pb[1]!.rules, b[1]!.rules);
    }
    assert.deepEqual(pa.map(ruleCount), [2, 3, 0, 2]);
    assert.deepEqual(pa.map((c) => c.name), a.map((c) => c.name));
  });

  it('reads a map of chains as a map of rules', () => {
    const [packed] = packChains([[chain('SVP-SVC-C', 2), chain('SVP-SEP-C', 1)]] as const, new Set());
    const view = new RulesByName(new Map(packed.map((c) => [c.name, c])));
    assert.equal(view.size, 2);
    assert.ok(view.has('SVP-SEP-C'));
    assert.deepEqual(view.get('SVP-SVC-C'), chain('SVP-SVC-C', 2).rules);
    assert.equal(view.get('SVP-NONE'), undefined);
    assert.deepEqual([...view.keys()], ['SVP-SVC-C', 'SVP-SEP-C']);
    assert.deepEqual(new Map(view), new Map([['SVP-SVC-C', chain('SVP-SVC-C', 2).rules], ['SVP-SEP-C', chain('SVP-SEP-C', 1).rules]]));
  });
});
