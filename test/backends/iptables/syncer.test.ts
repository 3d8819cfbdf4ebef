// The partial syncer against the real kernel in a throw-away namespace: full sync
// at start, partial syncs that neither read back nor resend unchanged chains, drift
// repaired by the next full sync, and a failure forcing one.

import assert from 'node:assert/strict';
import { rulesWritten } from '../../../src/backends/iptables/document.js';
import { describe, it } from 'node:test';
import { IptablesRunner } from '../../../src/backends/iptables/apply.js';
import { parseSavedChains } from '../../../src/backends/iptables/document.js';
import { IptablesSyncer } from '../../../src/backends/iptables/syncer.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';
import { assertKernelMatches } from './kernel-state.js';
import { withNetns } from './netns.js';

/** A runner that counts read-backs and can be told to fail the next restore. */
class CountingRunner extends IptablesRunner {
  saves = 0;
  failNext = false;
  override async savedChains(...args: Parameters<IptablesRunner['savedChains']>) {
    this.saves++;
    return super.savedChains(...args);
  }
  // A full sync reads back through compareSaved (savedChains when Services are preserved).
  override async compareSaved(...args: Parameters<IptablesRunner['compareSaved']>) {
    this.saves++;
    return super.compareSaved(...args);
  }
  override async restoreTables(...args: Parameters<IptablesRunner['restoreTables']>) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('injected failure');
    }
    return super.restoreTables(...args);
  }
}

const inp = (eps: string[]): RenderInput =>
  input(
    [svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80, 8080)] }), svc({ name: 'db', clusterIPs: ['10.96.0.11'], ports: [port(5432)] })],
    [slice('web', eps.map((x) => ep(x, 'node1')), [{ port: 8080 }]), slice('db', [ep('10.244.2.11', 'node2')], [{ port: 5432 }])],
  );

describe('iptables syncer (partial sync)', () => {
  it('full at start, then partial syncs that send only the changed chains without reading back', async () => {
    await withNetns(async (ns) => {
      const run = new CountingRunner(ns.name);
      const s = new IptablesSyncer(run);
      const first = await s.sync(inp(['10.244.1.10']));
      assert.equal(first.full, true);
      assert.equal(run.saves, 4); // filter and nat, both families
      await assertKernelMatches(ns, inp(['10.244.1.10']));

      const second = await s.sync(inp(['10.244.1.10', '10.244.1.11']));
      assert.equal(second.full, false);
      assert.equal(run.saves, 4, 'a partial sync does not read back');
      // web's policy chain and the new endpoint chain; db untouched.
      assert.deepEqual([...second.transaction.matchAll(/^:(\S+)/gm)].length, 2, second.transaction);
      assert.doesNotMatch(second.transaction, /10\.96\.0\.11|10\.244\.2\.11/);
      // The counts the agent exports come from the diff; they agree with the text sent.
      assert.deepEqual(second.rulesWritten, rulesWritten(second.transaction));
      await assertKernelMatches(ns, inp(['10.244.1.10', '10.244.1.11']));

      const same = await s.sync(inp(['10.244.1.10', '10.244.1.11']));
      const { rulesOwned, ...rest } = same;
      assert.deepEqual(rest, { full: false, changes: 0, transaction: '', rulesWritten: new Map() });
      // The rule counts the agent exports (kubeproxy_sync_proxy_rules_iptables_total) stay as they were.
      assert.deepEqual(rulesOwned, second.rulesOwned);
      assert.ok(rulesOwned.some((r) => r.table === 'nat' && r.rules > 0), JSON.stringify(rulesOwned));
    });
  });

  it('a full sync repairs drift a partial sync cannot see; a failure forces the next sync to be full', async () => {
    await withNetns(async (ns) => {
      const run = new CountingRunner(ns.name);
      let now = 0;
      const s = new IptablesSyncer(run, 1000, () => now);
      const i = inp(['10.244.1.10']);
      await s.sync(i);
      await ns.exec(['iptables', '-t', 'nat', '-F', 'SVP-POSTROUTING']);
      assert.equal((await s.sync(i)).changes, 0, 'partial sync trusts its memory');
      now = 1500; // the full-sync interval has passed
      const repaired = await s.sync(i);
      assert.equal(repaired.full, true);
      assert.equal(repaired.changes, 1);
      await assertKernelMatches(ns, i);

      run.failNext = true;
      await assert.rejects(s.sync(inp(['10.244.1.12'])), /injected failure/);
      const after = await s.sync(inp(['10.244.1.12']));
      assert.equal(after.full, true);
      await assertKernelMatches(ns, inp(['10.244.1.12']));
      assert.equal((await s.sync(inp(['10.244.1.12']), { full: true })).changes, 0);
    });
  });

  it('a full sync that reuses the unchanged Services\' fragments still repairs their chains, and renders a change no caller named', async () => {
    await withNetns(async (ns) => {
      const s = new IptablesSyncer(new CountingRunner(ns.name));
      await s.sync(inp(['10.244.1.10']));
      // Behind the syncer's back: db's endpoint chain flushed, its ClusterIP rule deleted (db's input never changes).
      const nat = parseSavedChains((await ns.exec(['iptables-save', '-t', 'nat'])).stdout, 'nat');
      const dbEndpoint = [...nat].find(([name, rules]) => name.startsWith('SVP-SEP-') && rules.some((r) => r.includes('10.244.2.11')))![0];
      const dbClusterIP = nat.get('SVP-SERVICES')!.findIndex((r) => r.includes('10.96.0.11')) + 1;
      await ns.exec(['iptables', '-t', 'nat', '-F', dbEndpoint]);
      await ns.exec(['iptables', '-t', 'nat', '-D', 'SVP-SERVICES', String(dbClusterIP)]);
      // web's endpoints change, and the caller names no Service: the partial sync sends nothing.
      const next = inp(['10.244.1.12']);
      assert.equal((await s.sync(next, { changed: new Set() })).changes, 0);
      const full = await s.sync(next, { full: true });
      assert.equal(full.full, true);
      await assertKernelMatches(ns, next);
      assert.equal((await s.sync(next, { full: true })).changes, 0);
    });
  });
});
