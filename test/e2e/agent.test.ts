// The node agent end to end: `svcplane agent --endpoints-file` runs inside node1's
// namespace, with the nftables backend and again with the iptables one, while the
// test rewrites the EndpointSlice file (added, terminating, removed endpoints) under
// continuous traffic, SIGKILLs and restarts the agent, wipes its rules behind its
// back, checks UDP conntrack cleanup, the health and metrics endpoints, and a SIGTERM
// that leaves the rules.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectInputs } from '../../src/manifests/inputs.js';
import { serializePlan } from '../../src/model/plan.js';
import { connect, continuousTraffic, type Target, type TimedResult } from './lib/client.js';
import { AgentProcess, CLI } from './lib/agent-process.js';
import { nsExec } from './lib/netns.js';
import { requireTools } from './lib/preflight.js';
import { suiteOwner } from './lib/processes.js';
import { createTopology, type Pod, type Topology } from './lib/topology.js';
import { clusterObjects, endpointSlice, service, type EndpointSpec } from './suite/manifests.js';
import { until } from './lib/wait.js';

const VIP = '10.96.0.10';
const SYNC_PERIOD_S = 2;
const PORTS = [
  { name: 'tcp', port: 80, protocol: 'TCP' as const },
  { name: 'udp', port: 80, protocol: 'UDP' as const },
];


type AgentBackend = 'nftables' | 'iptables';

/** Removes every rule of ours behind the agent's back, as someone flushing the firewall would. */
async function wipeRules(ns: string, backend: AgentBackend): Promise<void> {
  if (backend === 'nftables') {
    const tables = (await nsExec(ns, ['nft', 'list', 'tables'])).stdout.split('\n').filter((l) => /^table ip6? svcplane(-[0-9a-f]{2})?$/.test(l.trim()));
    for (const l of tables) await nsExec(ns, ['nft', 'delete', ...l.trim().split(' ')]);
  } else {
    for (const table of ['nat', 'filter']) await nsExec(ns, ['iptables', '-t', table, '-F']);
  }
}

for (const backend of ['nftables', 'iptables'] as const) agentSuite(backend);

function agentSuite(backend: AgentBackend): void {
describe(`svcplane agent (${backend}, --endpoints-file) with real traffic`, { timeout: 300_000 }, () => {
  let t: Topology;
  let dir: string;
  let epsDir: string;
  // The agent runs across the tests below; the describe's after hook ends whichever is running.
  const owner = suiteOwner();
  let agent: AgentProcess | undefined;
  let client: Pod;
  let a: Pod;
  let b: Pod;
  let c: Pod;
  let d: Pod;

  const ep = (p: Pod, extra: Partial<EndpointSpec> = {}): EndpointSpec => ({ ip: p.ipv4, node: p.node, ...extra });
  const tcp: Target = { ip: VIP, port: 80, proto: 'tcp', timeoutMs: 1500 };

  /** Replaces the slice file atomically (as a ConfigMap or a careful writer would). */
  function writeEndpoints(endpoints: EndpointSpec[]): void {
    const tmp = join(dir, 'slice.json.tmp');
    writeFileSync(tmp, JSON.stringify(endpointSlice('web', 'IPv4', endpoints, PORTS)));
    renameSync(tmp, join(epsDir, 'web-v4.json'));
  }

  function startAgent(): AgentProcess {
    return AgentProcess.start({ ns: t.node1.ns, owner, backend, plan: join(dir, 'plan.json'), config: join(dir, 'config.json'), endpointsFile: epsDir, logLevel: 'debug' });
  }

  const waitSynced = (after: number, what: string) => agent!.waitSynced(after, what);

  const serversIn = (rs: readonly TimedResult[]) => new Set(rs.flatMap((r) => (r.result.ok ? [r.result.server] : [])));

  before(async () => {
    await requireTools(['nft', 'iptables', 'conntrack', 'curl']);
    t = await createTopology({ pods: { node1: [{ name: 'client', server: false }, { name: 'a' }, { name: 'b' }], node2: [{ name: 'c' }, { name: 'd' }] } });
    client = t.pod('client');
    a = t.pod('a');
    b = t.pod('b');
    c = t.pod('c');
    d = t.pod('d');
    dir = mkdtempSync(join(tmpdir(), 'svcplane-agent-e2e-'));
    epsDir = join(dir, 'endpoints');
    mkdirSync(epsDir);
    const cluster = clusterObjects(t);
    const svc = service('web', { clusterIP: VIP, clusterIPs: [VIP], ports: PORTS.map((p) => ({ ...p, targetPort: 80 })) });
    const planned = collectInputs(
      [...cluster.filter((o) => o.kind === 'ServiceCIDR'), svc].map((object) => ({ object, source: 'e2e' })),
    ).plan;
    writeFileSync(join(dir, 'plan.json'), serializePlan(planned));
    const kp = cluster.find((o) => o.kind === 'KubeProxyConfiguration')!;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...kp, mode: backend, [backend]: { syncPeriod: `${SYNC_PERIOD_S}s`, minSyncPeriod: '100ms' } }));
    writeFileSync(join(epsDir, 'node.json'), JSON.stringify(cluster.find((o) => o.kind === 'Node')));
    writeEndpoints([ep(a), ep(c)]);
  });

  // Runs after suiteOwner's hook (registered first), so the agent is gone by then.
  after(async () => {
    await t?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('programs the Service at start and reports healthy', async () => {
    agent = startAgent();
    await waitSynced(0, 'the first sync');
    const r = await connect(client, tcp);
    assert.ok(r.ok, `connection through the agent's rules: ${JSON.stringify(r)}`);
    const h = await agent.http('/healthz');
    assert.equal(h.code, 200, h.body);
    const body = JSON.parse(h.body) as { lastUpdated: string; currentTime: string };
    assert.ok(Date.parse(body.lastUpdated) <= Date.parse(body.currentTime));
    assert.equal((await agent.http('/livez')).code, 200);
    const m = await agent.http('/metrics', 10249);
    assert.equal(m.code, 200);
    for (const name of [
      'kubeproxy_sync_proxy_rules_duration_seconds_count',
      'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      'kubeproxy_network_programming_duration_seconds',
      'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      'kubeproxy_sync_proxy_rules_service_changes_total',
      'svcplane_sync_proxy_rules_failures_total',
    ]) {
      assert.ok(m.body.includes(name), `metric ${name} in /metrics`);
    }
    assert.match(m.body, /kubeproxy_sync_proxy_rules_duration_seconds_count\{ip_family="IPv4"\} [1-9]/);
  });

  it('follows endpoint changes and a SIGKILL + restart with zero failed connections to live endpoints', async (tc) => {
    const runStarted = performance.now();
    const run = continuousTraffic(client, tcp, 25, { owner: tc });
    /** The traffic's clock now: attempts at or after this began after what we just observed. */
    const mark = () => performance.now() - runStarted;
    const seenSince = (ms: number) => serversIn(run.snapshot().filter((r) => r.at >= ms));

    // Added.
    let at = agent!.logs.length;
    writeEndpoints([ep(a), ep(b), ep(c)]);
    await agent!.waitFileSync(at, 'the sync of an added endpoint');
    await until('b in the traffic', () => seenSince(0).has('b'), 60_000);

    // Terminating: still serving its open connections, no new ones once others are ready.
    at = agent!.logs.length;
    writeEndpoints([ep(a, { ready: false, serving: true, terminating: true }), ep(b), ep(c)]);
    await agent!.waitFileSync(at, 'the sync of a terminating endpoint');
    // Attempts that began after the agent logged the sync (the kernel held it then).
    let from = mark();
    await until('20 attempts after the sync', () => run.snapshot().filter((r) => r.at >= from).length >= 20, 30_000);
    assert.deepEqual([...seenSince(from)].sort(), ['b', 'c'], 'a terminating endpoint gets no new connections');

    // Removed.
    at = agent!.logs.length;
    writeEndpoints([ep(b), ep(c)]);
    await agent!.waitFileSync(at, 'the sync of a removed endpoint');

    // SIGKILL: the rules stay; endpoints change while the agent is down; the restart converges.
    agent!.signal('SIGKILL');
    await agent!.exited;
    from = mark();
    await until('20 attempts without the agent', () => run.snapshot().filter((r) => r.at >= from).length >= 20, 30_000);
    assert.deepEqual([...seenSince(from)].sort(), ['b', 'c'], 'rules intact without the agent');
    writeEndpoints([ep(b), ep(c), ep(d)]);
    agent = startAgent();
    await waitSynced(0, 'the first sync after the restart');
    await until('d in the traffic after the restart', () => seenSince(from).has('d'), 60_000);
    from = mark();
    await until('40 attempts after the restart converged', () => run.snapshot().filter((r) => r.at >= from).length >= 40, 30_000);
    assert.deepEqual([...seenSince(from)].sort(), ['b', 'c', 'd']);

    const results = await run.stop();
    const failed = results.filter((r) => !r.result.ok);
    assert.ok(results.length > 100, `enough traffic (${results.length} attempts)`);
    assert.deepEqual(failed, [], `failed connections while every endpoint was alive`);

    // Converged: the one-shot apply of the same inputs would change nothing.
    const dry = await nsExec(
      t.node1.ns,
      ['node', '--import', 'tsx', CLI, 'apply', '--backend', backend, '--dry-run', '-f', join(dir, 'plan.json'), '-f', epsDir, '--config', join(dir, 'config.json'), '--node-name', 'node1'],
      // Generous: the CLI's start through tsx alone passed 30 s at load ~35.
      { reject: false, timeoutMs: 120_000 },
    );
    assert.equal(dry.exitCode, 0, dry.stderr);
    assert.match(dry.stderr, /would change 0 object/, `kernel equals a full render:\n${dry.stdout}`);
  });

  // Nothing but the periodic resync (every SYNC_PERIOD_S) can bring the rules back here: no
  // input changes. The bound is generous because a full sync under a loaded machine can
  // take many seconds; how fast the resync is gets measured in the bench, not here.
  it('repairs rules wiped behind its back at a periodic resync', async () => {
    assert.ok((await connect(client, tcp)).ok);
    await wipeRules(t.node1.ns, backend);
    const r = await connect(client, { ...tcp, timeoutMs: 300 });
    assert.ok(!r.ok, 'the Service is gone with the rules');
    await agent!.waitFor('the rules to come back', async () => (await connect(client, { ...tcp, timeoutMs: 300 })).ok, 90_000, 100);
  });

  it('deletes the UDP conntrack entries of a removed endpoint', async () => {
    const udp: Target = { ip: VIP, port: 80, proto: 'udp', timeoutMs: 1000, sourcePort: 40123 };
    const first = await connect(client, udp);
    assert.ok(first.ok, JSON.stringify(first));
    const pinned = first.server;
    for (let i = 0; i < 5; i++) {
      const again = await connect(client, udp);
      assert.ok(again.ok && again.server === pinned, 'one conntrack entry pins the flow to one endpoint');
    }
    const remaining = [b, c, d].filter((p) => p.name !== pinned);
    const CLEANED = 'UDP conntrack entries cleaned';
    const c0 = agent!.count(CLEANED);
    writeEndpoints(remaining.map((p) => ep(p)));
    // The cleanup runs right after the sync's "synced" line: wait for its own line (debug).
    await agent!.waitLog('the conntrack cleanup after the removal', CLEANED, c0);
    // The removed endpoint's server still runs: only the conntrack delete moves the flow.
    const moved = await connect(client, udp);
    assert.ok(moved.ok, JSON.stringify(moved));
    assert.notEqual(moved.server, pinned, 'the flow left the removed endpoint');
    assert.ok(agent!.count(CLEANED) > 0, 'the agent logged the cleanup');
  });

  it('exits 0 on SIGTERM and leaves the rules in place', async () => {
    const res = await agent!.stop();
    assert.equal(res.exitCode, 0, `exit code; ${agent!.tail(10)}`);
    assert.ok(agent!.count('rules left in place') > 0);
    const r = await connect(client, tcp);
    assert.ok(r.ok, 'the Service still works without the agent');
  });
});
}
