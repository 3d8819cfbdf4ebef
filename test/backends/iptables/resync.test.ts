// The resync's cheap check against a real kernel (iptables-nft in a throw-away namespace):
// each way operators and other tools disturb the tables — `iptables -t nat -F`, `-X`, one
// chain deleted, SVP-SERVICES flushed, a jump deleted from a built-in chain, the nat table
// replaced by another tool's restore or deleted with nft, one Service chain changed, the
// traffic set flushed — is repaired by the next resync, and a resync with nothing disturbed
// reads nothing back (IptablesSyncResult.check; the agent logs it, last test).

import assert from 'node:assert/strict';
import { execa } from 'execa';
import { describe, it } from 'node:test';
import { IptablesRunner } from '../../../src/backends/iptables/apply.js';
import { createIptablesSyncer } from '../../../src/backends/iptables/create-syncer.js';
import { parseSavedChains } from '../../../src/backends/iptables/document.js';
import { RulesetWatch } from '../../../src/backends/iptables/ruleset-watch.js';
import { IptablesSyncer, type ResyncOptions } from '../../../src/backends/iptables/syncer.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';
import { assertKernelMatches } from './kernel-state.js';
import { withNetns, type TestNetns } from './netns.js';

const world: RenderInput = input(
  [svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80, 8080)] }), svc({ name: 'db', clusterIPs: ['10.96.0.11'], ports: [port(5432)] })],
  [slice('web', [ep('10.244.1.10', 'node1'), ep('10.244.1.11', 'node1')], [{ port: 8080 }]), slice('db', [ep('10.244.2.11', 'node2')], [{ port: 5432 }])],
);

/** A runner that counts nat read-backs (iptables-save -t nat). */
class CountingRunner extends IptablesRunner {
  natReadBacks = 0;
  override async compareSaved(...args: Parameters<IptablesRunner['compareSaved']>) {
    if (args[1] === 'nat') this.natReadBacks++;
    return super.compareSaved(...args);
  }
}

async function nat(ns: TestNetns): Promise<Map<string, string[]>> {
  return parseSavedChains((await ns.exec(['iptables-save', '-t', 'nat'])).stdout, 'nat');
}

async function run(ns: TestNetns, argv: string[], stdin?: string): Promise<void> {
  const r = await execa('ip', ['netns', 'exec', ns.name, ...argv], { reject: false, ...(stdin === undefined ? {} : { input: stdin }) });
  assert.equal(r.exitCode, 0, `${argv.join(' ')}: ${r.stderr}`);
}

/** Polls `ok` until it holds (generous bound: the machine is shared). */
async function until(ok: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The processes in the namespace (a watch's monitor is the only one we leave running there). */
async function pidsIn(ns: string): Promise<number[]> {
  const r = await execa('ip', ['netns', 'pids', ns]);
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

/**
 * Commits a marker (a table of nobody's, added and deleted in one transaction: no change of
 * ours) and waits until the watch has printed it: commits come in order, so every change
 * before it has been seen too, and none is left to land in the next resync's period.
 */
async function caughtUp(ns: TestNetns, watch: RulesetWatch): Promise<void> {
  const marker = execa('ip', ['netns', 'exec', ns.name, 'nft', 'add table inet svp-marker; delete table inet svp-marker']);
  const pid = marker.pid!;
  assert.equal((await marker).exitCode, 0);
  await until(() => watch.lastCommitPid === pid, 'the watch prints the marker');
}

/** Tampering, and the check the next resync must have used to repair it (`nft: false`: nft does not see it). */
const TAMPERING: { what: string; check: 'summary' | 'read-back'; nft?: false; tamper: (ns: TestNetns) => Promise<void> }[] = [
  { what: 'iptables -t nat -F (every rule, the jumps too)', check: 'read-back', tamper: (ns) => run(ns, ['iptables', '-t', 'nat', '-F']) },
  {
    what: 'iptables -t nat -F; iptables -t nat -X (every chain of ours gone)',
    check: 'read-back',
    tamper: async (ns) => {
      await run(ns, ['iptables', '-t', 'nat', '-F']);
      await run(ns, ['iptables', '-t', 'nat', '-X']);
    },
  },
  {
    what: 'one endpoint chain deleted (-F, -X, after flushing the chains that jump to it)',
    check: 'read-back',
    tamper: async (ns) => {
      const chains = await nat(ns);
      const sep = [...chains.keys()].find((c) => c.startsWith('SVP-SEP-'))!;
      for (const [c, rules] of chains) if (rules.some((r) => r.endsWith(`-j ${sep}`))) await run(ns, ['iptables', '-t', 'nat', '-F', c]);
      await run(ns, ['iptables', '-t', 'nat', '-F', sep]);
      await run(ns, ['iptables', '-t', 'nat', '-X', sep]);
    },
  },
  { what: 'SVP-SERVICES flushed', check: 'read-back', tamper: (ns) => run(ns, ['iptables', '-t', 'nat', '-F', 'SVP-SERVICES']) },
  {
    what: 'the jump from PREROUTING deleted',
    // Nothing of ours changed: the jumps, checked at every resync, are put back without a read-back.
    check: 'summary',
    tamper: (ns) => run(ns, ['iptables', '-t', 'nat', '-D', 'PREROUTING', '-m', 'comment', '--comment', 'svcplane service portals', '-j', 'SVP-SERVICES']),
  },
  {
    what: 'the nat table replaced by another tool (iptables-restore without --noflush)',
    check: 'read-back',
    tamper: (ns) => run(ns, ['iptables-restore'], '*nat\n:PREROUTING ACCEPT [0:0]\n:OTHER-TOOL - [0:0]\n-A PREROUTING -j OTHER-TOOL\nCOMMIT\n'),
  },
  {
    what: 'the nat table deleted and created again with nft',
    check: 'read-back',
    tamper: async (ns) => {
      await run(ns, ['nft', 'delete', 'table', 'ip', 'nat']);
      await run(ns, ['nft', 'add', 'table', 'ip', 'nat']);
    },
  },
  {
    what: 'a rule of an endpoint chain deleted',
    check: 'read-back',
    tamper: async (ns) => {
      const sep = [...(await nat(ns)).keys()].find((c) => c.startsWith('SVP-SEP-'))!;
      await run(ns, ['iptables', '-t', 'nat', '-D', sep, '1']);
    },
  },
  { what: 'the traffic set flushed', check: 'read-back', nft: false, tamper: (ns) => run(ns, ['ipset', 'flush', 'SVP-ENDPOINT-TRAFFIC']) },
];

describe('iptables resync: the cheap check, and a read-back only when it disagrees (real kernel)', () => {
  for (const t of TAMPERING) {
    it(`${t.what}: repaired by the next resync (${t.check})`, async () => {
      await withNetns(async (ns) => {
        const runner = new CountingRunner(ns.name);
        const s = new IptablesSyncer(runner);
        assert.equal((await s.sync(world)).check, 'read-back');
        assert.equal(runner.natReadBacks, 2, 'both families at start');
        // Untouched: the resync trusts its memory, nat is not read back.
        const quiet = await s.sync(world, { full: true });
        assert.deepEqual([quiet.check, quiet.changes, runner.natReadBacks], ['summary', 0, 2]);

        await t.tamper(ns);
        const repaired = await s.sync(world, { full: true });
        assert.equal(repaired.check, t.check, JSON.stringify(repaired.readBackWhy));
        assert.ok(repaired.changes > 0, 'something was put back');
        await assertKernelMatches(ns, world, true);

        const after = await s.sync(world, { full: true });
        assert.deepEqual([after.check, after.changes], ['summary', 0]);
      });
    });
  }

  for (const t of TAMPERING) {
    it(`${t.what}, with the ruleset watch: ${t.nft === false ? 'its count differs' : 'seen as another process\'s change'}, repaired by the next resync (${t.check})`, async () => {
      await withNetns(async (ns) => {
        const runner = new CountingRunner(ns.name);
        const watch = new RulesetWatch(ns.name);
        const s = new IptablesSyncer(runner, undefined, undefined, true, { watch });
        try {
          assert.equal((await s.sync(world)).check, 'read-back');
          const quiet = await s.sync(world, { full: true });
          assert.deepEqual([quiet.check, quiet.changes, runner.natReadBacks], ['watched', 0, 2]);

          await t.tamper(ns);
          await caughtUp(ns, watch);
          if (t.nft !== false) assert.ok(watch.foreignSeen > 0, 'the watch saw the change');
          const repaired = await s.sync(world, { full: true });
          assert.equal(repaired.check, t.check, JSON.stringify(repaired));
          if (t.nft !== false) assert.match(repaired.checkWhy![0]!, /^generation \d+ by (iptables|ip6tables|nft|iptables-restor) \(pid \d+\)/);
          assert.ok(repaired.changes > 0, 'something was put back');
          await assertKernelMatches(ns, world, true);
          // Our own repair is not someone else's change.
          const after = await s.sync(world, { full: true });
          assert.deepEqual([after.check, after.changes], ['watched', 0], JSON.stringify(after));
        } finally {
          s.close();
        }
      });
    });
  }

  it('with the ruleset watch: another process\'s rule in its own chain is no change of ours; a killed monitor is replaced and the cheap check runs once', async () => {
    await withNetns(async (ns) => {
      const watch = new RulesetWatch(ns.name);
      const s = new IptablesSyncer(new IptablesRunner(ns.name), undefined, undefined, true, { watch });
      try {
        await s.sync(world);
        await run(ns, ['iptables', '-t', 'nat', '-N', 'KUBE-OTHER']);
        await run(ns, ['iptables', '-t', 'nat', '-A', 'KUBE-OTHER', '-j', 'RETURN']);
        // The -N counts (a rename prints only that), the -A in a chain not ours does not.
        await caughtUp(ns, watch);
        assert.equal((await s.sync(world, { full: true })).check, 'summary');
        await run(ns, ['iptables', '-t', 'nat', '-A', 'KUBE-OTHER', '-j', 'RETURN']);
        await caughtUp(ns, watch);
        assert.equal(watch.foreignSeen, 0);
        assert.equal((await s.sync(world, { full: true })).check, 'watched');

        const [monitor] = await pidsIn(ns.name);
        assert.ok(monitor, 'the monitor runs in the namespace');
        process.kill(monitor!, 'SIGKILL');
        await until(() => !watch.listening, 'the watch notices');
        const r = await s.sync(world, { full: true });
        assert.equal(r.check, 'summary');
        assert.match(r.checkWhy![0]!, /^the monitor killed by SIGKILL/);
        const now = await pidsIn(ns.name);
        assert.equal(now.length, 1);
        assert.notEqual(now[0], monitor);
        assert.equal((await s.sync(world, { full: true })).check, 'watched');
      } finally {
        s.close();
      }
      await until(async () => (await pidsIn(ns.name)).length === 0, 'close() stops the monitor');
    });
  });

  it('the monitor dies with the process that started it, even by SIGKILL (no leak)', async () => {
    await withNetns(async (ns) => {
      const child = execa('node', ['--import', 'tsx', new URL('./watch-child.ts', import.meta.url).pathname, ns.name], { reject: false, stdout: 'pipe', buffer: false });
      const listening = new Promise<void>((resolve) => child.stdout!.on('data', (c: Buffer) => c.toString().includes('listening') && resolve()));
      await listening;
      assert.equal((await pidsIn(ns.name)).length, 1, 'its monitor runs');
      child.kill('SIGKILL');
      await child;
      await until(async () => (await pidsIn(ns.name)).length === 0, 'the monitor is gone');
    });
  });

  it('iptables-legacy: no monitor is started (nft does not see x_tables)', async () => {
    await withNetns(async (ns) => {
      const watch = new RulesetWatch(ns.name);
      const s = new IptablesSyncer(new IptablesRunner(ns.name, 'legacy'), undefined, undefined, true, { watch });
      try {
        await s.sync(world);
        const r = await s.sync(world, { full: true });
        assert.equal(r.check, 'read-back');
        assert.deepEqual(await pidsIn(ns.name), []);
        assert.equal(watch.listening, false);
      } finally {
        s.close();
        await execa('ip', ['netns', 'exec', ns.name, 'iptables-legacy', '-t', 'nat', '-F'], { reject: false });
      }
    });
  });

  it('a chain deleted is found by its name alone (no Service chain compared), SVP-SERVICES flushed by its rules', async () => {
    await withNetns(async (ns) => {
      const noSlice: ResyncOptions = { sliceChains: 0 };
      const s = new IptablesSyncer(new IptablesRunner(ns.name), undefined, undefined, true, noSlice);
      await s.sync(world);
      await TAMPERING[2]!.tamper(ns);
      const r = await s.sync(world, { full: true });
      assert.equal(r.check, 'read-back');
      assert.ok(r.readBackWhy!.some((w) => /IPv4 nat: 1 of our \d+ chains missing/.test(w)), JSON.stringify(r.readBackWhy));
      await assertKernelMatches(ns, world, true);
    });
  });

  it('the agent\'s syncer logs which check each full sync used, and why it read back', async () => {
    await withNetns(async (ns) => {
      const logged: { obj: Record<string, unknown>; msg: string }[] = [];
      const log = { info: (obj: object, msg: string) => logged.push({ obj: obj as Record<string, unknown>, msg }), warn: () => {} };
      const syncer = createIptablesSyncer({ netns: ns.name, log });
      const req = { full: true, changed: new Set<string>(), preserve: [] };
      try {
        await syncer.sync(world, req);
        await syncer.sync(world, req);
        await run(ns, ['iptables', '-t', 'nat', '-F']);
        // The agent's syncer watches the ruleset (its monitor is the one process in the namespace); wait until it has seen the flush.
        const seen = async () => (await syncer.sync(world, req)) && logged.at(-1)!.obj.check !== 'watched';
        await until(seen, 'a resync sees the flush');
        // Resyncs before the monitor's line arrived trusted the watch (those are 'watched').
        const checks = logged.map((l) => l.obj.check);
        assert.deepEqual([checks[0], checks[1], checks.at(-1)], ['read-back', 'watched', 'read-back']);
        assert.ok(checks.slice(1, -1).every((c) => c === 'watched'), JSON.stringify(checks));
        const last = logged.at(-1)!.obj;
        assert.deepEqual(logged[0]!.obj.why, ['start: no memory of the kernel']);
        assert.equal(logged[1]!.obj.why, undefined);
        assert.match((last.why as string[])[0]!, /^IPv4 nat SVP-SERVICES: 0 rules, \d+ written$/);
        assert.match((last.checkedBecause as string[])[0]!, /^generation \d+ by iptables/);
        assert.match(logged[1]!.msg, /no other process changed our tables/);
        await assertKernelMatches(ns, world, true);
      } finally {
        await syncer.close!();
      }
      await until(async () => (await pidsIn(ns.name)).length === 0, 'close() stops the monitor');
    });
  });
});
