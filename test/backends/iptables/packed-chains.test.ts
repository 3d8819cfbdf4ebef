import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffTable } from '../../../src/backends/iptables/diff.js';
import { inflations, OneRule, ownChainCount, ownChains, ownRuleCount, PackedChain, packChains, packOwnChains, ruleCount, RulesByName } from '../../../src/backends/iptables/packed-chains.js';
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
    // A shared chain of one rule is kept as the rule (OneRule), read back as a chain of it.
    assert.ok(pfilter[0] instanceof OneRule);
    assert.equal(pfilter[0]!.name, 'SVP-SERVICES');
    assert.deepEqual(pfilter[0]!.rules, chain('SVP-SERVICES', 1).rules);
    assert.equal(ruleCount(pfilter[0]!), 1);
    // Read groups alternately: the one-group memo must never answer for the other group.
    for (let round = 0; round < 2; round++) {
      b.forEach((c, i) => assert.deepEqual(pb[i]!.rules, c.rules));
      a.forEach((c, i) => assert.deepEqual(pa[i]!.rules, c.rules, c.name));
      assert.deepEqual(pb[1]!.rules, b[1]!.rules);
    }
    assert.deepEqual(pa.map(ruleCount), [2, 3, 0, 2]);
    assert.deepEqual(pa.map((c) => c.name), a.map((c) => c.name));
  });

  it('diffs a Service\'s old chains against its new ones inflating each group once, not once per chain', () => {
    // One Service of 2000 endpoints: its policy chain and an endpoint chain per endpoint,
    // packed once as last written and once as rendered anew with one endpoint more.
    const version = (endpoints: number) => [chain('SVP-SVC-BIG', endpoints), ...Array.from({ length: endpoints }, (_, i) => chain(`SVP-SEP-BIG${i}`, 2))];
    const [written] = packChains([version(2000)] as const, new Set());
    const [desired] = packChains([version(2001)] as const, new Set());
    const before = inflations();
    const d = diffTable('nat', desired, new Map(written.map((c) => [c.name, c])));
    assert.deepEqual(d.changed.map((c) => c.name), ['SVP-SVC-BIG', 'SVP-SEP-BIG2000']);
    assert.deepEqual(d.deleted, []);
    assert.equal(inflations() - before, 2, 'each group inflated once for the whole walk');
  });

  it('never answers for another group when three are read in turn (two are remembered)', () => {
    const groups = ['X', 'Y', 'Z'].map((g) => [chain(`SVP-SVC-${g}`, 3), chain(`SVP-SEP-${g}`, 2)]);
    const packed = groups.map((g) => packChains([g] as const, new Set())[0]);
    for (let round = 0; round < 3; round++) {
      groups.forEach((g, k) => g.forEach((c, i) => assert.deepEqual(packed[k]![i]!.rules, c.rules, `${c.name}, round ${round}`)));
    }
  });

  it('keeps a Service\'s own chains of both tables as one record, read back as the same chains in order, each time new objects of one group', () => {
    const shared = new Set(['SVP-SERVICES', 'SVP-FIREWALL']);
    const filter = [chain('SVP-FIREWALL', 1), chain('SVP-FW-A', 2)];
    const nat = [chain('SVP-SERVICES', 1), chain('SVP-SVC-A', 3), chain('SVP-SEP-A1', 0), chain('SVP-SEP-A2', 2)];
    const kept = packOwnChains(filter, nat, shared);
    assert.deepEqual(kept.filter.map((c) => [c.name, c.rules]), [['SVP-FIREWALL', filter[0]!.rules]]);
    assert.deepEqual(kept.nat.map((c) => [c.name, c.rules]), [['SVP-SERVICES', nat[0]!.rules]]);
    for (const [table, own] of [['filter', filter.slice(1)], ['nat', nat.slice(1)]] as const) {
      const read = ownChains(kept.own, table);
      assert.deepEqual(read.map((c) => [c.name, ruleCount(c), c.rules]), own.map((c) => [c.name, c.rules.length, c.rules]), table);
      assert.equal(ownRuleCount(kept.own, table), own.reduce((n, c) => n + c.rules.length, 0), `${table}: rules counted off the index`);
      assert.equal(ownChainCount(kept.own, table), own.length, `${table}: chains counted off the index`);
      const again = ownChains(kept.own, table);
      read.forEach((c, i) => assert.ok(c !== again[i] && c.sameAs(again[i]!), `${c.name}: another object of the same rules`));
    }
    // Another Service's chains of the same names are not the same chains.
    const other = packOwnChains([], [chain('SVP-SVC-A', 2)], shared);
    assert.ok(!ownChains(other.own, 'nat')[0]!.sameAs(ownChains(kept.own, 'nat')[0]!));
    // Nothing of its own: no record.
    assert.equal(packOwnChains([], [chain('SVP-SERVICES', 1)], shared).own, undefined);
    // Counts of several digits, and a table with no own chain.
    const big = packOwnChains([], [chain('SVP-SVC-B', 12), chain('SVP-SEP-B', 305)], shared);
    assert.deepEqual([ownRuleCount(big.own, 'nat'), ownRuleCount(big.own, 'filter')], [317, 0]);
    assert.deepEqual([ownChainCount(big.own, 'nat'), ownChainCount(big.own, 'filter'), ownChainCount(undefined, 'nat')], [2, 0, 0]);
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
