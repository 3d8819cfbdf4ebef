// Per-Service traffic from the rules' own counters, with real traffic, nftables and
// iptables: N connections through a Service move its exported packets and bytes (per
// endpoint too, adding up to the Service's; iptables: counted both ways, each direction
// by its own rule) and new connections by N, in total over its endpoints too, connections to a Service without endpoints count as rejected,
// and `svcplane top --once --json` shows the busy Service first.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Registry } from '../../src/agent/prom/index.js';
import { registerTrafficMetrics } from '../../src/agent/traffic-metrics.js';
import { getBackend } from '../../src/backends/registry.js';
import type { TrafficSample } from '../../src/backends/traffic.js';
import { systemExec } from '../../src/exec/system-exec.js';
import { connectMany, continuousTraffic, type Target } from './lib/client.js';
import { nsExec } from './lib/netns.js';
import { createTopology, type Topology } from './lib/topology.js';
import { applyInNode1, teardown } from './suite/apply-cli.js';
import { endpointSlice, service } from './suite/manifests.js';

// Per-endpoint counts fresh at every read (the agent's default reads nftables' rules once a minute).
process.env.SVCPLANE_ENDPOINT_COUNTERS_EVERY_SECONDS = '0';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const N = 20;

const tcp = (ip: string, port: number): Target => ({ ip, port, proto: 'tcp', timeoutMs: 1500 });
const total = (samples: readonly TrafficSample[], service: string, kind: TrafficSample['kind']) =>
  samples.filter((s) => s.service === service && s.kind === kind).reduce((a, s) => a + s.value, 0);

/** The sum of one metric's series for a Service in Prometheus text (over its endpoints, for endpoint series), 0 when absent. */
function scraped(text: string, metric: string, service: string): number {
  const lines = text.split('\n').filter((l) => l.startsWith(`${metric}{`) && l.includes(`service="${service}"`));
  return lines.reduce((a, line) => a + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** Packets the iptables counting rules of mangle POSTROUTING and INPUT matched, per conntrack direction. */
async function countingRules(ns: string): Promise<{ ORIGINAL: number; REPLY: number }> {
  const out = { ORIGINAL: 0, REPLY: 0 };
  for (const line of (await nsExec(ns, ['iptables-save', '-c', '-t', 'mangle'])).stdout.split('\n')) {
    const m = /^\[(\d+):\d+\] -A (?:POSTROUTING|INPUT) .*--ctdir (ORIGINAL|REPLY) .*svcplane endpoint traffic/.exec(line);
    if (m) out[m[2] as 'ORIGINAL' | 'REPLY'] += Number(m[1]);
  }
  return out;
}

for (const backend of ['nftables', 'iptables'] as const) describe(`${backend}: per-Service traffic counters with real traffic`, { timeout: 600_000 }, () => {
  const readTraffic = getBackend(backend).readTraffic!;
  let t: Topology;
  let dir: string | undefined;

  before(async () => {
    t = await createTopology({ pods: { node1: [{ name: 'client', server: false }, { name: 'a' }], node2: [{ name: 'c' }] } });
    dir = await applyInNode1(t, backend, [
      service('web', { clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 8080 }] }),
      endpointSlice('web', 'IPv4', [{ ip: t.pod('a').ipv4, node: 'node1' }, { ip: t.pod('c').ipv4, node: 'node2' }], [{ port: 8080 }]),
      service('empty', { clusterIP: '10.96.0.11', ports: [{ port: 80, targetPort: 8080 }] }),
    ], 'svcplane-traffic-');
  });
  after(() => teardown(t, dir));

  it('N connections move packets and new connections by at least N; refusals count as rejected; the exporter shows them', async () => {
    const read = () => readTraffic(systemExec, t.node1.ns);
    const registry = new Registry();
    registerTrafficMetrics(registry, { read, minReadIntervalMs: 0 });
    const scrapeBefore = await registry.metrics();
    const before = await read();
    const mangleBefore = backend === 'iptables' ? await countingRules(t.node1.ns) : { ORIGINAL: 0, REPLY: 0 };

    const client = t.pod('client');
    const ok = await connectMany(client, tcp('10.96.0.10', 80), N);
    assert.deepEqual(ok.failures, []);
    const refused = await connectMany(client, tcp('10.96.0.11', 80), 3);
    for (const r of refused.results) assert.equal(r.ok ? 'ok' : r.error, 'refused');

    const afterRead = await read();
    const moved = (kind: TrafficSample['kind'], svc = 'web') => total(afterRead, svc, kind) - total(before, svc, kind);
    {
      // Every connection has at least a SYN, a SYN-ACK and an ACK, all counted.
      assert.ok(moved('packets') >= 3 * N, `packets moved by ${moved('packets')}, expected >= ${3 * N}`);
      assert.ok(moved('bytes') >= 3 * N * 40, `bytes moved by ${moved('bytes')}`);
      // Per endpoint too (endpoint-traffic): every packet of every connection, on the endpoint that answered it.
      assert.equal(moved('endpoint_packets'), moved('packets'), 'the endpoints\' packets add up to the Service\'s');
      assert.equal(moved('endpoint_bytes'), moved('bytes'), 'the endpoints\' bytes add up to the Service\'s');
      const carried = afterRead.filter((s) => s.service === 'web' && s.kind === 'endpoint_packets' && s.value > 0).map((s) => s.endpoint).sort();
      assert.deepEqual(carried, [`${t.pod('a').ipv4}:8080`, `${t.pod('c').ipv4}:8080`].sort(), 'both endpoints carried packets');
    }
    if (backend === 'iptables') {
      // Both directions are counted, each by its own rule (traffic-set.ts): at least a SYN and an
      // ACK per connection on the way in (ORIGINAL), a SYN-ACK on the way back (REPLY).
      const mangle = await countingRules(t.node1.ns);
      assert.ok(mangle.ORIGINAL - mangleBefore.ORIGINAL >= 2 * N, `original direction moved by ${mangle.ORIGINAL - mangleBefore.ORIGINAL}`);
      assert.ok(mangle.REPLY - mangleBefore.REPLY >= N, `reply direction moved by ${mangle.REPLY - mangleBefore.REPLY}`);
      assert.equal(mangle.ORIGINAL - mangleBefore.ORIGINAL + mangle.REPLY - mangleBefore.REPLY, moved('packets'), 'the Service\'s packets are what the two directions counted');
    }
    assert.equal(moved('new_connections'), N, 'one DNAT per new connection');
    // Both count them per endpoint too (the DNAT rules' counters), named by `ip:port`.
    assert.equal(moved('endpoint_new_connections'), N, 'the endpoints\' new connections add up to the Service\'s');
    const endpoints = afterRead.filter((s) => s.service === 'web' && s.kind === 'endpoint_new_connections').map((s) => s.endpoint).sort();
    assert.deepEqual(endpoints, [`${t.pod('a').ipv4}:8080`, `${t.pod('c').ipv4}:8080`].sort());
    assert.ok(moved('rejected_packets', 'empty') >= 3, `rejected moved by ${moved('rejected_packets', 'empty')}`);
    assert.equal(moved('packets', 'empty'), 0, 'refused connections carry no Service traffic');

    const scrapeAfter = await registry.metrics();
    const expected = [
      ['svcplane_service_new_connections_total', N], ['svcplane_endpoint_new_connections_total', N],
      ['svcplane_service_packets_total', 3 * N], ['svcplane_endpoint_packets_total', 3 * N],
      ['svcplane_service_bytes_total', 3 * N * 40], ['svcplane_endpoint_bytes_total', 3 * N * 40],
    ] as const;
    for (const [metric, atLeast] of expected) {
      const d = scraped(scrapeAfter, metric, 'web') - scraped(scrapeBefore, metric, 'web');
      assert.ok(d >= atLeast, `${metric} moved by ${d}, expected >= ${atLeast}`);
    }
    // Counted traffic is not a difference: the rules that counted still check equal to the render.
    const check = await nsExec(t.node1.ns, ['node', '--import', 'tsx', CLI, 'check', '--backend', backend, '-f', `${dir}/input.json`, '--node-name', 'node1'], { reject: false, timeoutMs: 120_000 });
    assert.equal(check.exitCode, 0, check.stdout + check.stderr);
    assert.match(scrapeAfter, /svcplane_service_rejected_packets_total\{namespace="default",service="empty",port="80",protocol="TCP",reason="no_endpoints"\} [1-9]/);
  });

  it('the counters survive a full re-apply without going backwards in the exporter', async () => {
    const registry = new Registry();
    registerTrafficMetrics(registry, { read: () => readTraffic(systemExec, t.node1.ns), minReadIntervalMs: 0 });
    const metric = 'svcplane_service_packets_total';
    const first = scraped(await registry.metrics(), metric, 'web');
    assert.ok(first > 0);
    // Remove and re-create the rules: every kernel counter starts again from 0.
    await nsExec(t.node1.ns, ['node', '--import', 'tsx', CLI, 'cleanup'], { timeoutMs: 120_000 });
    await nsExec(t.node1.ns, ['node', '--import', 'tsx', CLI, 'apply', '--backend', backend, '-f', `${dir}/input.json`, '--node-name', 'node1'], { timeoutMs: 120_000 });
    const ok = await connectMany(t.pod('client'), tcp('10.96.0.10', 80), 2);
    assert.deepEqual(ok.failures, []);
    const second = scraped(await registry.metrics(), metric, 'web');
    assert.ok(second >= first + 2, `exported ${first} then ${second}: must only move forward`);
  });

  it('svcplane top --once --json shows the busy Service first', async () => {
    const traffic = continuousTraffic(t.pod('client'), tcp('10.96.0.10', 80), 100);
    try {
      const r = await nsExec(t.node1.ns, ['node', '--import', 'tsx', CLI, 'top', '--backend', backend, '--once', '--json', '--interval', '2'], { timeoutMs: 120_000 });
      const out = JSON.parse(r.stdout) as { services: { service: string; packetsPerSecond: number; newConnectionsPerSecond: number }[] };
      assert.equal(out.services[0]?.service, 'web', r.stdout);
      assert.ok(out.services[0]!.newConnectionsPerSecond > 0 && out.services[0]!.packetsPerSecond > 0, r.stdout);
    } finally {
      await traffic.stop();
    }
  });
});
