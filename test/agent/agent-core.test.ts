// The agent's pure parts and HTTP endpoints: input merge, UDP conntrack plan,
// health semantics, healthCheckNodePorts, /healthz /livez /metrics.

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { conntrackPlan } from '../../src/agent/conntrack.js';
import { healthCheckResponse, healthCheckServices, healthzStatus, livezStatus } from '../../src/agent/health.js';
import { nodeEligibility } from '../../src/agent/watch/node.js';
import { closeServer, HealthCheckServers, healthHandler, ListenError, metricsHandler, parseHostPort, startServer } from '../../src/agent/http.js';
import { buildRenderInput, changedKeys, mergeServices } from '../../src/agent/input-merge.js';
import { createAgentMetrics } from '../../src/agent/metrics.js';
import { Gauge, Registry } from '../../src/agent/prom/index.js';
import { DEFAULT_PROXY_CONFIG } from '../../src/model/config.js';
import { ep, input, NODE1, plan, port, slice, svc } from '../helpers/model.js';

/** Generous: each takes seconds at most; a hang fails here instead of holding `npm test`. */
const TIMEOUT = { timeout: 120_000 };

test('merge: the API allocations win for a planned Service; API-only Services are added; mode filters', TIMEOUT, () => {
  const planned = svc({ name: 'web', clusterIPs: [], ports: [port(80, 8080, { name: 'http' })], type: 'LoadBalancer' });
  const api = svc({
    name: 'web',
    clusterIPs: ['10.96.0.7'],
    ports: [port(80, 9999, { name: 'http', nodePort: 31000 })],
    type: 'LoadBalancer',
    loadBalancerIngress: [{ ip: '203.0.113.5', ipMode: 'VIP' }],
  });
  const other = svc({ name: 'other', clusterIPs: ['10.96.0.8'], ports: [port(53)], proxyName: undefined });
  const foreign = svc({ name: 'foreign', clusterIPs: ['10.96.0.9'], ports: [port(53)], proxyName: 'kube-proxy-x' });
  const coexist = mergeServices([planned], [api, other, foreign], 'coexist');
  assert.deepEqual(coexist.map((s) => s.name), ['web']);
  const web = coexist[0]!;
  assert.deepEqual(web.clusterIPs, ['10.96.0.7']);
  assert.deepEqual(web.loadBalancerIngress, [{ ip: '203.0.113.5', ipMode: 'VIP' }]);
  assert.equal(web.ports[0]!.targetPort, 8080, 'the plan spec holds');
  assert.equal(web.ports[0]!.nodePort, 31000, 'the allocated node port fills the gap');
  assert.deepEqual(mergeServices([planned], [api, other, foreign], 'replace').map((s) => s.name), ['other', 'web']);
});

test('merge: API slices replace file slices of the same name', TIMEOUT, () => {
  const f = slice('web', [ep('10.0.0.1')], [{ port: 80 }]);
  const a = slice('web', [ep('10.0.0.2')], [{ port: 80 }]);
  const r = buildRenderInput({ fileSlices: [f], apiSlices: [a], node: NODE1, config: DEFAULT_PROXY_CONFIG, mode: 'coexist' });
  assert.deepEqual(r.endpointSlices.map((s) => s.endpoints[0]!.address), ['10.0.0.2']);
});

test('changedKeys names the Services whose value changed, appeared or went', TIMEOUT, () => {
  const k = (x: { n: string }) => x.n;
  assert.deepEqual([...changedKeys([{ n: 'a', v: 1 }, { n: 'b', v: 1 }, { n: 'c', v: 1 }], [{ n: 'a', v: 1 }, { n: 'b', v: 2 }, { n: 'd', v: 1 }], k)].sort(), ['b', 'c', 'd']);
});

const udpSvc = (extra = {}) => svc({ name: 'dns', clusterIPs: ['10.96.0.10'], ports: [port(53, 53, { protocol: 'UDP', name: 'dns' })], ...extra });
const udpSlice = (ips: string[]) => slice('dns', ips.map((ip) => ep(ip)), [{ name: 'dns', port: 53, protocol: 'UDP' }]);

test('conntrack: a removed UDP endpoint loses its entries (VIP and node port); a kept one does not', TIMEOUT, () => {
  const s = udpSvc({ type: 'NodePort', ports: [port(53, 53, { protocol: 'UDP', name: 'dns', nodePort: 30053 })] });
  const before = input([s], [udpSlice(['10.244.1.10', '10.244.1.11'])]);
  const after = input([s], [udpSlice(['10.244.1.11'])]);
  assert.deepEqual(conntrackPlan(before, after), [
    ['-p', 'udp', '--orig-dst', '10.96.0.10', '--reply-src', '10.244.1.10'],
    ['-p', 'udp', '--orig-port-dst', '30053', '--reply-src', '10.244.1.10'],
  ]);
  assert.deepEqual(conntrackPlan(before, before), []);
});

test('conntrack: the first endpoint of a UDP Service flushes entries to its VIP', TIMEOUT, () => {
  const s = udpSvc();
  assert.deepEqual(conntrackPlan(input([s], []), input([s], [udpSlice(['10.244.1.10'])])), [['-p', 'udp', '--orig-dst', '10.96.0.10']]);
});

test('conntrack: TCP endpoints and Services outside the key set are left alone', TIMEOUT, () => {
  const tcp = svc({ name: 'web', clusterIPs: ['10.96.0.11'], ports: [port(80)] });
  const before = input([tcp, udpSvc()], [slice('web', [ep('10.244.1.10')], [{ port: 80 }]), udpSlice(['10.244.1.10'])]);
  const after = input([tcp, udpSvc()], [slice('web', [], [{ port: 80 }]), udpSlice([])]);
  assert.deepEqual(conntrackPlan(before, after, new Set(['default/web'])), []);
  assert.equal(conntrackPlan(before, after).length, 1);
});

test('livez: healthy while syncs are recent and while starting with nothing queued; unhealthy when a change or the periodic sync waits too long', TIMEOUT, () => {
  const T = 60_000;
  assert.equal(livezStatus({ lastSyncedAt: undefined, queuedSince: undefined }, 10 * T, T).healthy, true, 'waiting for the API server: nothing queued');
  assert.equal(livezStatus({ lastSyncedAt: undefined, queuedSince: 0 }, 1000, T).healthy, true, 'starting');
  assert.equal(livezStatus({ lastSyncedAt: undefined, queuedSince: 0 }, T + 1, T).healthy, false, 'first sync never succeeded');
  assert.equal(livezStatus({ lastSyncedAt: 100_000, queuedSince: undefined }, 150_000, T).healthy, true);
  assert.equal(livezStatus({ lastSyncedAt: 100_000, queuedSince: 100_500 }, 161_000, T).healthy, false, 'change waiting');
  assert.equal(livezStatus({ lastSyncedAt: 100_000, queuedSince: undefined }, 161_000, T).healthy, false, 'no periodic sync');
  // kube-proxy: lastUpdated is "now" when healthy, the last sync when not.
  assert.deepEqual(livezStatus({ lastSyncedAt: 100_000, queuedSince: undefined }, 150_000, T).body, {
    lastUpdated: new Date(150_000).toISOString(),
    currentTime: new Date(150_000).toISOString(),
  });
  assert.equal(livezStatus({ lastSyncedAt: 100_000, queuedSince: undefined }, 161_000, T).body.lastUpdated, new Date(100_000).toISOString());
});

test('healthz: fresh rules AND an eligible node, all sysctls set, no stale watch; the body names what failed', TIMEOUT, () => {
  const live = livezStatus({ lastSyncedAt: 100_000, queuedSince: undefined }, 150_000, 60_000);
  const fine = { nodeEligible: true, unsetSysctls: [], staleWatches: [] };
  assert.deepEqual(healthzStatus(live, fine), { healthy: true, body: { ...live.body, nodeEligible: true } });
  const tainted = healthzStatus(live, { ...fine, nodeEligible: false, nodeIneligibleReason: 'taint ToBeDeletedByClusterAutoscaler' });
  assert.equal(tainted.healthy, false);
  assert.equal(tainted.body.nodeIneligibleReason, 'taint ToBeDeletedByClusterAutoscaler');
  const sysctl = healthzStatus(live, { ...fine, unsetSysctls: [{ name: 'net/ipv4/ip_forward', error: 'EROFS' }] });
  assert.equal(sysctl.healthy, false);
  assert.deepEqual(sysctl.body.unsetSysctls, [{ name: 'net/ipv4/ip_forward', error: 'EROFS' }]);
  const lost = healthzStatus(live, { ...fine, staleWatches: [{ resource: 'endpointslices', silentSeconds: 95 }] });
  assert.equal(lost.healthy, false);
  assert.deepEqual(lost.body.staleWatches, [{ resource: 'endpointslices', silentSeconds: 95 }]);
  const late = livezStatus({ lastSyncedAt: 100_000, queuedSince: 100_500 }, 161_000, 60_000);
  assert.equal(healthzStatus(late, fine).healthy, false, 'stale rules');
});

test('node eligibility (KEP-3836): deletionTimestamp or the autoscaler taint; other taints do not matter', TIMEOUT, () => {
  const node = (extra: Record<string, unknown>) => ({ metadata: { name: 'n1' }, ...extra });
  assert.deepEqual(nodeEligibility(node({})), { eligible: true });
  assert.deepEqual(nodeEligibility(node({ spec: { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } })), { eligible: true });
  assert.deepEqual(nodeEligibility(node({ spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }] } })), {
    eligible: false,
    reason: 'taint ToBeDeletedByClusterAutoscaler',
  });
  assert.deepEqual(nodeEligibility({ metadata: { name: 'n1', deletionTimestamp: '2026-12-03T10:00:00Z' } }), { eligible: false, reason: 'deletionTimestamp' });
});

test('healthCheckNodePort services: LB + Local only, ready local endpoints counted once', TIMEOUT, () => {
  const lb = svc({ name: 'lb', type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, clusterIPs: ['10.96.0.20'], ports: [port(80, 80, { nodePort: 30080 })] });
  const cluster = svc({ name: 'cl', type: 'LoadBalancer', clusterIPs: ['10.96.0.21'], ports: [port(80, 80, { nodePort: 30081 })] });
  const eps = [ep('10.244.1.10', 'node1'), ep('10.244.1.11', 'node1', { ready: false, serving: true, terminating: true }), ep('10.244.2.10', 'node2')];
  const two = [slice('lb', eps, [{ port: 80 }]), slice('lb', [ep('10.244.1.10', 'node1')], [{ port: 81 }], { name: 'lb-2' })];
  const hc = healthCheckServices(input([lb, cluster], two));
  assert.deepEqual(hc, [{ namespace: 'default', name: 'lb', port: 32000, localEndpoints: 1 }]);
  assert.deepEqual(healthCheckResponse(hc[0]!, true), { status: 200, body: { service: { namespace: 'default', name: 'lb' }, localEndpoints: 1, serviceProxyHealthy: true } });
  assert.equal(healthCheckResponse({ ...hc[0]!, localEndpoints: 0 }, true).status, 503);
  assert.equal(healthCheckResponse(hc[0]!, false).status, 503);
});

test('parseHostPort', TIMEOUT, () => {
  assert.deepEqual(parseHostPort('0.0.0.0:10256', 'x'), { host: '0.0.0.0', port: 10256 });
  assert.deepEqual(parseHostPort('[::1]:10249', 'x'), { host: '::1', port: 10249 });
  assert.deepEqual(parseHostPort(':10249', 'x'), { host: '0.0.0.0', port: 10249 });
  assert.throws(() => parseHostPort('10249', 'x'), /HOST:PORT/);
});

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
}

test('/healthz and /livez: two handlers, each with its own verdict and body; a taken port names the address', TIMEOUT, async () => {
  let live = true;
  let eligible = true;
  const livez = () => ({ healthy: live, body: { lastUpdated: 'L', currentTime: 'C' } });
  const s = await startServer(
    { host: '127.0.0.1', port: 0 },
    healthHandler({ livez, healthz: () => ({ healthy: live && eligible, body: { ...livez().body, nodeEligible: eligible } }) }),
  );
  const port = (s.address() as AddressInfo).port;
  try {
    const ok = await get(port, '/healthz');
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { lastUpdated: 'L', currentTime: 'C', nodeEligible: true });
    assert.deepEqual(JSON.parse((await get(port, '/livez')).body), { lastUpdated: 'L', currentTime: 'C' });
    eligible = false;
    assert.equal((await get(port, '/healthz')).status, 503);
    assert.equal((await get(port, '/livez')).status, 200, 'livez ignores node eligibility');
    live = false;
    assert.equal((await get(port, '/livez')).status, 503);
    assert.equal((await get(port, '/nope')).status, 404);
    await assert.rejects(startServer({ host: '127.0.0.1', port }, () => {}), (e: Error) => {
      assert.ok(e instanceof ListenError);
      assert.equal(e.message, `cannot listen on 127.0.0.1:${port}: address already in use (another process, e.g. kube-proxy, listens there)`);
      return true;
    });
  } finally {
    await closeServer(s);
  }
});

test('/metrics serves kube-proxy metric names in Prometheus format', TIMEOUT, async () => {
  const m = createAgentMetrics();
  m.syncDuration.observe({ ip_family: 'IPv4' }, 0.02);
  m.networkProgrammingDuration.observe({ ip_family: 'IPv6' }, 1.2);
  m.lastSyncTimestamp.set({ ip_family: 'IPv4' }, 1700000000);
  m.endpointChanges.inc(3);
  m.serviceChanges.inc(1);
  m.syncFailures.inc({ reason: 'apply' });
  m.malformedObjects.inc({ kind: 'EndpointSlice' });
  const s = await startServer({ host: '127.0.0.1', port: 0 }, metricsHandler(m.registry));
  const port = (s.address() as AddressInfo).port;
  try {
    const r = await get(port, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.type ?? '', /text\/plain/);
    assert.match(r.body, /^kubeproxy_sync_proxy_rules_duration_seconds_bucket\{le="0.032",ip_family="IPv4"\} 1$/m);
    assert.match(r.body, /^kubeproxy_network_programming_duration_seconds_count\{ip_family="IPv6"\} 1$/m);
    assert.match(r.body, /^kubeproxy_sync_proxy_rules_last_timestamp_seconds\{ip_family="IPv4"\} 1700000000$/m);
    assert.match(r.body, /^kubeproxy_sync_proxy_rules_endpoint_changes_total 3$/m);
    assert.match(r.body, /^kubeproxy_sync_proxy_rules_service_changes_total 1$/m);
    assert.match(r.body, /^svcplane_sync_proxy_rules_failures_total\{reason="apply"\} 1$/m);
    assert.match(r.body, /^svcplane_malformed_objects_total\{kind="EndpointSlice"\} 1$/m);
  } finally {
    await closeServer(s);
  }
});

test('/metrics: a metric that fails before anything was sent answers 500; one that fails half-way cuts the response short', TIMEOUT, async () => {
  const early = new Registry();
  new Gauge({ name: 'broken', help: 'fails', registers: [early], collect: () => { throw new Error('cannot read'); } });
  const late = new Registry();
  new Gauge({ name: 'big', help: 'many', labelNames: ['n'], registers: [late], collect() { for (let i = 0; i < 50_000; i++) this.set({ n: String(i) }, i); } });
  new Gauge({ name: 'broken', help: 'fails', registers: [late], collect: () => { throw new Error('cannot read'); } });
  const servers = [await startServer({ host: '127.0.0.1', port: 0 }, metricsHandler(early)), await startServer({ host: '127.0.0.1', port: 0 }, metricsHandler(late))];
  try {
    const r = await get((servers[0]!.address() as AddressInfo).port, '/metrics');
    assert.equal(r.status, 500);
    assert.match(r.body, /cannot read/);
    // The status was sent with the first piece: the body must not end as a whole exposition would.
    await assert.rejects(get((servers[1]!.address() as AddressInfo).port, '/metrics'));
  } finally {
    for (const s of servers) await closeServer(s);
  }
});

test('healthCheckNodePort listeners open, answer with the current count, and close', TIMEOUT, async () => {
  let healthy = true;
  const hcs = new HealthCheckServers(() => healthy, undefined, '127.0.0.1');
  // A free port: bind 0, note it, release it.
  const probe = await startServer({ host: '127.0.0.1', port: 0 }, () => {});
  const port = (probe.address() as AddressInfo).port;
  await closeServer(probe);
  try {
    await hcs.update([{ namespace: 'default', name: 'lb', port, localEndpoints: 2 }]);
    let r = await get(port, '/');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { service: { namespace: 'default', name: 'lb' }, localEndpoints: 2, serviceProxyHealthy: true });
    await hcs.update([{ namespace: 'default', name: 'lb', port, localEndpoints: 0 }]);
    r = await get(port, '/');
    assert.equal(r.status, 503);
    assert.equal(JSON.parse(r.body).localEndpoints, 0);
    await hcs.update([{ namespace: 'default', name: 'lb', port, localEndpoints: 1 }]);
    healthy = false;
    assert.equal((await get(port, '/')).status, 503, 'an unhealthy proxy fails its health checks');
    await hcs.update([]);
    assert.deepEqual(hcs.ports(), []);
    await assert.rejects(get(port, '/'));
  } finally {
    await hcs.close();
  }
});

test('plan helper sanity: the merged input renders the plan Services', TIMEOUT, () => {
  const r = buildRenderInput({ plan: plan([udpSvc()]), node: NODE1, config: DEFAULT_PROXY_CONFIG, mode: 'coexist' });
  assert.deepEqual(r.plan.services.map((s) => s.name), ['dns']);
  assert.deepEqual(r.plan.serviceCIDRs, ['10.96.0.0/16', 'fd00:10:96::/112']);
});
