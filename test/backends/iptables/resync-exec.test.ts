// The resync's decision through a FakeExec standing for the kernel: what the cheap check
// reads (nft's chain names, the skeleton's and a slice of nat chains with `iptables -S`,
// the sets' entry counts) decides whether the full sync reads nat and the sets back
// (iptables-save -t nat, ipset save) or trusts its memory. resync.test.ts does the same
// against a real kernel with real tampering.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IptablesRunner } from '../../../src/backends/iptables/apply.js';
import { renderIptables } from '../../../src/backends/iptables/render.js';
import { IptablesSyncer, type ResyncOptions } from '../../../src/backends/iptables/syncer.js';
import { FakeExec } from '../../../src/exec/fake.js';
import type { IPFamily } from '../../../src/model/ip.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

function world(extraEndpoint = false): RenderInput {
  return input(
    [svc({ name: 'a', clusterIPs: ['10.96.0.1'], ports: [port(80, 8080)] }), svc({ name: 'b', clusterIPs: ['10.96.0.2'], ports: [port(80, 8080)] })],
    [slice('a', [ep('10.244.1.10', 'node1'), ...(extraEndpoint ? [ep('10.244.2.10', 'node2')] : [])], [{ port: 8080 }]), slice('b', [ep('10.244.1.20', 'node1')], [{ port: 8080 }])],
  );
}

/** A table as iptables-save prints it (our chains only). */
function saveText(table: string, chains: ReadonlyMap<string, readonly string[]>): string {
  return [`*${table}`, ...[...chains.keys()].map((c) => `:${c} - [0:0]`), ...[...chains.values()].flat(), 'COMMIT', ''].join('\n');
}

const TOOL: Record<IPFamily, string> = { IPv4: 'iptables', IPv6: 'ip6tables' };

/**
 * A kernel as the tools show it after the first sync of `i`: its nat chains (what the syncer
 * wrote), the sets' entry counts; jumps present. Tests tamper with `nat` and `sets`.
 */
function fakeKernel(i: RenderInput, flavour: 'nft' | 'legacy' = 'nft') {
  const rendered = renderIptables(i);
  const nat = new Map(rendered.map((t) => [t.family, new Map(t.nat.map((c) => [c.name, [...c.rules]]))]));
  const filter = new Map(rendered.map((t) => [t.family, new Map(t.filter.map((c) => [c.name, c.rules]))]));
  const sets = new Map([['SVP-ENDPOINT-TRAFFIC', 2], ['SVP6-ENDPOINT-TRAFFIC', 0]]);
  const listing = () =>
    [...nat].map(([f, chains]) => `table ${f === 'IPv4' ? 'ip' : 'ip6'} nat {\n${[...chains.keys()].map((c) => `\tchain ${c} {\n\t}\n`).join('')}}\n`).join('');
  const fake = new FakeExec()
    .on('ipset', ['save'])
    .on('ipset', ['restore'])
    .on('ipset', ['list', '-t'], () => ({ stdout: [...sets].map(([n, c]) => `Name: ${n}\nType: hash:ip,port\nNumber of entries: ${c}\nMembers:\n`).join('\n') }))
    .on('nft', ['list', 'chains'], () => ({ stdout: listing() }));
  for (const family of ['IPv4', 'IPv6'] as const) {
    const tool = `${TOOL[family]}-${flavour}`;
    fake
      .on(`${tool}-save`, ['-t', 'filter'], { stdout: saveText('filter', filter.get(family)!) })
      .on(`${tool}-save`, ['-t', 'nat'], () => ({ stdout: saveText('nat', nat.get(family)!) }))
      .on(`${tool}-restore`, [])
      .on(tool, ['-w'])
      .on(tool, ['-w', '-t', 'filter', '-S'], { stdout: [...filter.get(family)!].flatMap(([c, rules]) => [`-N ${c}`, ...rules]).join('\n') + '\n' })
      .on(tool, ['-w', '-t', 'nat', '-S'], (c) => {
        const rules = nat.get(family)!.get(c.args[4]!);
        return rules ? { stdout: [`-N ${c.args[4]}`, ...rules, ''].join('\n') } : { exitCode: 1, stderr: 'iptables: No chain/target/match by that name.' };
      });
  }
  return { fake, nat, sets };
}

async function synced(flavour: 'nft' | 'legacy' = 'nft', options: ResyncOptions = {}) {
  const i = world();
  const k = fakeKernel(i, flavour);
  const s = new IptablesSyncer(new IptablesRunner(undefined, flavour, k.fake), undefined, undefined, true, options);
  const first = await s.sync(i);
  assert.equal(first.check, 'read-back');
  assert.deepEqual(first.readBackWhy, ['start: no memory of the kernel']);
  /** A resync of `input` (the same object by default); the result and the commands it ran. */
  const resync = async (input: RenderInput = i) => {
    const from = k.fake.commands.length;
    const r = await s.sync(input, { full: true });
    return { r, lines: k.fake.lines().slice(from) };
  };
  return { ...k, s, i, resync };
}

const READ_BACK = ['iptables-nft-save -t nat', 'ip6tables-nft-save -t nat', 'ipset save'];
const readsBack = (lines: string[]) => READ_BACK.filter((l) => lines.includes(l));

describe('iptables resync: the cheap check decides the read-back', () => {
  it('a kernel that agrees: nat names, the skeleton and a slice compared, filter and jumps as always; nat and the sets not read back', async () => {
    const { resync } = await synced();
    const { r, lines } = await resync();
    assert.equal(r.check, 'summary');
    assert.equal(r.readBackWhy, undefined);
    assert.equal(r.changes, 0);
    assert.deepEqual(readsBack(lines), []);
    assert.ok(lines.includes('nft list chains'));
    for (const chain of ['SVP-SERVICES', 'SVP-NODEPORTS', 'SVP-POSTROUTING', 'SVP-MARK-MASQ']) assert.ok(lines.includes(`iptables-nft -w -t nat -S ${chain}`), chain);
    // Both Services' chains are in the slice (fewer than 8 per family).
    assert.ok(lines.some((l) => /^iptables-nft -w -t nat -S SVP-SEP-/.test(l)));
    assert.ok(lines.includes('iptables-nft -w -t filter -S') && lines.includes('ip6tables-nft -w -t filter -S'));
    assert.ok(!lines.some((l) => l.includes('-save')), 'no iptables-save at all');
    assert.ok(lines.some((l) => l.startsWith('iptables-nft -w -t nat -C PREROUTING')));
    assert.ok(!lines.some((l) => l.includes('restore')), 'nothing sent');
    // A new input with the same content renders (digests) and still trusts the memory.
    const again = await resync(world());
    assert.equal(again.r.check, 'summary');
    assert.deepEqual(readsBack(again.lines), []);
  });

  const disagreeing: [string, (k: Awaited<ReturnType<typeof synced>>) => void, RegExp][] = [
    ['a chain deleted (-X)', (k) => k.nat.get('IPv4')!.delete([...k.nat.get('IPv4')!.keys()].find((c) => c.startsWith('SVP-SEP-'))!), /IPv4 nat: 1 of our \d+ chains missing/],
    ['the nat table deleted', (k) => k.nat.get('IPv4')!.clear(), /IPv4 nat: \d+ of our \d+ chains missing/],
    ['a chain of ours nobody wrote', (k) => k.nat.get('IPv4')!.set('SVP-SEP-NOTOURS', []), /chains not written by us \(SVP-SEP-NOTOURS\)/],
    ['SVP-SERVICES flushed', (k) => k.nat.get('IPv4')!.set('SVP-SERVICES', []), /IPv4 nat SVP-SERVICES: 0 rules, \d+ written/],
    ['every nat rule flushed (-F)', (k) => { for (const c of k.nat.get('IPv4')!.keys()) k.nat.get('IPv4')!.set(c, []); }, /IPv4 nat SVP-SERVICES: 0 rules/],
    ['a Service chain\'s rule rewritten', (k) => {
      const [name, rules] = [...k.nat.get('IPv4')!].find(([c]) => c.startsWith('SVP-SEP-'))!;
      k.nat.get('IPv4')!.set(name, rules.map((r) => r.replace(/--to-destination \S+/, '--to-destination 10.9.9.9:1')));
    }, /IPv4 nat SVP-SEP-\w+: rules differ/],
    ['the traffic set flushed', (k) => k.sets.set('SVP-ENDPOINT-TRAFFIC', 0), /ipset SVP-ENDPOINT-TRAFFIC: 0 entries, 2 written/],
    ['the traffic set destroyed', (k) => k.sets.delete('SVP6-ENDPOINT-TRAFFIC'), /ipset SVP6-ENDPOINT-TRAFFIC: missing/],
  ];
  for (const [what, tamper, why] of disagreeing) {
    it(`${what}: reads everything back, says why, and the next resync trusts the memory again`, async () => {
      const k = await synced();
      tamper(k);
      const { r, lines } = await k.resync();
      assert.equal(r.check, 'read-back');
      assert.ok(r.readBackWhy!.some((w) => why.test(w)), JSON.stringify(r.readBackWhy));
      assert.deepEqual(readsBack(lines), READ_BACK);
      // (The fake's kernel is not repaired by the restore: put it back as the read-back would have.)
      const fresh = fakeKernel(k.i);
      for (const [f, chains] of fresh.nat) k.nat.set(f, chains);
      for (const [n, c] of fresh.sets) k.sets.set(n, c);
      const next = await k.resync();
      assert.equal(next.r.check, 'summary');
      assert.deepEqual(readsBack(next.lines), []);
    });
  }

  it('a Service chain outside this resync\'s slice: found by a later resync as the slice rotates', async () => {
    const k = await synced('nft', { sliceChains: 1 });
    const perService = [...k.nat.get('IPv4')!.keys()].filter((c) => /^SVP-(SVC|SEP)-/.test(c));
    assert.ok(perService.length >= 4);
    // The first resync compares one of them; tamper with another.
    const first = await k.resync();
    assert.equal(first.r.check, 'summary');
    const listed = first.lines.filter((l) => /^iptables-nft -w -t nat -S SVP-(SVC|SEP)-/.test(l)).map((l) => l.split(' ').at(-1)!);
    assert.equal(listed.length, 1);
    const target = perService.find((c) => !listed.includes(c))!;
    k.nat.get('IPv4')!.set(target, []);
    const checks: string[] = [];
    for (let n = 0; n < perService.length && !checks.includes('read-back'); n++) checks.push((await k.resync()).r.check!);
    assert.equal(checks.at(-1), 'read-back', JSON.stringify(checks));
  });

  it('every Nth resync reads back even when the check agrees; a failed sync makes the next one read back', async () => {
    const k = await synced('nft', { readBackEvery: 3 });
    const checks = [];
    for (let n = 0; n < 4; n++) checks.push((await k.resync()).r);
    assert.deepEqual(checks.map((r) => r.check), ['summary', 'summary', 'read-back', 'summary']);
    assert.deepEqual(checks[2]!.readBackWhy, ['the periodic read-back (every 3 resyncs)']);
    k.fake.on('iptables-nft-restore', [], { exitCode: 2, stderr: 'refused' });
    const changed = world(true);
    await assert.rejects(k.s.sync(changed, { changed: new Set(['default/a']) }));
    k.fake.on('iptables-nft-restore', []);
    const after = await k.resync(changed);
    assert.equal(after.r.check, 'read-back');
    assert.match(after.r.readBackWhy![0]!, /failed/);
  });

  it('no cheap check without nft\'s view of the tables: iptables-legacy reads back at every resync', async () => {
    const k = await synced('legacy');
    const { r, lines } = await k.resync();
    assert.equal(r.check, 'read-back');
    assert.deepEqual(r.readBackWhy, ['no chain listing here (iptables-legacy, or no nft)']);
    assert.ok(lines.includes('iptables-legacy-save -t nat'));
    assert.ok(!lines.includes('nft list chains'));
  });

  it('nft failing to list is no agreement', async () => {
    const k = await synced();
    k.fake.on('nft', ['list', 'chains'], { exitCode: 1, stderr: 'nft: not found' });
    const { r, lines } = await k.resync();
    assert.equal(r.check, 'read-back');
    assert.deepEqual(readsBack(lines), READ_BACK);
  });
});
