// The node agent end to end in API mode: `svcplane agent --kubeconfig` runs inside
// node1's namespace with the nftables backend, fed by the fake API server
// (test/agent/fake-apiserver.ts, run as a child process on node1's loopback: only
// namespaces the test created are used). Endpoints change through the API under
// continuous client traffic; then the API server goes away: rules stay, traffic
// flows, periodic syncs remove nothing; it comes back with a change, which is synced.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectInputs } from '../../src/manifests/inputs.js';
import { serializePlan } from '../../src/model/plan.js';
import { connect, continuousTraffic, type Target, type TimedResult } from './lib/client.js';
import { AgentProcess } from './lib/agent-process.js';
import { FakeApiChild } from './lib/fake-api-child.js';
import { requireTools } from './lib/preflight.js';
import { suiteOwner } from './lib/processes.js';
import { createTopology, type Pod, type Topology } from './lib/topology.js';
import { clusterObjects, endpointSlice, service, type EndpointSpec } from './suite/manifests.js';
import { until } from './lib/wait.js';

const VIP = '10.96.0.10';
const SYNC_PERIOD_S = 2;
const PORTS = [{ name: 'tcp', port: 80, protocol: 'TCP' as const }];


describe('svcplane agent (nftables, API mode) with real traffic', { timeout: 300_000 }, () => {
  let t: Topology;
  let dir: string;
  let api: FakeApiChild | undefined;
  // The agent runs across the tests below; suiteOwner's after hook (registered first, so run
  // first) ends it before the describe's own after hook tears the rest down.
  const owner = suiteOwner();
  let agent: AgentProcess | undefined;
  const logs = () => agent?.logs ?? [];
  let client: Pod;
  let a: Pod;
  let b: Pod;
  let c: Pod;

  const ep = (p: Pod, extra: Partial<EndpointSpec> = {}): EndpointSpec => ({ ip: p.ipv4, node: p.node, ...extra });
  const tcp: Target = { ip: VIP, port: 80, proto: 'tcp', timeoutMs: 1500 };
  const setEndpoints = (endpoints: EndpointSpec[]) => api!.upsert('endpointslices', endpointSlice('web', 'IPv4', endpoints, PORTS));

  const syncedCount = () => agent!.syncedCount();
  const waitSynced = (after: number, what: string) => agent!.waitSynced(after, what);
  const serversIn = (rs: readonly TimedResult[]) => new Set(rs.flatMap((r) => (r.result.ok ? [r.result.server] : [])));

  before(async () => {
    await requireTools(['nft']);
    t = await createTopology({ pods: { node1: [{ name: 'client', server: false }, { name: 'a' }, { name: 'b' }], node2: [{ name: 'c' }] } });
    client = t.pod('client');
    a = t.pod('a');
    b = t.pod('b');
    c = t.pod('c');
    dir = mkdtempSync(join(tmpdir(), 'svcplane-agent-api-e2e-'));
    const cluster = clusterObjects(t);
    // The plan ConfigMap carries the Service CIDRs; the Services come from the API.
    const planned = collectInputs(cluster.filter((o) => o.kind === 'ServiceCIDR').map((object) => ({ object, source: 'e2e' }))).plan;
    writeFileSync(join(dir, 'plan.json'), serializePlan(planned));
    const kp = cluster.find((o) => o.kind === 'KubeProxyConfiguration')!;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...kp, mode: 'nftables', nftables: { syncPeriod: `${SYNC_PERIOD_S}s`, minSyncPeriod: '100ms' } }));

    api = await FakeApiChild.start(t.node1.ns);
    writeFileSync(
      join(dir, 'kubeconfig.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${api.port}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'agent', user: { token: 'e2e-token' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'agent' } }],
        'current-context': 'fake',
      }),
    );
    await api.upsert('nodes', cluster.find((o) => o.kind === 'Node')!);
    await api.upsert('services', service('web', { clusterIP: VIP, clusterIPs: [VIP], ports: PORTS.map((p) => ({ ...p, targetPort: 80 })) }));
    await setEndpoints([ep(a), ep(c)]);
  });

  after(async () => {
    if (api) await api.stop();
    await t?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the Service and its endpoints from the API server and programs them', async () => {
    agent = AgentProcess.start({ ns: t.node1.ns, owner, backend: 'nftables', kubeconfig: join(dir, 'kubeconfig.json'), plan: join(dir, 'plan.json'), config: join(dir, 'config.json') });
    await waitSynced(0, 'the first sync');
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await connect(client, tcp);
      assert.ok(r.ok, `connection through the agent's rules: ${JSON.stringify(r)}`);
      seen.add(r.server);
    }
    assert.deepEqual([...seen].sort(), ['a', 'c']);
  });

  it('follows endpoint changes from the API, survives the API server going away, and syncs when it is back', async (tc) => {
    const runStarted = performance.now();
    const run = continuousTraffic(client, tcp, 25, { owner: tc });
    const seenSince = (ms: number) => serversIn(run.snapshot().filter((r) => r.at >= ms));
    const now = () => run.snapshot().at(-1)?.at ?? 0;
    /** The traffic's clock now: attempts at or after this started after what we just observed. */
    const mark = () => performance.now() - runStarted;
    const attemptsSince = (ms: number) => run.snapshot().filter((r) => r.at >= ms).length;

    // Added through the API.
    let n = syncedCount();
    await setEndpoints([ep(a), ep(b), ep(c)]);
    await waitSynced(n, 'the sync of an added endpoint');
    await until('b in the traffic', () => seenSince(0).has('b'), 60_000);

    // Terminating, then removed.
    n = syncedCount();
    await setEndpoints([ep(a, { ready: false, serving: true, terminating: true }), ep(b), ep(c)]);
    await waitSynced(n, 'the sync of a terminating endpoint');
    n = syncedCount();
    await setEndpoints([ep(b), ep(c)]);
    await waitSynced(n, 'the sync of a removed endpoint');
    // Attempts that began after the agent logged the sync (the kernel held it then).
    let from = mark();
    await until('20 attempts after the removal', () => attemptsSince(from) >= 20, 30_000);
    assert.deepEqual([...seenSince(from)].sort(), ['b', 'c']);

    // The API server goes away: periodic full syncs run and remove nothing.
    await api!.send({ op: 'down' });
    const logsAtDown = logs().length;
    from = now();
    // Periodic full syncs (read back and compare everything) go on; a sync with nothing
    // to do may come between them, so count the full ones rather than the next two syncs.
    const fullSyncsSinceDown = () => logs().slice(logsAtDown).filter((l) => l.includes('"msg":"synced"') && l.includes('"full":true')).length;
    await agent!.waitFor('two periodic full syncs while the API server is down', () => fullSyncsSinceDown() >= 2, 60_000);
    assert.deepEqual([...seenSince(from)].sort(), ['b', 'c'], 'traffic keeps flowing to the same endpoints');
    assert.ok(agent!.count(/"level":(40|50)/) > 0, 'the agent logged the lost connection');

    // Back, with a change made meanwhile.
    await setEndpoints([ep(a), ep(b), ep(c)]);
    await api!.send({ op: 'up' });
    from = now();
    await agent!.waitFor('a in the traffic after the API server is back', () => seenSince(from).has('a'), 60_000);

    const results = await run.stop();
    const failed = results.filter((r) => !r.result.ok);
    assert.ok(results.length > 100, `enough traffic (${results.length} attempts)`);
    assert.deepEqual(failed, [], 'failed connections while every endpoint was alive');
  });

  it('exits 0 on SIGTERM and leaves the rules in place', async () => {
    const res = await agent!.stop();
    assert.equal(res.exitCode, 0, `exit code; ${agent!.tail(10)}`);
    assert.ok((await connect(client, tcp)).ok, 'the Service still works without the agent');
  });
});
