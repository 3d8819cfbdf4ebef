// iptables apply against the real kernel, in a throw-away network namespace: the
// first apply loads everything, a second sends nothing, a change sends only the
// chains that changed, drift converges, other chains are never touched, cleanup
// removes exactly ours, and a Service with bad input keeps its rules.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyIptables, cleanupIptables, IptablesRunner } from '../../../src/backends/iptables/apply.js';
import { parseSavedChains } from '../../../src/backends/iptables/document.js';
import { renderIptables } from '../../../src/backends/iptables/render.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';
import { features } from '../../helpers/features.js';
import { withNetns, type TestNetns } from './netns.js';

const target = (ns: TestNetns) => ({ run: ns.run, host: false });

/** Our chains in the namespace equal a full render of `inp` (both families, both tables). */
async function assertKernelMatches(ns: TestNetns, inp: RenderInput): Promise<void> {
  for (const t of renderIptables(inp)) {
    const save = (await ns.exec([t.family === 'IPv4' ? 'iptables-save' : 'ip6tables-save'])).stdout;
    for (const table of ['filter', 'nat'] as const) {
      assert.deepEqual(Object.fromEntries(parseSavedChains(save, table)), Object.fromEntries(t[table].map((c) => [c.name, c.rules])), `${t.family} ${table}`);
    }
  }
}

const two = (eps: string[]) =>
  input(
    [
      svc({ name: 'a', clusterIPs: ['10.96.0.10', 'fd00:10:96::10'], ports: [port(80, 8080)], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } }),
      svc({ name: 'b', type: 'NodePort', clusterIPs: ['10.96.0.11'], ports: [port(80, 8080, { nodePort: 30011 })] }),
    ],
    [
      slice('a', eps.map((x) => ep(x, 'node1')), [{ port: 8080 }]),
      slice('a', [ep('fd00:244:1::10', 'node1')], [{ port: 8080 }], { addressType: 'IPv6' }),
      slice('b', [ep('10.244.2.11', 'node2')], [{ port: 8080 }]),
    ],
  );

describe('iptables apply (in a throw-away namespace)', () => {
  it('loads everything, adds the built-in jumps, and a second apply sends nothing', async () => {
    await withNetns(async (ns) => {
      const inp = two(['10.244.1.10', '10.244.1.11']);
      const first = await applyIptables(inp, {}, target(ns));
      assert.ok(first.changes > 0);
      await assertKernelMatches(ns, inp);
      for (const [tool, table, chain, jump] of [
        ['iptables-save', 'nat', 'PREROUTING', 'SVP-SERVICES'], ['iptables-save', 'nat', 'OUTPUT', 'SVP-SERVICES'],
        ['iptables-save', 'nat', 'POSTROUTING', 'SVP-POSTROUTING'], ['iptables-save', 'filter', 'INPUT', 'SVP-INPUT'],
        ['ip6tables-save', 'filter', 'FORWARD', 'SVP-FORWARD'], ['ip6tables-save', 'filter', 'OUTPUT', 'SVP-OUTPUT'],
      ] as const) {
        const save = (await ns.exec([tool, '-t', table])).stdout;
        assert.match(save, new RegExp(`^-A ${chain} .*-j ${jump}$`, 'm'), `${tool} ${table} ${chain}`);
      }
      const second = await applyIptables(inp, {}, target(ns));
      assert.deepEqual(second, { changes: 0, transaction: '' });
    });
  });

  it('a changed endpoint list sends only the chains that changed, and deletes the chain of the removed endpoint', async () => {
    await withNetns(async (ns) => {
      await applyIptables(two(['10.244.1.10', '10.244.1.11']), {}, target(ns));
      const next = two(['10.244.1.10']);
      const r = await applyIptables(next, {}, target(ns));
      const declared = [...r.transaction.matchAll(/^:(\S+)/gm)].map((m) => m[1]);
      // Service a's IPv4 policy chain and the removed endpoint chain, nothing else.
      assert.equal(declared.length, 2, r.transaction);
      assert.match(r.transaction, /^-X SVP-SEP-/m);
      assert.doesNotMatch(r.transaction, /SVP-POSTROUTING|SVP-INPUT|10\.96\.0\.11|IPv6/);
      await assertKernelMatches(ns, next);
      assert.equal((await applyIptables(next, {}, target(ns))).changes, 0);
    });
  });

  it('converges after drift: a deleted rule, a stale chain of ours, a removed jump', async () => {
    await withNetns(async (ns) => {
      const inp = two(['10.244.1.10']);
      await applyIptables(inp, {}, target(ns));
      await ns.exec(['iptables', '-t', 'nat', '-D', 'SVP-POSTROUTING', '1']);
      await ns.exec(['iptables', '-t', 'nat', '-N', 'SVP-SVC-STALE']);
      await ns.exec(['iptables', '-t', 'nat', '-A', 'SVP-SVC-STALE', '-j', 'RETURN']);
      await ns.exec(['iptables', '-t', 'filter', '-D', 'INPUT', '-m', 'comment', '--comment', 'svcplane input rules', '-j', 'SVP-INPUT']);
      const r = await applyIptables(inp, {}, target(ns));
      assert.equal(r.changes, 3, r.transaction);
      await assertKernelMatches(ns, inp);
      assert.match((await ns.exec(['iptables-save', '-t', 'filter'])).stdout, /^-A INPUT .*-j SVP-INPUT$/m);
      assert.equal((await applyIptables(inp, {}, target(ns))).changes, 0);
    });
  });

  it('never touches chains that are not ours, and cleanup removes exactly ours', async () => {
    await withNetns(async (ns) => {
      // kube-proxy's chains, present before and after.
      await ns.exec(['iptables', '-t', 'nat', '-N', 'KUBE-SERVICES']);
      await ns.exec(['iptables', '-t', 'nat', '-A', 'KUBE-SERVICES', '-d', '10.96.0.1/32', '-j', 'RETURN']);
      await ns.exec(['iptables', '-t', 'nat', '-I', 'PREROUTING', '-j', 'KUBE-SERVICES']);
      await ns.exec(['iptables', '-t', 'filter', '-A', 'FORWARD', '-j', 'ACCEPT']);
      const before = (await ns.exec(['iptables-save'])).stdout;
      await applyIptables(features['loadbalancer-source-ranges']!, {}, target(ns));
      const during = (await ns.exec(['iptables-save'])).stdout;
      assert.match(during, /^-A KUBE-SERVICES -d 10\.96\.0\.1\/32 -j RETURN$/m);
      assert.match(during, /^-A PREROUTING -j KUBE-SERVICES$/m);
      const removed = await cleanupIptables(ns.run);
      assert.ok(removed > 10, `removed ${removed}`);
      const after = (await ns.exec(['iptables-save'])).stdout;
      // The traffic set's counting rules made iptables create the mangle table; cleanup
      // leaves it empty (built-in chains only), as iptables itself would.
      const strip = (s: string) =>
        s.split('\n').filter((l) => !l.startsWith('#')).join('\n').split(/^(?=\*)/m).filter((table) => !table.startsWith('*mangle') || /^-A /m.test(table)).join('');
      assert.match(during, /^-A POSTROUTING .*--match-set SVP-ENDPOINT-TRAFFIC/m);
      assert.equal(strip(after), strip(before));
      assert.doesNotMatch((await ns.exec(['ip6tables-save'])).stdout, /SVP-/);
      assert.equal((await ns.exec(['ipset', 'list', '-n'])).stdout.trim(), '', 'the traffic sets are gone');
      assert.equal(await cleanupIptables(ns.run), 0);
    });
  });

  it('dry run reports the transaction and sends nothing', async () => {
    await withNetns(async (ns) => {
      const r = await applyIptables(features['nodeport']!, { dryRun: true }, target(ns));
      assert.ok(r.changes > 0);
      assert.match(r.transaction, /^\*nat$/m);
      assert.doesNotMatch((await ns.exec(['iptables-save'])).stdout, /SVP-/);
    });
  });

  it("a Service whose input was skipped keeps exactly the rules the kernel has for it", async () => {
    await withNetns(async (ns) => {
      const full = two(['10.244.1.10', '10.244.1.11']);
      await applyIptables(full, {}, target(ns));
      const saveBefore = (await ns.exec(['iptables-save', '-t', 'nat'])).stdout;
      // Service a's input is gone (malformed, skipped); b changes.
      const without = input(
        [svc({ name: 'b', type: 'NodePort', clusterIPs: ['10.96.0.11'], ports: [port(80, 8080, { nodePort: 30011 })] })],
        [slice('b', [ep('10.244.2.12', 'node2')], [{ port: 8080 }])],
      );
      const r = await applyIptables(without, { preserveServices: ['default/a'] }, target(ns));
      assert.ok(r.changes > 0);
      const saveAfter = (await ns.exec(['iptables-save', '-t', 'nat'])).stdout;
      const aRules = (s: string) => s.split('\n').filter((l) => /default\/a:/.test(l)).sort();
      assert.deepEqual(aRules(saveAfter), aRules(saveBefore));
      assert.equal(aRules(saveAfter).length > 4, true);
      assert.match(saveAfter, /--to-destination 10\.244\.2\.12:8080/);
      // The NodePort jump is still the last rule of SVP-SERVICES.
      const services = saveAfter.split('\n').filter((l) => l.startsWith('-A SVP-SERVICES '));
      assert.match(services.at(-1)!, /-j SVP-NODEPORTS$/);
      // And it stays converged.
      assert.equal((await applyIptables(without, { preserveServices: ['default/a'] }, target(ns))).changes, 0);
      // Once the input is good again, a is rendered normally.
      await applyIptables(full, {}, target(ns));
      await assertKernelMatches(ns, full);
    });
  });

  it('a transaction large enough for the whole-table fetch (restore-input.ts) loads exactly the render', async () => {
    await withNetns(async (ns) => {
      const n = 60;
      const names = Array.from({ length: n }, (_, i) => `big-${i}`);
      const inp = input(
        names.map((name, i) => svc({ name, clusterIPs: [`10.96.1.${i + 1}`], ports: [port(80, 8080)] })),
        names.map((name, i) => slice(name, Array.from({ length: 10 }, (_, j) => ep(`10.244.${i + 1}.${j + 1}`, 'node1')), [{ port: 8080 }])),
      );
      // The fetch from 500 chains on (the default is higher: a test need not load thousands).
      const fromChains = 500;
      const big = { run: new IptablesRunner(ns.name, undefined, undefined, fromChains), host: false };
      const first = await applyIptables(inp, {}, big);
      const declared = first.transaction.split('\n').filter((l) => l.startsWith(':')).length;
      assert.ok(declared >= fromChains, `${declared} chains declared: too few to exercise the fetch`);
      await assertKernelMatches(ns, inp);
      assert.deepEqual(await applyIptables(inp, {}, big), { changes: 0, transaction: '' });
    });
  });
});
