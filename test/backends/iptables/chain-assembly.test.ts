import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChainAssembly } from '../../../src/backends/iptables/chain-assembly.js';
import { OneRule } from '../../../src/backends/iptables/packed-chains.js';
import type { IptChain } from '../../../src/backends/iptables/render.js';

const chain = (name: string, from: number, n: number): IptChain => ({ name, rules: Array.from({ length: n }, (_, i) => `-A ${name} -m comment --comment "r${from + i}" -j ACCEPT`) });

/** Pieces as an assembly meets them: a head naming the shared chain, Services adding to it (as a list or a lone OneRule), a chain of their own each. */
function pieces(): IptChain[][] {
  const out: IptChain[][] = [[chain('SVP-SERVICES', 0, 2), chain('SVP-NODEPORTS', 0, 0)]];
  for (let s = 0; s < 5; s++) {
    const own = chain(`SVP-SVC-${s}`, 0, 2);
    out.push(s % 2 === 0 ? [chain('SVP-SERVICES', 10 * (s + 1), 3), own] : [new OneRule('SVP-SERVICES', `-A SVP-SERVICES -j SVP-SVC-${s}`), chain('SVP-NODEPORTS', s, 1), own]);
  }
  return out;
}

/** What assembling means: each chain where first named, with every piece's rules for it in piece order. */
function expected(all: IptChain[][]): IptChain[] {
  const by = new Map<string, string[]>();
  for (const p of all) for (const c of p) by.set(c.name, [...(by.get(c.name) ?? []), ...c.rules]);
  return [...by].map(([name, rules]) => ({ name, rules }));
}

const plain = (chains: readonly IptChain[]) => chains.map((c) => ({ name: c.name, rules: [...c.rules] }));

describe('iptables chain assembly', () => {
  it('assembles the shared chains counted first into arrays holding every rule in order, none left empty', () => {
    const all = pieces();
    const a = new ChainAssembly();
    for (const p of all) a.count(p.filter((c) => !c.name.startsWith('SVP-SVC-')));
    for (const p of all) a.add(p);
    const chains = a.chains();
    assert.deepEqual(plain(chains), expected(all));
    const services = chains.find((c) => c.name === 'SVP-SERVICES')!;
    assert.equal(services.rules.length, 2 + 3 * 3 + 2);
    assert.ok(services.rules.every((r) => typeof r === 'string'), 'no hole where a rule should be');
    // A Service's own chain, named by it alone, is its own object (not copied).
    assert.equal(a.byName.get('SVP-SVC-1'), all[2]![2]);
  });

  it('gives the same chains when nothing or only part was counted (the arrays then grow as they go)', () => {
    const all = pieces();
    for (const counted of [0, 1, 3]) {
      const a = new ChainAssembly();
      for (const p of all.slice(0, counted)) a.count(p);
      for (const p of all) a.add(p);
      assert.deepEqual(plain(a.chains()), expected(all), `${counted} pieces counted`);
    }
  });

  it('assembles a lone rule kept as its line (kept-fragment.ts) as the OneRule of it, naming its chain when first', () => {
    const all = pieces();
    const asLines = (p: IptChain[]) => p.map((c) => (c instanceof OneRule ? c.rule : [c]));
    const a = new ChainAssembly();
    for (const p of all) for (const c of asLines(p.filter((c) => !c.name.startsWith('SVP-SVC-')))) a.count(c);
    for (const p of all) for (const c of asLines(p)) a.add(c);
    assert.deepEqual(plain(a.chains()), expected(all));
    // A line naming a chain no piece named before: that chain, of the one rule.
    const b = new ChainAssembly();
    b.add('-A SVP-NEW -j ACCEPT');
    b.add('-A SVP-NEW -j DROP');
    assert.deepEqual(plain(b.chains()), [{ name: 'SVP-NEW', rules: ['-A SVP-NEW -j ACCEPT', '-A SVP-NEW -j DROP'] }]);
  });

  it('gives back a shared chain as written when every rule matches it, and a new chain (the written one untouched) when one does not', () => {
    const assemble = (all: IptChain[][], like?: ReadonlyMap<string, IptChain>) => {
      const a = new ChainAssembly(like);
      for (const p of all) a.count(p.filter((c) => !c.name.startsWith('SVP-SVC-')));
      for (const p of all) a.add(p);
      return { chains: a.chains(), byName: a.byName };
    };
    const written = assemble(pieces()).byName;
    const writtenRules = plain([...written.values()]);
    // The same pieces again (new rule strings of equal text): the very chains written.
    const again = assemble(pieces(), written);
    assert.equal(again.byName.get('SVP-SERVICES'), written.get('SVP-SERVICES'));
    assert.equal(again.byName.get('SVP-NODEPORTS'), written.get('SVP-NODEPORTS'));
    assert.deepEqual(plain(again.chains), expected(pieces()));
    // A rule changed in the middle, a Service gone at the end, a rule more: each a new chain of the right rules.
    for (const change of ['middle', 'fewer', 'more'] as const) {
      const all = pieces();
      if (change === 'middle') all[3]![0] = new OneRule('SVP-SERVICES', '-A SVP-SERVICES -j SVP-SVC-other');
      if (change === 'fewer') all.pop();
      if (change === 'more') all.push([new OneRule('SVP-SERVICES', '-A SVP-SERVICES -j SVP-SVC-new')]);
      const out = assemble(all, written);
      assert.notEqual(out.byName.get('SVP-SERVICES'), written.get('SVP-SERVICES'), change);
      assert.deepEqual(plain(out.chains), expected(all), change);
      assert.deepEqual(plain([...written.values()]), writtenRules, `${change}: what was written is left as it was`);
    }
  });
});
