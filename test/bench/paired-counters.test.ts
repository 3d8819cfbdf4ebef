// The nftables ruleset of the paired counters-cost bench (bench/no-counters.ts
// pairedTrafficCounters): one ruleset in which the connections of one client address take an
// uncounted copy of every counting path and all others the rendered rules, both after the same
// dispatch test. Checked on the rendered tables of the bench's own input; the kernel side (nft
// loads it, its counters see one address only) is the bench's own check (CountedProof).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dataplaneInput } from '../../bench/dataplane.js';
import { COUNTED_CHAIN, pairedTrafficCounters, UNCOUNTED_CHAIN, UNCOUNTED_SET, withoutTrafficCounters } from '../../bench/no-counters.js';
import { NFT_NAMES as N, renderTables } from '../../src/backends/nftables/render.js';
import type { NftChain, NftTable } from '../../src/backends/nftables/nft.js';

const B = '192.168.60.3';
const rendered = renderTables(dataplaneInput(20));
const paired = pairedTrafficCounters(rendered, B);

/** Every jump/goto target and `@set` in `x`. */
function refs(x: unknown, chains: string[] = [], sets: string[] = []): { chains: string[]; sets: string[] } {
  if (typeof x === 'string' && x.startsWith('@')) sets.push(x.slice(1));
  else if (Array.isArray(x)) x.forEach((y) => refs(y, chains, sets));
  else if (x && typeof x === 'object')
    for (const [k, v] of Object.entries(x)) (k === 'jump' || k === 'goto') && v && typeof v === 'object' ? chains.push((v as { target: string }).target) : refs(v, chains, sets);
  return { chains, sets };
}

const counts = (c: NftChain, t: NftTable) => {
  const r = refs(c.rules.map((x) => x.expr));
  const counted = new Set(t.sets.filter((s) => s.counter).map((s) => s.name));
  return c.rules.some((x) => x.expr.some((e) => 'counter' in e)) || r.chains.includes(N.countTraffic) || r.sets.some((s) => counted.has(s));
};

describe('the paired nftables ruleset of the counters-cost bench', () => {
  it('every chain and set it names exists, in rules and in map verdicts', () => {
    for (const t of paired) {
      const chains = new Set(t.chains.map((c) => c.name));
      const sets = new Set(t.sets.map((s) => s.name));
      const r = refs([t.chains.map((c) => c.rules.map((x) => x.expr)), t.sets.map((s) => s.elements.map((e) => e.value))]);
      for (const c of r.chains) assert.ok(chains.has(c), `${t.name}: chain ${c}`);
      for (const s of r.sets) assert.ok(sets.has(s), `${t.name}: set ${s}`);
    }
  });

  it('each IPv4 base chain that reaches counting dispatches on the connection\'s original source, the same two rules for both addresses', () => {
    const main = paired.find((t) => t.family === 'ip' && t.name === 'svcplane')!;
    const dispatched = main.chains.filter((c) => c.base && c.rules.length === 2 && JSON.stringify(c.rules[0]).includes(B));
    assert.deepEqual(dispatched.map((c) => c.name).sort(), ['filter-forward', 'filter-input', 'filter-output', 'filter-output-post-dnat', 'filter-prerouting', 'filter-prerouting-post-dnat']);
    for (const c of dispatched) {
      assert.deepEqual(c.rules[0]!.expr, [{ match: { op: '==', left: { ct: { key: 'ip saddr', dir: 'original' } }, right: B } }, { goto: { target: `${UNCOUNTED_CHAIN}${c.name}` } }]);
      assert.deepEqual(c.rules[1]!.expr, [{ goto: { target: `${COUNTED_CHAIN}${c.name}` } }]);
      const original = rendered.find((t) => t.name === main.name && t.family === 'ip')!.chains.find((x) => x.name === c.name)!;
      assert.deepEqual(main.chains.find((x) => x.name === `${COUNTED_CHAIN}${c.name}`)!.rules, original.rules, 'the counted path is the rendered rules');
    }
    assert.deepEqual(main.chains.find((c) => c.name === 'nat-postrouting')!.rules, rendered[0]!.chains.find((c) => c.name === 'nat-postrouting')!.rules, 'no counting reached: left as rendered');
    const shard = paired.find((t) => t.family === 'ip' && t.name !== 'svcplane' && t.chains.some((c) => c.name === 'nat-prerouting'))!;
    assert.match(JSON.stringify(shard.chains.find((c) => c.name === 'nat-prerouting')!.rules[0]), new RegExp(B.replace(/\./g, '\\.')));
  });

  it('from an uncounted path no rule counts, and it strips what the unpaired "without" ruleset strips', () => {
    for (const t of paired.filter((x) => x.family === 'ip')) {
      const uncounted = t.chains.filter((c) => c.name.startsWith(UNCOUNTED_CHAIN));
      assert.ok(uncounted.length > 0);
      for (const c of uncounted) assert.equal(counts(c, t), false, `${t.name} ${c.name}`);
      for (const s of t.sets.filter((x) => x.name.endsWith(UNCOUNTED_SET))) {
        assert.equal(s.counter, undefined);
        for (const e of s.elements) if (e.value) for (const target of refs(e.value).chains) assert.ok(target.startsWith(UNCOUNTED_CHAIN), `${s.name} → ${target}`);
      }
      // The same rules as withoutTrafficCounters, set and chain names aside.
      const without = withoutTrafficCounters(rendered).find((x) => x.family === t.family && x.name === t.name)!;
      const plain = (x: unknown) => JSON.stringify(x).replaceAll(`"${UNCOUNTED_CHAIN}`, '"').replaceAll(`${UNCOUNTED_SET}"`, '"');
      for (const c of without.chains.filter((x) => !x.base)) assert.equal(plain(t.chains.find((x) => x.name === `${UNCOUNTED_CHAIN}${c.name}`)!.rules), plain(c.rules), c.name);
    }
    const dnat = paired.flatMap((t) => t.chains).find((c) => c.name === `${UNCOUNTED_CHAIN}svc-default/zz-target/tcp/80`)!;
    assert.ok(dnat.rules.some((r) => r.expr.some((e) => 'dnat' in e)) && !dnat.rules.some((r) => r.expr.some((e) => 'counter' in e)));
  });

  it('the counted tables keep every rendered chain and set; ip6 tables stay as rendered', () => {
    for (const t of rendered) {
      const p = paired.find((x) => x.family === t.family && x.name === t.name)!;
      if (t.family === 'ip6') assert.deepEqual(p, t);
      for (const s of t.sets) assert.deepEqual(p.sets.find((x) => x.name === s.name), s);
      for (const c of t.chains.filter((x) => !x.base)) assert.deepEqual(p.chains.find((x) => x.name === c.name), c);
    }
  });

  it('the method control: the second address takes a twin of the counted path, counters and counting chain included', () => {
    const control = pairedTrafficCounters(rendered, B, true);
    const main = control.find((t) => t.family === 'ip' && t.name === 'svcplane')!;
    const twin = main.chains.find((c) => c.name === `${UNCOUNTED_CHAIN}${N.countTraffic}`)!;
    assert.deepEqual(twin.rules.length, main.chains.find((c) => c.name === N.countTraffic)!.rules.length);
    assert.ok(main.sets.find((s) => s.name === `${N.serviceTraffic}${UNCOUNTED_SET}`)?.counter);
    for (const t of control.filter((x) => x.family === 'ip'))
      for (const c of t.chains.filter((x) => x.name.startsWith(UNCOUNTED_CHAIN)))
        assert.equal(JSON.stringify(c.rules).replaceAll(`"${UNCOUNTED_CHAIN}`, '"').replaceAll(`${UNCOUNTED_SET}"`, '"'), JSON.stringify((t.chains.find((x) => x.name === `${COUNTED_CHAIN}${c.name.slice(UNCOUNTED_CHAIN.length)}`) ?? t.chains.find((x) => x.name === c.name.slice(UNCOUNTED_CHAIN.length)))!.rules), c.name);
  });
});

