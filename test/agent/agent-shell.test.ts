// The agent's I/O shell with a fake backend: what reaches the backend, how render
// errors and apply failures are handled, malformed input preserved and counted.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Agent, type AgentOptions } from '../../src/agent/agent.js';
import { createAgentMetrics } from '../../src/agent/metrics.js';
import { RenderFailed, type Syncer as RulesSyncer, type SyncResult as RulesSyncResult } from '../../src/backends/syncer.js';
import { DEFAULT_PROXY_CONFIG } from '../../src/model/config.js';
import { serializePlan } from '../../src/model/plan.js';
import type { RenderInput } from '../../src/model/render-input.js';
import { plan, port, sliceManifest, svc } from '../helpers/model.js';

/** Generous: each takes seconds at most; a hang fails here instead of holding `npm test`. */
const TIMEOUT = { timeout: 120_000 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const sliceDoc = sliceManifest;

interface Call {
  full: boolean;
  changed: string[];
  preserve: string[];
  endpoints: string[];
}

async function withAgent(
  behave: (input: RenderInput, n: number) => void | Partial<RulesSyncResult>,
  fn: (ctx: { calls: Call[]; dir: string; agent: Agent; logs: string[] }) => Promise<void>,
  backend = 'nftables',
  extra: Partial<AgentOptions> = {},
) {
  const logs: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'svcplane-agent-shell-'));
  writeFileSync(join(dir, 'plan.json'), serializePlan(plan([svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80)] }), svc({ name: 'api', clusterIPs: ['10.96.0.11'], ports: [port(80)] })])));
  writeFileSync(join(dir, 'web.json'), JSON.stringify(sliceDoc('web', ['10.244.1.10'])));
  writeFileSync(join(dir, 'api.json'), JSON.stringify(sliceDoc('api', ['10.244.1.20'])));
  const calls: Call[] = [];
  const rules: RulesSyncer = {
    backend: 'fake',
    async sync(input, req) {
      calls.push({
        full: req.full,
        changed: [...req.changed].sort(),
        preserve: [...req.preserve],
        endpoints: input.endpointSlices.flatMap((s) => s.endpoints.map((e) => e.address)).sort(),
      });
      const extra = behave(input, calls.length);
      return { full: req.full, changes: 1, ...(extra ?? {}) };
    },
  };
  const agent = new Agent({
    backend,
    mode: 'coexist',
    nodeName: 'node1',
    planFile: join(dir, 'plan.json'),
    endpointsFiles: [join(dir, 'web.json'), join(dir, 'api.json')],
    config: { ...DEFAULT_PROXY_CONFIG, syncPeriodSeconds: 60, minSyncPeriodSeconds: 0.05 },
    log: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }),
    healthAddr: { host: '127.0.0.1', port: 0 },
    rules,
    localAddresses: async () => ['172.18.0.1'],
    conntrack: async () => [],
    filePollMs: 50,
    metrics: createAgentMetrics({ backend }),
    ...extra,
  });
  await agent.start();
  try {
    await fn({ calls, dir, agent, logs });
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls `f`; the bound is generous (it only matters when the state never comes). */
async function until(f: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

test('a file change reaches the backend as an incremental sync of that Service only', TIMEOUT, async () => {
  await withAgent(() => {}, async ({ calls, dir }) => {
    await until(() => calls.length === 1);
    assert.equal(calls[0]!.full, true);
    writeFileSync(join(dir, 'web.json'), JSON.stringify(sliceDoc('web', ['10.244.1.10', '10.244.1.11'])));
    await until(() => calls.length === 2);
    assert.deepEqual(calls[1], { full: false, changed: ['default/web'], preserve: [], endpoints: ['10.244.1.10', '10.244.1.11', '10.244.1.20'] });
  });
});

test('a render error leaves the kernel alone, is counted, and is not retried until something changes', TIMEOUT, async () => {
  await withAgent(
    (input) => {
      if (input.endpointSlices.some((s) => s.endpoints.some((e) => e.address === '10.244.1.99'))) throw new RenderFailed(new Error('cannot render'));
    },
    async ({ calls, dir, agent }) => {
      await until(() => calls.length === 1);
      writeFileSync(join(dir, 'web.json'), JSON.stringify(sliceDoc('web', ['10.244.1.99'])));
      await until(() => calls.length === 2);
      // No retry of an input that does not render: sync #3 below, caused by another change,
      // must carry web along with it; a retry would have been sync #3 on its own.
      assert.equal(calls.length, 2, 'no retry of an input that does not render');
      assert.match(await agent.metrics.registry.metrics(), /svcplane_sync_proxy_rules_failures_total\{reason="render"\} 1/);
      writeFileSync(join(dir, 'api.json'), JSON.stringify(sliceDoc('api', ['10.244.1.21'])));
      await until(() => calls.length === 3);
      assert.deepEqual(calls[2]!.changed, ['default/api', 'default/web'], 'the failed keys go along with the next change');
    },
  );
});

test('an apply failure is retried as a full sync', TIMEOUT, async () => {
  await withAgent(
    (_input, n) => {
      if (n === 2) throw new Error('nft: transaction failed');
    },
    async ({ calls, dir, agent }) => {
      await until(() => calls.length === 1);
      writeFileSync(join(dir, 'web.json'), JSON.stringify(sliceDoc('web', ['10.244.1.12'])));
      await until(() => calls.length === 3);
      assert.equal(calls[1]!.full, false);
      assert.equal(calls[2]!.full, true);
      assert.deepEqual(calls[2]!.changed, [], 'the full retry covers every Service: it carries no keys');
      const text = await agent.metrics.registry.metrics();
      assert.match(text, /svcplane_sync_proxy_rules_failures_total\{reason="apply"\} 1/);
      // kube-proxy's nftables failure counter, for each family the sync programs (the plan is dual-stack).
      assert.match(text, /^kubeproxy_sync_proxy_rules_nftables_sync_failures_total\{ip_family="IPv4"\} 1$/m);
      assert.match(text, /^kubeproxy_sync_proxy_rules_nftables_sync_failures_total\{ip_family="IPv6"\} 1$/m);
      assert.equal(agent.livez().healthy, true);
    },
  );
});

test('iptables mode: restore failures (partial ones too) and the rules owned and written, per family and table', TIMEOUT, async () => {
  await withAgent(
    (_input, n) => {
      if (n === 2) throw new Error('iptables-restore: line 3 failed');
      return { iptablesRules: [{ family: 'IPv4', table: 'nat', owned: 10 + n, written: n }] };
    },
    async ({ calls, dir, agent }) => {
      await until(() => calls.length === 1);
      writeFileSync(join(dir, 'web.json'), JSON.stringify(sliceDoc('web', ['10.244.1.12'])));
      await until(() => calls.length === 3);
      // The third sync's metrics are set once it returned: wait for them.
      let text = '';
      const end = Date.now() + 20_000;
      while (!/^kubeproxy_sync_proxy_rules_iptables_total\{ip_family="IPv4",table="nat"\} 13$/m.test((text = await agent.metrics.registry.metrics()))) {
        if (Date.now() > end) assert.fail(`the third sync's rule counts never appeared:\n${text}`);
        await sleep(20);
      }
      assert.match(text, /^kubeproxy_sync_proxy_rules_iptables_restore_failures_total\{ip_family="IPv4"\} 1$/m);
      assert.match(text, /^kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total\{ip_family="IPv4"\} 1$/m, 'the failed sync was partial');
      assert.match(text, /^kubeproxy_sync_proxy_rules_iptables_total\{ip_family="IPv4",table="nat"\} 13$/m);
      assert.match(text, /^kubeproxy_sync_proxy_rules_iptables_last\{ip_family="IPv4",table="nat"\} 3$/m);
      assert.doesNotMatch(text, /nftables/, 'no nftables metrics in iptables mode');
    },
    'iptables',
  );
});

test('a malformed slice file is skipped, counted, and its Service preserved', TIMEOUT, async () => {
  await withAgent(() => {}, async ({ calls, dir, agent }) => {
    await until(() => calls.length === 1);
    writeFileSync(join(dir, 'api.json'), JSON.stringify(sliceDoc('api', [], { endpoints: 'nope' })));
    await until(() => calls.length === 2);
    assert.deepEqual(calls[1]!.preserve, ['default/api']);
    assert.deepEqual(calls[1]!.endpoints, ['10.244.1.10'], 'the bad slice is not read');
    assert.match(await agent.metrics.registry.metrics(), /svcplane_malformed_objects_total\{kind="EndpointSlice"\} 1/);
  });
});

test('a sysctl the backend needs and cannot set: one log line naming it, svcplane_sysctl_unset{name} 1, /healthz 503 naming it; set later, all clear', TIMEOUT, async () => {
  let unset = [{ name: 'net/ipv4/ip_forward', error: "EROFS: read-only file system, open '/proc/sys/net/ipv4/ip_forward'" }];
  await withAgent(
    (_input, _n) => ({ unsetSysctls: unset }),
    async ({ calls, agent, logs }) => {
      await until(() => calls.length >= 1);
      const named = logs.filter((l) => l.includes('sysctl net/ipv4/ip_forward is needed by the nftables backend and could not be set'));
      assert.equal(named.length, 1, logs.join(''));
      assert.match(await agent.metrics.registry.metrics(), /^svcplane_sysctl_unset\{name="net\/ipv4\/ip_forward"\} 1$/m);
      const r = await fetch(`http://127.0.0.1:${agent.listening.health!.port}/healthz`);
      assert.equal(r.status, 503);
      assert.deepEqual(((await r.json()) as { unsetSysctls: unknown }).unsetSysctls, unset);
      assert.equal((await fetch(`http://127.0.0.1:${agent.listening.health!.port}/livez`)).status, 200);

      unset = [];
      agent['queue']([]);
      await until(() => calls.length >= 2);
      await until(() => agent.healthz().healthy);
      assert.match(await agent.metrics.registry.metrics(), /^svcplane_sysctl_unset\{name="net\/ipv4\/ip_forward"\} 0$/m);
    },
  );
});

test('after a full sync that changed the kernel, and only then, the conntrack entries to ClusterIPs that were never DNATed are deleted', TIMEOUT, async () => {
  const cleanups: string[][] = [];
  const unNatedConntrack = async (input: RenderInput) => {
    cleanups.push(input.plan.services.flatMap((s) => s.clusterIPs).sort());
    return [{ args: ['-p', 'tcp', '--orig-dst', '10.96.0.10', '--reply-src', '10.96.0.10'], ok: true, deleted: 3 }];
  };
  // The first sync wrote rules (a node without them): the entries made before go.
  await withAgent(() => {}, async ({ calls, dir, logs }) => {
    await until(() => calls.length === 1 && cleanups.length === 1);
    assert.deepEqual(cleanups[0], ['10.96.0.10', '10.96.0.11']);
    assert.ok(logs.some((l) => l.includes('deleted conntrack entries to ClusterIPs made while their rules were missing') && l.includes('"deleted":3')));
    // A partial sync is no repair.
    writeFileSync(join(dir, 'web.json'), JSON.stringify(sliceDoc('web', ['10.244.1.10', '10.244.1.11'])));
    await until(() => calls.length === 2);
    assert.equal(cleanups.length, 1);
  }, 'nftables', { unNatedConntrack });
  // A full sync that found the kernel as it should be changes nothing and deletes nothing.
  await withAgent(() => ({ changes: 0 }), async ({ calls }) => {
    await until(() => calls.length === 1);
    await sleep(200);
    assert.equal(cleanups.length, 1);
  }, 'iptables', { unNatedConntrack });
  // IPVS DNATs in IPVS, not in nat rules: nothing of this kind to delete.
  await withAgent(() => {}, async ({ calls }) => {
    await until(() => calls.length === 1);
    await sleep(200);
    assert.equal(cleanups.length, 1);
  }, 'ipvs', { unNatedConntrack });
});
