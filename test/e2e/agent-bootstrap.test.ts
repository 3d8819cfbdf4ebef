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
import { fileURLToPath } from 'node:url';
import { collectInputs } from '../../src/manifests/inputs.js';
import { serializePlan } from '../../src/model/plan.js';
import { EXTERNAL_LINK } from './lib/addresses.js';
import { connect, type Target } from './lib/client.js';
import { FakeApiChild } from './lib/fake-api-child.js';
import { nsExec, spawnInNetns, stopProcess, type NetnsProcess } from './lib/netns.js';
import { requireTools } from './lib/preflight.js';
import { collectStderrLines } from './lib/agent-log.js';
import { createTopology, type Pod, type Topology } from './lib/topology.js';
import { clusterObjects, endpointSlice, service } from './suite/manifests.js';
import { until } from './lib/wait.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const KUBERNETES_VIP = '10.96.0.1';
const WEB_VIP = '10.96.0.10';
const API_HOST = EXTERNAL_LINK.externalIPv4;

/** An unlabelled Service: kube-proxy's in coexist mode, ours in replace mode. */
function unlabelled(obj: Record<string, unknown>): Record<string, unknown> {
  const meta = obj.metadata as Record<string, unknown>;
  return { ...obj, metadata: { ...meta, labels: {} } };
}

describe('svcplane agent, replace mode: bootstraps from the API server\'s own address on a node with empty tables', { timeout: 300_000 }, () => {
  let t: Topology;
  let dir: string;
  let api: FakeApiChild | undefined;
  let agent: NetnsProcess | undefined;
  const logs: string[] = [];
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
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...kp, mode: 'nftables', nftables: { syncPeriod: '5s', minSyncPeriod: '100ms' } }));

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

  /** The agent in replace mode on node1, its log into `logs`; health on 127.0.0.1:10256 (node1's own namespace). */
  function startAgent(): void {
    agent = spawnInNetns(t.node1.ns, [
      'node', '--import', 'tsx', CLI, 'agent',
      '--backend', 'nftables', '--mode', 'replace',
      '--kubeconfig', join(dir, 'kubeconfig.json'),
      '--plan', join(dir, 'plan.json'),
      '--config', join(dir, 'config.json'),
      '--node-name', 'node1',
      '--health-addr', '127.0.0.1:10256',
      '--metrics-addr', '127.0.0.1:10249',
    ]);
    collectStderrLines(agent, logs);
  }

  after(async () => {
    if (agent) await stopProcess(agent, 5000);
    if (api) await api.stop();
    await t?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts with empty tables, reaches the API only at its real address, and programs every Service, the kubernetes one included', async () => {
    const before = (await nsExec(t.node1.ns, ['nft', 'list', 'ruleset'])).stdout;
    assert.ok(!before.includes('svcplane'), `node1 starts with no svcplane table:\n${before}`);
    const viaVip = await nsExec(t.node1.ns, ['curl', '-s', '-m', '2', `http://${KUBERNETES_VIP}:443/api/v1/nodes`], { reject: false });
    assert.notEqual(viaVip.exitCode, 0, 'the kubernetes ClusterIP leads nowhere before the agent runs');

    startAgent();
    await until('the first sync', () => logs.some((l) => l.includes('"msg":"synced"')), 60_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}\nagent log:\n${logs.slice(-20).join('\n')}`);
    });
    assert.ok(logs.some((l) => l.includes(`"api":"http://${API_HOST}:${api!.port}"`)), 'the agent says which API server it uses');

    const web: Target = { ip: WEB_VIP, port: 80, proto: 'tcp', timeoutMs: 2000 };
    const r = await connect(client, web);
    assert.ok(r.ok && r.server === 'a', `a pod reaches the unlabelled web Service through the agent's rules: ${JSON.stringify(r)}`);
    // The kubernetes Service now works too: what pods (and, in coexist mode, the agent) use.
    const viaService = await nsExec(t.node1.ns, ['curl', '-s', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', `http://${KUBERNETES_VIP}:443/api/v1/nodes`], { reject: false });
    assert.equal(viaService.stdout, '200', `the API server through the kubernetes Service the agent programmed (${viaService.stderr})`);
  });

  it('restarted while the API server is unreachable: keeps the rules (no sync, no flush), stays live; syncs when it is back', async () => {
    process.kill(agent!.pid!, 'SIGTERM');
    assert.equal((await agent!).exitCode, 0);
    await api!.send({ op: 'down' });
    logs.length = 0;
    startAgent();
    await until('the agent waiting for the API server', () => logs.some((l) => l.includes('waiting for the API server')), 60_000, 100);
    const curl = async (path: string) => (await nsExec(t.node1.ns, ['curl', '-s', '-m', '2', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:10256${path}`], { reject: false })).stdout;
    await until('/livez answers', async () => (await curl('/livez')) === '200', 30_000, 200);
    // The periodic sync would have run by now (syncPeriod 5 s) had the agent started syncing.
    await until('a list failure logged', () => logs.some((l) => l.includes('list failed')), 30_000, 100);
    const web: Target = { ip: WEB_VIP, port: 80, proto: 'tcp', timeoutMs: 2000 };
    for (let i = 0; i < 5; i++) assert.ok((await connect(client, web)).ok, 'the rules applied before the restart still forward');
    assert.equal(await curl('/livez'), '200', 'live: no restart by the liveness probe');
    assert.ok(!logs.some((l) => l.includes('"msg":"synced"')), 'nothing synced (nothing flushed) without the API server');

    await api!.send({ op: 'up' });
    await until('the first sync once the API server is back', () => logs.some((l) => l.includes('"msg":"synced"')), 60_000, 100);
    assert.ok((await connect(client, web)).ok);
  });
});
