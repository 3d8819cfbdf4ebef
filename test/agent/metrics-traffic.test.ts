// The agent hands its traffic reader the input it last synced: IPVS counts per address
// and names its virtual servers only from that input (src/backends/ipvs/stats-reader.ts).
// A real Agent in offline mode with a fake backend and the IPVS naming over fixed
// `ipvsadm --stats` text: after the first sync /metrics
// carries the Service's series; an endpoint change reaches the reader's input.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Agent } from '../../src/agent/agent.js';
import { createAgentMetrics } from '../../src/agent/metrics.js';
import { parseIpvsStats } from '../../src/backends/ipvs/stats.js';
import { ipvsTrafficSamples, virtualServerNames } from '../../src/backends/ipvs/stats-reader.js';
import type { TrafficReader } from '../../src/backends/traffic.js';
import { serializePlan } from '../../src/model/plan.js';
import type { RenderInput } from '../../src/model/render-input.js';
import { plan, port, sliceManifest, svc } from '../helpers/model.js';
import { offlineAgentOptions } from './offline-agent.js';

const STATS = `TCP  10.96.0.10:80  5 30 25 2000 1500\n  -> 10.244.1.10:80  5 30 25 2000 1500\n`;

test('traffic metrics are named from the input the agent last synced', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcplane-traffic-'));
  writeFileSync(join(dir, 'plan.json'), serializePlan(plan([svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80)] })])));
  writeFileSync(join(dir, 'web.json'), JSON.stringify(sliceManifest('web', ['10.244.1.10'])));
  const seen: (RenderInput | undefined)[] = [];
  const traffic: TrafficReader = async (_exec, _netns, input) => {
    seen.push(input);
    return input ? ipvsTrafficSamples(parseIpvsStats(STATS), virtualServerNames(input)) : [];
  };
  let syncs = 0;
  const agent = new Agent({
    ...offlineAgentOptions(dir, '192.168.50.1'),
    backend: 'ipvs',
    log: pino({ level: 'silent' }),
    rules: { backend: 'fake', sync: async (_input, req) => (syncs++, { full: req.full, changes: 1 }) },
    traffic,
    metrics: createAgentMetrics({ backend: 'ipvs' }),
  });
  const metrics = async () => (await fetch(`http://127.0.0.1:${agent.listening.metrics!.port}/metrics`)).text();
  const until = async (what: string, f: () => boolean | Promise<boolean>) => {
    for (const end = Date.now() + 30_000; !(await f()); ) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await agent.start();
    await until('the first sync', () => syncs >= 1);
    // The exporter reads at most every 5 s: wait for a scrape that read after the sync.
    const line = /^svcplane_service_new_connections_total\{namespace="default",service="web",port="80",protocol="TCP"\} 5$/m;
    await until('the named series', async () => line.test(await metrics()));
    assert.match(await metrics(), /^svcplane_endpoint_packets_total\{namespace="default",service="web",port="80",protocol="TCP",endpoint="10.244.1.10:80"\} 55$/m);
    const last = seen.at(-1)!;
    assert.deepEqual(last.endpointSlices.flatMap((s) => s.endpoints.map((e) => e.address)), ['10.244.1.10']);
    assert.deepEqual(last.node.localAddresses, ['192.168.50.1'], 'the input as synced, node addresses filled in');

    writeFileSync(join(dir, 'web.json'), JSON.stringify(sliceManifest('web', ['10.244.1.10', '10.244.1.11'])));
    await until('the endpoint change to reach the reader', async () => {
      await metrics();
      return (seen.at(-1)?.endpointSlices.flatMap((s) => s.endpoints) ?? []).length === 2;
    });
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--traffic-metrics off: the agent registers no traffic metric and never reads the counters; services: no per-endpoint metric', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcplane-traffic-'));
  writeFileSync(join(dir, 'plan.json'), serializePlan(plan([svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80)] })])));
  let reads = 0;
  const traffic: TrafficReader = async () => (reads++, []);
  try {
    const names = async (level: 'off' | 'services') => {
      const agent = new Agent({
        ...offlineAgentOptions(dir, '192.168.50.1'),
        backend: 'ipvs',
        log: pino({ level: 'silent' }),
        rules: { backend: 'fake', sync: async (_input, req) => ({ full: req.full, changes: 0 }) },
        traffic,
        trafficMetrics: level,
        metrics: createAgentMetrics({ backend: 'ipvs' }),
      });
      return (await agent.metrics.registry.getMetricsAsJSON()).map((f) => f.name).filter((n) => n.startsWith('svcplane_service_') || n.startsWith('svcplane_endpoint_'));
    };
    assert.deepEqual(await names('off'), []);
    assert.equal(reads, 0, 'no read at a scrape');
    const services = await names('services');
    assert.ok(services.includes('svcplane_service_packets_total'), services.join(' '));
    assert.ok(!services.some((n) => n.startsWith('svcplane_endpoint_')), services.join(' '));
    assert.equal(reads, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
