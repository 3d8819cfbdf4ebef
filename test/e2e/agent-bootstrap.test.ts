// Replace-mode bootstrap: the agent replaces kube-proxy, so nothing else programs the
// `kubernetes` Service. On a node whose tables are empty (after a reboot) it must
// reach the API server at the server's own address, then program every Service,
// the `kubernetes` one included.
//
// The fake API server (test/agent/fake-apiserver.ts) runs in the "external" host's
// namespace and listens only on that host's address (192.168.50.2), as a control
// plane outside the node would; the API holds the `kubernetes` Service (ClusterIP
// 10.96.0.1:443, endpoint 192.168.50.2:<port>) and a `web` Service without the
// svcplane label (ours in replace mode only). node1's tables start empty, and
// nothing routes 10.96.0.1 until the agent does. The agent is given the server's
// address (the NodeAgent's apiServerEndpoint does that through KUBERNETES_SERVICE_HOST/
// PORT on a real node, which the agent turns into https://HOST:PORT; the fake
// speaks plain HTTP, so here the same server URL comes through --kubeconfig).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectInputs } from '../../src/manifests/inputs.js';
import { serializePlan } from '../../src/model/plan.js';
import { EXTERNAL_LINK } from './lib/addresses.js';
import { connect, type Target } from './lib/client.js';
import { FakeApiChild } from './lib/fake-api-child.js';
import { AgentProcess } from './lib/agent-process.js';
import { nsExec } from './lib/netns.js';
import { requireTools } from './lib/preflight.js';
import { suiteOwner } from './lib/processes.js';
import { createTopology, type Pod, type Topology } from './lib/topology.js';
import { clusterObjects, endpointSlice, service } from './suite/manifests.js';

const KUBERNETES_VIP = '10.96.0.1';
const WEB_VIP = '10.96.0.10';
const API_HOST = EXTERNAL_LINK.externalIPv4;
const SYNC_PERIOD_MS = 5000;

/** An unlabelled Service: kube-proxy's in coexist mode, ours in replace mode. */
function unlabelled(obj: Record<string, unknown>): Record<string, unknown> {
  const meta = obj.metadata as Record<string, unknown>;
  return { ...obj, metadata: { ...meta, labels: {} } };
}

describe('svcplane agent, replace mode: bootstraps from the API server\'s own address on a node with empty tables', { timeout: 300_000 }, () => {
  let t: Topology;
  let dir: string;
  let api: FakeApiChild | undefined;
  // Ends the running agent first among the after hooks (it is registered first).
  const owner = suiteOwner();
  let agent: AgentProcess | undefined;
  let client: Pod;
  let a: Pod;

  before(async () => {
    await requireTools(['nft', 'curl']);
    t = await createTopology({ pods: { node1: [{ name: 'client', server: false }, { name: 'a' }] } });
    client = t.pod('client');
    a = t.pod('a');
    dir = mkdtempSync(join(tmpdir(), 'svcplane-agent-bootstrap-'));
    const cluster = clusterObjects(t);
    const planned = collectInputs(cluster.filter((o) => o.kind === 'ServiceCIDR').map((object) => ({ object, source: 'e2e' }))).plan;
    writeFileSync(join(dir, 'plan.json'), serializePlan(planned));
    const kp = cluster.find((o) => o.kind === 'KubeProxyConfiguration')!;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...kp, mode: 'nftables', nftables: { syncPeriod: `${SYNC_PERIOD_MS / 1000}s`, minSyncPeriod: '100ms' } }));

    api = await FakeApiChild.start(t.external.ns, API_HOST);
    writeFileSync(
      join(dir, 'kubeconfig.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'real-address', cluster: { server: `http://${API_HOST}:${api.port}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'agent', user: { token: 'e2e-token' } }],
        contexts: [{ name: 'c', context: { cluster: 'real-address', user: 'agent' } }],
        'current-context': 'c',
      }),
    );
    await api.upsert('nodes', cluster.find((o) => o.kind === 'Node')!);
    const https = [{ name: 'https', port: 443, protocol: 'TCP' as const }];
    await api.upsert('services', unlabelled(service('kubernetes', { clusterIP: KUBERNETES_VIP, clusterIPs: [KUBERNETES_VIP], ports: https.map((p) => ({ ...p, targetPort: api!.port })) })));
    await api.upsert('endpointslices', endpointSlice('kubernetes', 'IPv4', [{ ip: API_HOST, node: 'control-plane' }], [{ name: 'https', port: api.port, protocol: 'TCP' }]));
    const http = [{ name: 'http', port: 80, protocol: 'TCP' as const }];
    await api.upsert('services', unlabelled(service('web', { clusterIP: WEB_VIP, clusterIPs: [WEB_VIP], ports: http.map((p) => ({ ...p, targetPort: 80 })) })));
    await api.upsert('endpointslices', endpointSlice('web', 'IPv4', [{ ip: a.ipv4, node: 'node1' }], http));
  });

  /** The agent in replace mode on node1; health on 127.0.0.1:10256 (node1's own namespace). */
  function startAgent(): AgentProcess {
    agent = AgentProcess.start({ ns: t.node1.ns, owner, backend: 'nftables', mode: 'replace', kubeconfig: join(dir, 'kubeconfig.json'), plan: join(dir, 'plan.json'), config: join(dir, 'config.json') });
    return agent;
  }

  after(async () => {
    if (api) await api.stop();
    await t?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts with empty tables, reaches the API only at its real address, and programs every Service, the kubernetes one included', async () => {
    const before = (await nsExec(t.node1.ns, ['nft', 'list', 'ruleset'])).stdout;
    assert.ok(!before.includes('svcplane'), `node1 starts with no svcplane table:\n${before}`);
    const viaVip = await nsExec(t.node1.ns, ['curl', '-s', '-m', '2', `http://${KUBERNETES_VIP}:443/api/v1/nodes`], { reject: false });
    assert.notEqual(viaVip.exitCode, 0, 'the kubernetes ClusterIP leads nowhere before the agent runs');

    const first = startAgent();
    await first.waitSynced();
    assert.ok(first.count(`"api":"http://${API_HOST}:${api!.port}"`) > 0, 'the agent says which API server it uses');

    const web: Target = { ip: WEB_VIP, port: 80, proto: 'tcp', timeoutMs: 2000 };
    const r = await connect(client, web);
    assert.ok(r.ok && r.server === 'a', `a pod reaches the unlabelled web Service through the agent's rules: ${JSON.stringify(r)}`);
    // The kubernetes Service now works too: what pods (and, in coexist mode, the agent) use.
    const viaService = await nsExec(t.node1.ns, ['curl', '-s', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', `http://${KUBERNETES_VIP}:443/api/v1/nodes`], { reject: false });
    assert.equal(viaService.stdout, '200', `the API server through the kubernetes Service the agent programmed (${viaService.stderr})`);
  });

  it('restarted while the API server is unreachable: keeps the rules (no sync, no flush), stays live; syncs when it is back', async () => {
    assert.equal((await agent!.stop()).exitCode, 0);
    await api!.send({ op: 'down' });
    const restarted = startAgent();
    await restarted.waitLog('the agent waiting for the API server', 'waiting for the API server');
    await restarted.waitHttp('/livez', 10256, 200, 30_000);
    // Nothing to wait for proves "no sync", so wait on the agent's own clock: its list
    // retries (backoff 0.5 s doubling) log a failure more than two sync periods (syncPeriod
    // 5 s) after it began waiting; a periodic sync, had one started, would be logged before.
    const timeOf = (line: string) => (JSON.parse(line) as { time: number }).time;
    const waitingSince = timeOf(restarted.logs.find((l) => l.includes('waiting for the API server'))!);
    await restarted.waitFor(
      'a list failure logged two sync periods after the agent began waiting',
      () => restarted.logs.some((l) => l.includes('list failed') && timeOf(l) >= waitingSince + 2 * SYNC_PERIOD_MS),
      90_000,
      200,
    );
    const web: Target = { ip: WEB_VIP, port: 80, proto: 'tcp', timeoutMs: 2000 };
    for (let i = 0; i < 5; i++) assert.ok((await connect(client, web)).ok, 'the rules applied before the restart still forward');
    assert.equal((await restarted.http('/livez')).code, 200, 'live: no restart by the liveness probe');
    assert.equal(restarted.syncedCount(), 0, 'nothing synced (nothing flushed) without the API server');

    await api!.send({ op: 'up' });
    await restarted.waitSynced(0, 'the first sync once the API server is back');
    assert.ok((await connect(client, web)).ok);
  });
});
