// The resync's decision through a FakeExec standing for the kernel: what the cheap check
// reads (nft's chain names, the skeleton's and a slice of nat chains with `iptables -S`,
// the sets' entry counts) decides whether the full sync reads nat and the sets back
// (iptables-save -t nat, ipset save) or trusts its memory. resync.test.ts does the same
// against a real kernel with real tampering.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IptablesRunner } from '../../../src/backends/iptables/apply.js';
import { renderIptables } from '../../../src/backends/iptables/render.js';
import { RulesetWatch } from '../../../src/backends/iptables/ruleset-watch.js';
import { IptablesSyncer, type ResyncOptions } from '../../../src/backends/iptables/syncer.js';
import { FakeExec } from '../../../src/exec/fake.js';
import { fakeSpawnWatch } from '../../../src/exec/fake-watch.js';
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

describe('iptables resync with a ruleset watch (xtables-monitor, scripted)', () => {
  async function watched(flavour: 'nft' | 'legacy' = 'nft') {
    const w = fakeSpawnWatch();
    const k = await synced(flavour, { watch: new RulesetWatch(undefined, w.spawn) });
    return { ...k, w, monitor: () => w.started.at(-1)! };
  }
  const CHEAP = ['nft list chains', 'iptables-nft -w -t filter -S'];

  it('no other process changed anything: only the sets\' counts are read, no iptables or nft process runs', async () => {
    const k = await watched();
    assert.equal(k.w.started.length, 1, 'started with the first sync');
    // Our own commits (the first sync's restore) are told by the pid the exec layer reported.
    k.monitor().print(` EVENT: -4 -t nat -A SVP-SERVICES -j SVP-SVC-X\nNEWGEN: GENID=5 PID=${k.fake.lastPid} NAME=iptables-nft-re`);
    // Someone else's rule in someone else's chain cannot touch ours.
    k.monitor().print(' EVENT: -4 -t nat -A KUBE-SVC-A -j RETURN\nNEWGEN: GENID=6 PID=1 NAME=iptables');
    const { r, lines } = await k.resync();
    assert.equal(r.check, 'watched');
    assert.equal(r.changes, 0);
    assert.deepEqual(lines, ['ipset list -t']);
  });

  it('a foreign change to our tables: the cheap check runs (and says why), then the watch vouches again', async () => {
    const k = await watched();
    k.monitor().print(' EVENT: -4 -t nat -D SVP-SERVICES -j SVP-SVC-X\nNEWGEN: GENID=9 PID=1 NAME=iptables');
    const { r, lines } = await k.resync();
    assert.equal(r.check, 'summary');
    assert.deepEqual(r.checkWhy, ['generation 9 by iptables (pid 1): -4 -t nat -D SVP-SERVICES -j SVP-SVC-X']);
    for (const l of CHEAP) assert.ok(lines.includes(l), l);
    assert.equal((await k.resync()).r.check, 'watched');
  });

  it('the traffic set changed (ipset does not show in nft): still found by its count', async () => {
    const k = await watched();
    k.sets.set('SVP-ENDPOINT-TRAFFIC', 0);
    const { r } = await k.resync();
    assert.equal(r.check, 'read-back');
    assert.deepEqual(r.readBackWhy, ['ipset SVP-ENDPOINT-TRAFFIC: 0 entries, 2 written']);
  });

  it('the monitor died: the next resync starts another and runs the cheap check; then trusts the new one', async () => {
    const k = await watched();
    k.monitor().die();
    const { r, lines } = await k.resync();
    assert.equal(k.w.started.length, 2);
    assert.equal(r.check, 'summary');
    assert.match(r.checkWhy![0]!, /^the monitor exited 1: .*No buffer space available/);
    for (const l of CHEAP) assert.ok(lines.includes(l), l);
    assert.equal((await k.resync()).r.check, 'watched');
  });

  it('a full sync during which the monitor died (our own transaction too large for it) checks once more at its end', async () => {
    const k = await watched();
    // The restore of a changed input kills the monitor, as a large commit overflows its socket.
    k.fake.on('iptables-nft-restore', [], () => {
      k.monitor().die();
      // What the kernel then holds (the fake's tables follow no restore by themselves).
      for (const [f, chains] of fakeKernel(world(true)).nat) k.nat.set(f, chains);
      k.sets.set('SVP-ENDPOINT-TRAFFIC', 3);
      return {};
    });
    const { r, lines } = await k.resync(world(true));
    assert.equal(r.check, 'watched');
    assert.equal(r.settled, 'summary');
    assert.equal(k.w.started.length, 2);
    assert.ok(lines.includes('nft list chains'));
    k.fake.on('iptables-nft-restore', []);
    assert.equal((await k.resync(world(true))).r.check, 'watched');
  });

  it('a monitor that never listens vouches for nothing (the cheap check every resync), and no settling loop', async () => {
    const w = fakeSpawnWatch(false);
    const k = await synced('nft', { watch: new RulesetWatch(undefined, w.spawn) });
    const { r } = await k.resync();
    assert.equal(r.check, 'summary');
    assert.equal(r.settled, undefined);
    assert.ok(w.started.every((p) => p.killed), 'each one killed');
  });

  it('iptables-legacy: no monitor started (nft does not see x_tables); every resync reads back as before', async () => {
    const k = await watched('legacy');
    const { r } = await k.resync();
    assert.equal(r.check, 'read-back');
    assert.equal(k.w.started.length, 0);
  });

  it('close() kills the monitor, and no other starts after', async () => {
    const k = await watched();
    k.s.close();
    assert.ok(k.monitor().killed);
    const { r } = await k.resync();
    assert.equal(r.check, 'summary');
    assert.equal(k.w.started.length, 1);
  });
});
