// The real Agent in API mode: Services, EndpointSlices and its Node from the fake
// API server over real HTTP (our API client, list + watch, the stores), the
// scheduler, input merge and sync loop, with a fake rules backend that records
// what each sync was asked to make true. Timings are shortened through
// AgentOptions.watchTiming and the proxy config.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Agent } from '../../src/agent/agent.js';
import { createAgentMetrics } from '../../src/agent/metrics.js';
import type { Syncer as RulesSyncer } from '../../src/backends/syncer.js';
import type { WatchTiming } from '../../src/agent/watch/index.js';
import { DEFAULT_PROXY_CONFIG } from '../../src/model/config.js';
import { serializePlan, serviceKey, type Plan } from '../../src/model/plan.js';
import type { ProxyMode, RenderInput } from '../../src/model/render-input.js';
import { plan, port, svc } from '../helpers/model.js';
import { FakeApiServer } from './fake-apiserver.js';
import { perTest } from './per-test.js';
import { sleep, waitFor } from './helpers.js';
import { apiNode, apiService, apiSlice } from './objects.js';
import { parseExposition, samplesOf, valueOf, type Exposition } from './prom-text.js';

/** Generous: each takes seconds at most; a hang fails here instead of holding `npm test`. */
const TIMEOUT = { timeout: 120_000 };

const FAST_WATCH: Partial<WatchTiming> = {
  initialBackoffMs: 20,
  maxBackoffMs: 200,
  silenceMs: 5000,
  listTimeoutMs: 2000,
  // Watches end and restart on their own during the tests, as in a cluster.
  watchTimeoutMinSeconds: 1,
  watchTimeoutMaxSeconds: 2,
};

/** What one sync was asked to make true. */
interface Call {
  readonly full: boolean;
  readonly changed: string[];
  readonly preserve: string[];
  /** namespace/name of the Services in the input. */
  readonly services: string[];
  /** service:address of every endpoint in the input. */
  readonly endpoints: string[];
  readonly input: RenderInput;
}

interface Ctx {
  readonly api: FakeApiServer;
  readonly agent: Agent;
  readonly calls: Call[];
  readonly last: () => Call;
}

const { defer, fakeApi } = perTest();

async function startAgent(
  api: FakeApiServer,
  opts: {
    mode?: ProxyMode;
    plan?: Plan;
    syncPeriodSeconds?: number;
    /** undefined: the agent's real list/watch timings. */
    watchTiming?: Partial<WatchTiming> | undefined;
    watchStaleMs?: number;
    /** Serve /healthz and /livez on a free loopback port. */
    health?: boolean;
    /** Do not wait for start() (the API server may be unreachable). */
    started?: (p: Promise<void>) => void;
    maxServicesPerSync?: number;
    /** Awaited at the start of the n-th sync (1-based), before it is recorded. */
    beforeSync?: (n: number) => Promise<void>;
  } = {},
): Promise<Ctx> {
  const calls: Call[] = [];
  const rules: RulesSyncer = {
    backend: 'fake',
    async sync(input, req) {
      await opts.beforeSync?.(calls.length + 1);
      calls.push({
        full: req.full,
        changed: [...req.changed].sort(),
        preserve: [...req.preserve],
        services: input.plan.services.map(serviceKey),
        endpoints: input.endpointSlices.flatMap((s) => s.endpoints.map((e) => `${s.serviceName}:${e.address}`)).sort(),
        input,
      });
      return { full: req.full, changes: 1 };
    },
  };
  let planFile: string | undefined;
  if (opts.plan) {
    const dir = mkdtempSync(join(tmpdir(), 'svcplane-agent-api-'));
    defer(async () => rmSync(dir, { recursive: true, force: true }));
    planFile = join(dir, 'plan.json');
    writeFileSync(planFile, serializePlan(opts.plan));
  }
  const agent = new Agent({
    backend: 'nftables',
    mode: opts.mode ?? 'coexist',
    nodeName: 'node1',
    ...(planFile ? { planFile } : {}),
    kubeConfig: api.kubeConfig(),
    config: { ...DEFAULT_PROXY_CONFIG, syncPeriodSeconds: opts.syncPeriodSeconds ?? 60, minSyncPeriodSeconds: 0.05 },
    log: pino({ level: process.env.AGENT_TEST_LOG ? 'debug' : 'silent' }),
    rules,
    localAddresses: async () => ['192.168.50.1'],
    conntrack: async () => [],
    filePollMs: 50,
    metrics: createAgentMetrics(),
    ...('watchTiming' in opts ? (opts.watchTiming ? { watchTiming: opts.watchTiming } : {}) : { watchTiming: FAST_WATCH }),
    ...(opts.watchStaleMs ? { watchStaleMs: opts.watchStaleMs } : {}),
    ...(opts.maxServicesPerSync ? { maxServicesPerSync: opts.maxServicesPerSync } : {}),
    ...(opts.health ? { healthAddr: { host: '127.0.0.1', port: 0 }, metricsAddr: { host: '127.0.0.1', port: 0 } } : {}),
  });
  defer(() => agent.stop());
  const starting = agent.start();
  if (opts.started) opts.started(starting);
  else await starting;
  return { api, agent, calls, last: () => calls[calls.length - 1]! };
}

/** Waits until `n` syncs ran, then gives the n-th. */
async function nthSync(ctx: Ctx, n: number, timeoutMs = 20_000): Promise<Call> {
  await waitFor(`sync #${n} (have ${ctx.calls.length})`, () => ctx.calls.length >= n, timeoutMs);
  return ctx.calls[n - 1]!;
}

/**
 * Proves that no sync ran after the `n`-th without sleeping: a change made now (a new
 * Service of ours) must be the very next sync, and alone. A sync that was still coming
 * would be sync #n+1 instead, or be merged into it.
 */
async function assertNextSyncIsOnly(ctx: Ctx, n: number, marker: string): Promise<void> {
  assert.equal(ctx.calls.length, n, `${n} sync(s) so far`);
  ctx.api.upsert('services', apiService(marker, '10.96.0.99'));
  const next = await nthSync(ctx, n + 1);
  assert.deepEqual(next.changed, [`default/${marker}`], `sync #${n + 1} is the marker's alone: nothing else was synced meanwhile`);
}

/** Services of three kinds and their slices: ours, unlabelled, another proxy's. */
function seed(api: FakeApiServer): void {
  api.upsert('services', apiService('web', '10.96.0.10'));
  api.upsert('services', apiService('db', '10.96.0.11'));
  api.upsert('services', apiService('plain', '10.96.0.12', { proxy: null }));
  api.upsert('services', apiService('foreign', '10.96.0.13', { proxy: 'other-proxy' }));
  api.upsert('endpointslices', apiSlice('web', ['10.244.1.10']));
  api.upsert('endpointslices', apiSlice('db', ['10.244.1.20']));
  api.upsert('endpointslices', apiSlice('plain', ['10.244.1.30']));
  api.upsert('endpointslices', apiSlice('foreign', ['10.244.1.40']));
  api.upsert('nodes', apiNode('node1', '192.168.50.1', 'zone-a'));
}

const metricsText = (ctx: Ctx) => ctx.agent.metrics.registry.metrics();

/** The value of an unlabelled counter or gauge in the agent's /metrics text. */
async function counter(ctx: Ctx, name: string): Promise<number> {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(await metricsText(ctx));
  assert.ok(m, `${name} exported`);
  return Number(m[1]);
}

test('coexist: the first lists give one full sync with only the Services labelled for svcplane', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  const ctx = await startAgent(api);
  const first = await nthSync(ctx, 1);
  assert.equal(first.full, true);
  assert.deepEqual(first.services, ['default/db', 'default/web']);
  assert.deepEqual(first.preserve, []);
  assert.ok(first.endpoints.includes('web:10.244.1.10') && first.endpoints.includes('db:10.244.1.20'));
  assert.deepEqual(first.input.plan.services.find((s) => s.name === 'web')!.clusterIPs, ['10.96.0.10']);
  // The server filtered: the watch asked for our label only.
  assert.equal(api.requestsFor('services', false)[0]!.query.get('labelSelector'), 'service.kubernetes.io/service-proxy-name=svcplane');
  // The initial lists are one sync, not one per object.
  await assertNextSyncIsOnly(ctx, 1, 'marker');
});

test('replace: unlabelled Services are ours too, another proxy\'s never; relabelling one away removes it', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  const ctx = await startAgent(api, { mode: 'replace' });
  const first = await nthSync(ctx, 1);
  assert.equal(first.full, true);
  assert.deepEqual(first.services, ['default/db', 'default/plain', 'default/web']);
  // No sleep: sync #2 below being the relabelled Service's alone proves no other came between.
  api.upsert('services', apiService('plain', '10.96.0.12', { proxy: 'other-proxy' }));
  const second = await nthSync(ctx, 2);
  assert.equal(second.full, false);
  assert.deepEqual(second.changed, ['default/plain']);
  assert.deepEqual(second.services, ['default/db', 'default/web']);
});

test('an EndpointSlice MODIFIED syncs exactly its Service, incrementally, with the new endpoints', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  const ctx = await startAgent(api);
  await nthSync(ctx, 1);
  const changesBefore = await counter(ctx, 'kubeproxy_sync_proxy_rules_endpoint_changes_total');
  api.upsert('endpointslices', apiSlice('web', ['10.244.1.10', '10.244.1.11']));
  const s = await nthSync(ctx, 2);
  assert.equal(s.full, false);
  assert.deepEqual(s.changed, ['default/web']);
  assert.deepEqual(s.endpoints.filter((e) => e.startsWith('web:')), ['web:10.244.1.10', 'web:10.244.1.11']);
  assert.ok(s.endpoints.includes('db:10.244.1.20'), 'the other Services keep their endpoints in the input');
  assert.equal(await counter(ctx, 'kubeproxy_sync_proxy_rules_endpoint_changes_total'), changesBefore + 1);
});

test('watches the server ends early and quietly are renewed at once: a change then syncs with no backoff, watchdog or relist in between', TIMEOUT, async () => {
  // The e2e fake API child ends every watch after 5 s; the agent backed each such quiet
  // end off (doubling to 30 s), and the memory bench saw endpoint changes reach the
  // kernel ~25 s late. Here watches end after 1.5 s and any backoff or watchdog wait
  // would be 45-60 s: the third watch and the change must come long before that.
  const api = await fakeApi();
  api.maxWatchSeconds = 1.5;
  seed(api);
  const ctx = await startAgent(api, { watchTiming: { initialBackoffMs: 60_000, maxBackoffMs: 60_000, silenceMs: 60_000 } });
  await nthSync(ctx, 1);
  await waitFor('a third EndpointSlice watch after two quiet ends', () => api.requestsFor('endpointslices', true).length >= 3);
  await waitFor('the third watch open', () => api.activeWatches('endpointslices') === 1);
  api.upsert('endpointslices', apiSlice('web', ['10.244.1.10', '10.244.1.11']));
  await waitFor('the change synced', () => ctx.calls.some((c) => c.endpoints.includes('web:10.244.1.11')));
  assert.equal(api.requestsFor('endpointslices', false).length, 1, 'no relist');
});

test('a Service DELETED syncs its key and it is gone from the input', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  const ctx = await startAgent(api);
  await nthSync(ctx, 1);
  api.remove('services', 'default', 'db');
  const s = await nthSync(ctx, 2);
  assert.equal(s.full, false);
  assert.deepEqual(s.changed, ['default/db']);
  assert.deepEqual(s.services, ['default/web']);
});

test("the API's allocated clusterIP and load-balancer ingress win over the plan's; the plan's spec holds", TIMEOUT, async () => {
  const api = await fakeApi();
  const lbPlan = plan([
    svc({
      name: 'lb',
      type: 'LoadBalancer',
      clusterIPs: ['10.96.0.50'],
      ports: [port(80, 8080, { name: 'http', nodePort: 30080 })],
      loadBalancerIngress: [{ ip: '203.0.113.1', ipMode: 'VIP' }],
    }),
  ]);
  const lb = apiService('lb', '10.96.0.77');
  lb.spec.type = 'LoadBalancer';
  lb.spec.ports = [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 9999, nodePort: 30080 }];
  lb.status = { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } };
  api.upsert('services', lb);
  api.upsert('nodes', apiNode('node1', '192.168.50.1'));
  const ctx = await startAgent(api, { plan: lbPlan });
  const first = await nthSync(ctx, 1);
  const s = first.input.plan.services.find((x) => x.name === 'lb')!;
  assert.deepEqual(s.clusterIPs, ['10.96.0.77']);
  assert.deepEqual(s.loadBalancerIngress, [{ ip: '203.0.113.9', ipMode: 'VIP' }]);
  assert.equal(s.ports[0]!.targetPort, 8080, 'the reviewed plan spec holds');
  assert.deepEqual(first.input.plan.serviceCIDRs, lbPlan.serviceCIDRs);
  // A new ingress address from the cloud controller reaches the rules.
  lb.status = { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } };
  api.upsert('services', lb);
  const second = await nthSync(ctx, 2);
  assert.deepEqual(second.changed, ['default/lb']);
  assert.deepEqual(second.input.plan.services[0]!.loadBalancerIngress, [{ ip: '203.0.113.10', ipMode: 'VIP' }]);
});

test("the Node gives the node's addresses, pod CIDRs and zone; a Node change is a full sync", TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  const ctx = await startAgent(api);
  const first = await nthSync(ctx, 1);
  assert.deepEqual(first.input.node.addresses, ['192.168.50.1']);
  assert.deepEqual(first.input.node.podCIDRs, ['10.244.1.0/24']);
  assert.equal(first.input.node.zone, 'zone-a');
  assert.deepEqual(first.input.node.localAddresses, ['192.168.50.1']);
  assert.equal(api.requestsFor('nodes', false)[0]!.query.get('fieldSelector'), 'metadata.name=node1');
  api.upsert('nodes', apiNode('node1', '192.168.50.2', 'zone-b'));
  const second = await nthSync(ctx, 2);
  assert.equal(second.full, true);
  assert.deepEqual(second.input.node.addresses, ['192.168.50.2']);
  assert.equal(second.input.node.zone, 'zone-b');
});

test('a malformed EndpointSlice update keeps the previous good version; one with no good version is preserved', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  // Broken before the agent started: no good version is known, the kernel keeps what it has.
  api.upsert('services', apiService('broken', '10.96.0.14'));
  api.upsert('endpointslices', { ...apiSlice('broken', []), endpoints: {} });
  const ctx = await startAgent(api);
  const first = await nthSync(ctx, 1);
  assert.deepEqual(first.preserve, ['default/broken']);
  assert.match(await metricsText(ctx), /^svcplane_malformed_objects_total\{kind="EndpointSlice"\} 1$/m);

  // A bad update of web's slice: counted, no sync of its own, the good version stays.
  api.upsert('endpointslices', { ...apiSlice('web', ['10.244.1.10']), endpoints: [{ addresses: 'nope' }] });
  await metricMatches(ctx, /^svcplane_malformed_objects_total\{kind="EndpointSlice"\} 2$/m);
  assert.equal(ctx.calls.length, 1, 'a malformed update changes nothing to sync');
  // The next sync (another Service changed) still renders web's last good endpoints; it
  // being db's alone also proves the malformed update queued no sync of web.
  api.upsert('endpointslices', apiSlice('db', ['10.244.1.21']));
  const s = await nthSync(ctx, 2);
  assert.deepEqual(s.changed, ['default/db']);
  assert.ok(s.endpoints.includes('web:10.244.1.10'), 'web keeps its last good endpoints');
  assert.deepEqual(s.preserve, ['default/broken'], 'web has a good version: rendered from it, not preserved');
  // The broken slice fixed: its Service is synced and no longer preserved.
  api.upsert('endpointslices', apiSlice('broken', ['10.244.1.50']));
  const fixed = await nthSync(ctx, 3);
  assert.deepEqual(fixed.changed, ['default/broken']);
  assert.deepEqual(fixed.preserve, []);
  assert.ok(fixed.endpoints.includes('broken:10.244.1.50'));
});

/** Polls the agent's /metrics text until it matches. */
async function metricMatches(ctx: Ctx, re: RegExp, timeoutMs = 4000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!re.test(await metricsText(ctx))) {
    if (Date.now() > end) throw new Error(`timed out waiting for metrics to match ${re}`);
    await sleep(20);
  }
}

test('API server down or failing: syncs keep everything; when it is back with changes, they are synced', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  // A short sync period: periodic full syncs run during the outage.
  const ctx = await startAgent(api, { syncPeriodSeconds: 0.3 });
  const first = await nthSync(ctx, 1);
  const before = { services: first.services, endpoints: first.endpoints };

  // 5xx on every request for a while, and the open watches cut.
  api.failNext('endpointslices', 'watch', 500, 5);
  api.failNext('endpointslices', 'list', 500, 5);
  api.failNext('services', 'watch', 503, 5);
  api.dropWatches();
  // Every injected watch failure served (the list failures wait for the next relist).
  const failed = (r: { status: number }) => r.status >= 500;
  await waitFor(
    'the 5 injected 5xx on the slice watch and on the Service watch answered',
    () => api.requestsFor('endpointslices', true).filter(failed).length >= 5 && api.requestsFor('services', true).filter(failed).length >= 5,
    20_000,
  );
  // Then gone entirely.
  await api.down();
  const atDown = ctx.calls.length;
  await waitFor('periodic syncs during the outage', () => ctx.calls.length >= atDown + 3, 3000);
  for (const c of ctx.calls) {
    assert.deepEqual({ services: c.services, endpoints: c.endpoints }, before, 'no sync removed anything while the API server was away');
    assert.deepEqual(c.preserve, []);
  }
  // Changes made while the agent could not see them.
  api.upsert('endpointslices', apiSlice('web', ['10.244.1.10', '10.244.1.12']));
  api.remove('services', 'default', 'db');
  const atUp = ctx.calls.length;
  await api.up();
  // Services and slices come back through separate watches: one or more syncs, and
  // together they name both changed Services (full periodic syncs name them too). A
  // slice event that lands while a sync is running (it awaits node facts before taking
  // the stores' snapshots) is in that sync's input but named by the next sync.
  const namedSince = (i: number) => new Set(ctx.calls.slice(i).flatMap((c) => c.changed));
  await waitFor(
    'syncs with the changes, naming both changed Services',
    () => ctx.calls.slice(atUp).some((c) => c.endpoints.includes('web:10.244.1.12') && !c.services.includes('default/db')) && namedSince(atUp).has('default/db') && namedSince(atUp).has('default/web'),
    5000,
  );
  assert.deepEqual(ctx.last().services, ['default/web']);
  assert.equal(ctx.agent.livez().healthy, true);
});

test('410 Gone: the agent relists and syncs the Services that changed meanwhile', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  const ctx = await startAgent(api);
  await nthSync(ctx, 1);
  await waitFor('slice watch open', () => api.activeWatches('endpointslices') === 1);
  const lists = api.requestsFor('endpointslices', false).length;
  // The agent misses a change, the history it would replay is compacted, its watch drops.
  api.silenceOpenWatches('endpointslices');
  api.upsert('endpointslices', apiSlice('db', ['10.244.1.22']));
  api.remove('endpointslices', 'default', 'web-abc');
  api.compact('endpointslices');
  api.dropWatches('endpointslices');
  const s = await nthSync(ctx, 2);
  assert.ok(api.requestsFor('endpointslices', false).length > lists, 'relisted');
  assert.equal(s.full, false);
  assert.deepEqual(s.changed, ['default/db', 'default/web']);
  assert.ok(s.endpoints.includes('db:10.244.1.22'));
  assert.ok(!s.endpoints.some((e) => e.startsWith('web:')), "web's deleted slice is gone after the relist");
  // One relist, one sync.
  await assertNextSyncIsOnly(ctx, 2, 'marker');
});

test('network_programming_duration observes the last-change-trigger-time of a synced slice', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  const ctx = await startAgent(api);
  await nthSync(ctx, 1);
  assert.doesNotMatch(await metricsText(ctx), /^kubeproxy_network_programming_duration_seconds_count/m);
  // A change made after the agent started (its first sync is done).
  const trigger = new Date().toISOString();
  api.upsert('endpointslices', apiSlice('web', ['10.244.1.13'], { triggerTime: trigger }));
  await nthSync(ctx, 2);
  const text = await metricsText(ctx);
  assert.match(text, /^kubeproxy_network_programming_duration_seconds_count\{ip_family="IPv4"\} 1$/m);
  const sum = Number(/^kubeproxy_network_programming_duration_seconds_sum\{ip_family="IPv4"\} (\S+)$/m.exec(text)![1]);
  assert.ok(sum >= 0 && sum < 10, `observed ${sum} s from a change made just now`);
  // The same trigger on a later version (status-only rewrite) is the same change: not observed again.
  api.upsert('endpointslices', apiSlice('web', ['10.244.1.14'], { triggerTime: trigger }));
  await nthSync(ctx, 3);
  assert.match(await metricsText(ctx), /^kubeproxy_network_programming_duration_seconds_count\{ip_family="IPv4"\} 1$/m);
});

test('network_programming_duration: a Service held for the next batch is observed when that batch syncs it', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const seen: number[] = [];
  let waiting = false;
  let ctx!: Ctx;
  const count = async () => Number(/^kubeproxy_network_programming_duration_seconds_count\{ip_family="IPv4"\} (\S+)$/m.exec(await metricsText(ctx))?.[1] ?? 0);
  ctx = await startAgent(api, {
    maxServicesPerSync: 1,
    beforeSync: async (n) => {
      if (n === 2) {
        waiting = true;
        await released; // web's sync waits until db2 and db3 are queued behind it
      }
      if (n >= 2) seen.push(await count());
    },
  });
  await nthSync(ctx, 1);
  const now = () => new Date().toISOString();
  api.upsert('endpointslices', apiSlice('web', ['10.244.1.13'], { triggerTime: now() }));
  await waitFor('sync #2 to start', () => waiting);
  api.upsert('services', apiService('db2', '10.96.0.21'));
  api.upsert('services', apiService('db3', '10.96.0.22'));
  api.upsert('endpointslices', apiSlice('db2', ['10.244.1.21'], { triggerTime: now() }));
  api.upsert('endpointslices', apiSlice('db3', ['10.244.1.22'], { triggerTime: now() }));
  // Both Services and both slices queued while sync #2 waits.
  for (const end = Date.now() + 20_000; ; ) {
    const text = await metricsText(ctx);
    if (/^kubeproxy_sync_proxy_rules_service_changes_pending 2$/m.test(text) && /^kubeproxy_sync_proxy_rules_endpoint_changes_pending 2$/m.test(text)) break;
    if (Date.now() > end) throw new Error('timed out waiting for db2 and db3 to be queued');
    await sleep(20);
  }
  release();
  await nthSync(ctx, 4);
  await new Promise<void>((r) => setImmediate(r));
  for (const end = Date.now() + 20_000; (await count()) < 3; ) {
    if (Date.now() > end) throw new Error('timed out waiting for the third observation');
    await sleep(20);
  }
  assert.deepEqual(ctx.calls.slice(2).map((c) => c.changed), [['default/db2'], ['default/db3']]);
  // At the start of db3's batch only web's and db2's triggers were observed: db3's waited for its own.
  assert.deepEqual(seen, [0, 1, 2]);
});

async function getJson(ctx: Ctx, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const at = ctx.agent.listening.health!;
  const r = await fetch(`http://127.0.0.1:${at.port}${path}`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

test('KEP-3836: the Node tainted ToBeDeletedByClusterAutoscaler or being deleted makes /healthz 503 (nodeEligible false), /livez stays 200', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  const ctx = await startAgent(api, { health: true });
  await nthSync(ctx, 1);
  let h = await getJson(ctx, '/healthz');
  assert.equal(h.status, 200);
  assert.equal(h.body.nodeEligible, true);
  assert.deepEqual(Object.keys(h.body).sort(), ['currentTime', 'lastUpdated', 'nodeEligible']);

  const tainted = apiNode('node1', '192.168.50.1', 'zone-a');
  tainted.spec.taints = [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1764756000', effect: 'NoSchedule' }];
  api.upsert('nodes', tainted);
  await waitFor('/healthz 503 after the taint', () => ctx.agent.healthz().healthy === false);
  h = await getJson(ctx, '/healthz');
  assert.equal(h.status, 503);
  assert.equal(h.body.nodeEligible, false);
  assert.equal(h.body.nodeIneligibleReason, 'taint ToBeDeletedByClusterAutoscaler');
  const l = await getJson(ctx, '/livez');
  assert.equal(l.status, 200, '/livez only says the rules are fresh');
  assert.deepEqual(Object.keys(l.body).sort(), ['currentTime', 'lastUpdated']);

  api.upsert('nodes', apiNode('node1', '192.168.50.1', 'zone-a'));
  await waitFor('/healthz 200 after the untaint', () => ctx.agent.healthz().healthy);
  assert.equal((await getJson(ctx, '/healthz')).status, 200);
  assert.equal((await getJson(ctx, '/livez')).status, 200);

  const deleting = apiNode('node1', '192.168.50.1', 'zone-a');
  deleting.metadata.deletionTimestamp = '2026-12-03T12:00:00Z';
  api.upsert('nodes', deleting);
  await waitFor('/healthz 503 with a deletionTimestamp', () => ctx.agent.healthz().healthy === false);
  h = await getJson(ctx, '/healthz');
  assert.equal(h.status, 503);
  assert.equal(h.body.nodeIneligibleReason, 'deletionTimestamp');
  assert.equal((await getJson(ctx, '/livez')).status, 200);
});

test('started while the API server is unreachable: no sync (rules untouched), /livez 200, /healthz 503 naming the stale watches; syncs once it is up', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  await api.down();
  let started = false;
  const ctx = await startAgent(api, { health: true, watchStaleMs: 300, started: (p) => void p.then(() => (started = true)) });
  await waitFor('/healthz degraded: the watches are stale', () => ctx.agent.healthz().body.staleWatches?.length === 3);
  const h = await getJson(ctx, '/healthz');
  assert.equal(h.status, 503);
  assert.deepEqual((h.body.staleWatches as Array<{ resource: string }>).map((w) => w.resource).sort(), ['endpointslices', 'nodes', 'services']);
  assert.equal((await getJson(ctx, '/livez')).status, 200, 'no crash loop: nothing is late, nothing was queued');
  assert.equal(ctx.calls.length, 0, 'nothing synced: no rule removed for lack of input');
  assert.equal(started, false);

  await api.up();
  // Generous: it only matters when the sync never comes (10 s failed once on a loaded machine).
  await nthSync(ctx, 1, 60_000);
  assert.ok(started);
  assert.deepEqual(ctx.last().services, ['default/db', 'default/web']);
  await waitFor('/healthz 200 once the watches hear from the server', () => ctx.agent.healthz().healthy);
});

test('the watch gauge: svcplane_watch_last_event_timestamp_seconds per resource, recent while watches are live', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  const ctx = await startAgent(api, { health: true });
  await nthSync(ctx, 1);
  const metricsServer = await import('../../src/agent/http.js');
  const s = await metricsServer.startServer({ host: '127.0.0.1', port: 0 }, metricsServer.metricsHandler(ctx.agent.metrics.registry));
  defer(() => metricsServer.closeServer(s));
  // The agent refreshes the gauges per scrape of its own metrics server; here through healthz-independent access:
  (ctx.agent as unknown as { refreshWatchGauges(): void }).refreshWatchGauges();
  const text = await (await fetch(`http://127.0.0.1:${ctx.agent.listening.metrics!.port}/metrics`)).text();
  for (const r of ['services', 'endpointslices', 'nodes']) {
    const m = new RegExp(`^svcplane_watch_last_event_timestamp_seconds\\{resource="${r}"\\} (\\S+)$`, 'm').exec(text);
    assert.ok(m, `gauge for ${r}`);
    assert.ok(Math.abs(Number(m[1]) - Date.now() / 1000) < 30, `${r}: recent (${m[1]})`);
  }
});

test('a hung API server (open watches never answered, new requests accepted and never answered) and its return: converged within 60 s, with the real watch timings', { timeout: 120_000 }, async (t) => {
  const api = await fakeApi();
  seed(api);
  const ctx = await startAgent(api, { watchTiming: undefined });
  await nthSync(ctx, 1);
  await waitFor('the watches are open', () => api.activeWatches('endpointslices') > 0 && api.activeWatches('services') > 0);
  api.hang();
  api.upsert('endpointslices', apiSlice('web', ['10.244.1.10', '10.244.1.11']));
  await sleep(3000); // the hang itself: a duration under test, not a wait for state
  api.unhang();
  const back = Date.now();
  await waitFor(
    'the EndpointSlice change made during the hang synced',
    () => ctx.calls.some((c) => c.endpoints.includes('web:10.244.1.11')),
    60_000,
  );
  const took = (Date.now() - back) / 1000;
  t.diagnostic(`converged ${took.toFixed(1)} s after the API server's return (hung requests: ${api.hungRequestCount})`);
  assert.ok(took < 60, `converged ${took.toFixed(1)} s after the API server's return`);
});

test('live Services the API server accepted forward; the ServiceCIDRs of the cluster replace the plan ranges; ignored fields have their own counter', TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  const cidr = (name: string, c: string) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name }, spec: { cidrs: [c] } });
  api.upsert('servicecidrs', cidr('kubernetes', '10.100.0.0/16'));
  // A cluster with --service-node-port-range=3000-4000 and a field that does not apply.
  const np = apiService('np', '10.200.0.10');
  np.spec.type = 'NodePort';
  np.spec.ports[0].nodePort = 3001;
  np.spec.healthCheckNodePort = 31000;
  api.upsert('services', np);
  const planned: Plan = { ...plan([]), serviceCIDRs: ['10.96.0.0/16'] };
  const ctx = await startAgent(api, { plan: planned });
  await waitFor('the ServiceCIDR reached a sync', () => ctx.calls.some((c) => c.input.plan.serviceCIDRs.join() === '10.100.0.0/16'), 5000);
  const s = ctx.last().input.plan.services.find((x) => x.name === 'np');
  assert.ok(s, 'the Service with node port 3001 and a ClusterIP outside every ServiceCIDR forwards');
  assert.equal(s.ports[0]!.nodePort, 3001);
  assert.equal(s.healthCheckNodePort, undefined, 'the field that does not apply is dropped');
  const text = await metricsText(ctx);
  assert.match(text, /^svcplane_ignored_fields_total\{kind="Service"\} 1$/m);
  assert.doesNotMatch(text, /^svcplane_malformed_objects_total\{/m, 'nothing was refused');
  // A second ServiceCIDR (a range being added): a full sync with both.
  const before = ctx.calls.length;
  api.upsert('servicecidrs', cidr('extra', '10.101.0.0/16'));
  await waitFor('a sync with both ranges', () => ctx.calls.slice(before).some((c) => c.full && c.input.plan.serviceCIDRs.join() === '10.100.0.0/16,10.101.0.0/16'), 5000);
  // A relist parses the same Service version again: still one warning for it.
  api.compact('services');
  api.dropWatches('services');
  await waitFor('services relisted', () => api.requestsFor('services', false).length >= 2, 5000);
  // The watch that follows the relist delivers a new Service: once it is synced, the relisted
  // items were parsed before it.
  const relisted = ctx.calls.length;
  api.upsert('services', apiService('after-relist', '10.100.0.99'));
  await waitFor('the Service added after the relist synced', () => ctx.calls.slice(relisted).some((c) => c.services.includes('default/after-relist')), 5000);
  assert.match(await metricsText(ctx), /^svcplane_ignored_fields_total\{kind="Service"\} 1$/m);
});

// ---- kube-proxy's metric set, scraped from the agent's metrics port after real syncs

/** kube-proxy v1.34/v1.35 (pkg/proxy/metrics, metrics reference) in nftables mode: type, help, labels. */
const KUBE_PROXY_NFTABLES_METRICS: Record<string, [type: string, help: string, labels: string[]]> = {
  kubeproxy_sync_proxy_rules_duration_seconds: ['histogram', 'SyncProxyRules latency in seconds', ['ip_family']],
  kubeproxy_sync_full_proxy_rules_duration_seconds: ['histogram', 'SyncProxyRules latency in seconds for full resyncs', ['ip_family']],
  kubeproxy_sync_partial_proxy_rules_duration_seconds: ['histogram', 'SyncProxyRules latency in seconds for partial resyncs', ['ip_family']],
  kubeproxy_network_programming_duration_seconds: ['histogram', 'In Cluster Network Programming Latency in seconds', ['ip_family']],
  kubeproxy_sync_proxy_rules_last_timestamp_seconds: ['gauge', 'The last time proxy rules were successfully synced', ['ip_family']],
  kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds: ['gauge', 'The last time a sync of proxy rules was queued', ['ip_family']],
  kubeproxy_sync_proxy_rules_endpoint_changes_pending: ['gauge', 'Pending proxy rules Endpoint changes', []],
  kubeproxy_sync_proxy_rules_endpoint_changes_total: ['counter', 'Cumulative proxy rules Endpoint changes', []],
  kubeproxy_sync_proxy_rules_service_changes_pending: ['gauge', 'Pending proxy rules Service changes', []],
  kubeproxy_sync_proxy_rules_service_changes_total: ['counter', 'Cumulative proxy rules Service changes', []],
  kubeproxy_sync_proxy_rules_no_local_endpoints_total: ['gauge', 'Number of services with a Local traffic policy and no endpoints', ['ip_family', 'traffic_policy']],
  kubeproxy_sync_proxy_rules_nftables_sync_failures_total: ['counter', 'Cumulative proxy nftables sync failures', ['ip_family']],
  kubeproxy_sync_proxy_rules_nftables_cleanup_failures_total: ['counter', 'Cumulative proxy nftables cleanup failures', ['ip_family']],
  kubeproxy_proxy_healthz_total: ['counter', 'Cumulative proxy healthz HTTP status', ['code']],
  kubeproxy_proxy_livez_total: ['counter', 'Cumulative proxy livez HTTP status', ['code']],
  kubeproxy_conntrack_reconciler_sync_duration_seconds: ['histogram', 'ReconcileConntrackFlowsLatency latency in seconds', ['ip_family']],
  kubeproxy_conntrack_reconciler_deleted_entries_total: ['counter', 'Cumulative conntrack flows deleted by conntrack reconciler', ['ip_family']],
};

/** kube-proxy's buckets, written out (not computed the way the agent computes them). */
const SYNC_LE = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384];
const PROGRAMMING_LE = [
  0, 0.25, 0.5,
  ...Array.from({ length: 59 }, (_, i) => i + 1),
  60, 65, 70, 75, 80, 85, 90, 95, 100, 105, 110, 115,
  120, 150, 180, 210, 240, 270, 300,
];

async function scrape(ctx: Ctx): Promise<Exposition> {
  const r = await fetch(`http://127.0.0.1:${ctx.agent.listening.metrics!.port}/metrics`);
  assert.equal(r.status, 200);
  return parseExposition(await r.text());
}

/** The `le` bounds of one histogram series, +Inf last. */
function bucketBounds(e: Exposition, name: string, labels: Record<string, string>): number[] {
  return samplesOf(e, `${name}_bucket`, labels).map((s) => (s.labels.le === '+Inf' ? Infinity : Number(s.labels.le)));
}

function assertBuckets(e: Exposition, name: string, want: number[]): void {
  const got = bucketBounds(e, name, { ip_family: 'IPv4' });
  assert.equal(got.length, want.length + 1, `${name}: ${want.length} buckets and +Inf (got ${got.length})`);
  want.forEach((le, i) => assert.ok(Math.abs(got[i]! - le) < 1e-9, `${name} bucket ${i}: ${got[i]} != ${le}`));
  assert.equal(got[want.length], Infinity);
}

test("kube-proxy's metrics: names, types, help, labels and buckets, and values that move as the events did", TIMEOUT, async () => {
  const api = await fakeApi();
  seed(api);
  // Changed before the agent started: kube-proxy does not observe the initial list's triggers.
  api.upsert('endpointslices', apiSlice('db', ['10.244.1.20'], { triggerTime: new Date(Date.now() - 60_000).toISOString() }));
  // internalTrafficPolicy Local and no endpoint on node1.
  const local = apiService('local', '10.96.0.14');
  local.spec.internalTrafficPolicy = 'Local';
  api.upsert('services', local);
  api.upsert('endpointslices', apiSlice('local', ['10.244.2.10']));
  // web has two slices: six slices of five Services in the initial list.
  api.upsert('endpointslices', apiSlice('web', ['10.244.1.9'], { name: 'web-2' }));
  const ctx = await startAgent(api, { health: true });
  await nthSync(ctx, 1);

  const e0 = await scrape(ctx);
  for (const [name, [type, help, labels]] of Object.entries(KUBE_PROXY_NFTABLES_METRICS)) {
    const fam = e0.families.get(name);
    assert.ok(fam, `${name} is exported`);
    assert.equal(fam.type, type, `${name}: type`);
    assert.equal(fam.help, help, `${name}: help`);
    const series = e0.samples.filter((x) => x.name === name || x.name.startsWith(`${name}_`));
    for (const x of series) assert.deepEqual(Object.keys(x.labels).filter((l) => l !== 'le').sort(), [...labels].sort(), `${x.name}: labels`);
  }
  // kube-proxy registers the iptables set only in iptables mode.
  assert.ok(![...e0.families.keys()].some((n) => n.includes('iptables')), 'no iptables metrics in nftables mode');
  assertBuckets(e0, 'kubeproxy_sync_proxy_rules_duration_seconds', SYNC_LE);
  assertBuckets(e0, 'kubeproxy_sync_full_proxy_rules_duration_seconds', SYNC_LE);
  assert.equal(valueOf(e0, 'kubeproxy_sync_full_proxy_rules_duration_seconds_count', { ip_family: 'IPv4' }), 1, 'the first sync is full');
  assert.equal(valueOf(e0, 'kubeproxy_sync_proxy_rules_duration_seconds_count', { ip_family: 'IPv4' }), 1);
  assert.equal(samplesOf(e0, 'kubeproxy_network_programming_duration_seconds_count').length, 0, 'a trigger from before the start is not observed');
  assert.ok(Math.abs(valueOf(e0, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', { ip_family: 'IPv4' })! - Date.now() / 1000) < 30);
  assert.equal(valueOf(e0, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total', { ip_family: 'IPv4', traffic_policy: 'internal' }), 1);
  assert.equal(valueOf(e0, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total', { ip_family: 'IPv4', traffic_policy: 'external' }), 0);

  // Three EndpointSlice changes (two modified, one new) for two Services, and one Service change.
  const endpointChanges0 = valueOf(e0, 'kubeproxy_sync_proxy_rules_endpoint_changes_total')!;
  assert.equal(endpointChanges0, 6, 'the initial list: slices counted, not Services');
  const serviceChanges0 = valueOf(e0, 'kubeproxy_sync_proxy_rules_service_changes_total')!;
  api.upsert('endpointslices', apiSlice('web', ['10.244.1.10', '10.244.1.11']));
  api.upsert('endpointslices', apiSlice('web', ['10.244.1.12'], { name: 'web-3' }));
  api.upsert('endpointslices', apiSlice('db', ['10.244.1.21'], { triggerTime: new Date().toISOString() }));
  api.upsert('services', apiService('web', '10.96.0.10', { port: 81 }));
  await waitFor('a sync with every change', () => {
    const c = ctx.calls[ctx.calls.length - 1]!;
    const web = c.input.plan.services.find((x) => x.name === 'web');
    return ['web:10.244.1.11', 'web:10.244.1.12', 'db:10.244.1.21'].every((a) => c.endpoints.includes(a)) && web?.ports[0]?.port === 81;
  });
  const e1 = await scrape(ctx);
  assert.equal(valueOf(e1, 'kubeproxy_sync_proxy_rules_endpoint_changes_total'), endpointChanges0 + 3, 'slices counted, not Services');
  assert.equal(valueOf(e1, 'kubeproxy_sync_proxy_rules_service_changes_total'), serviceChanges0 + 1);
  assert.equal(valueOf(e1, 'kubeproxy_sync_proxy_rules_endpoint_changes_pending'), 0);
  assert.equal(valueOf(e1, 'kubeproxy_sync_proxy_rules_service_changes_pending'), 0);
  assert.equal(valueOf(e1, 'kubeproxy_sync_proxy_rules_duration_seconds_count', { ip_family: 'IPv4' }), ctx.calls.length, 'one observation per sync');
  assert.ok(valueOf(e1, 'kubeproxy_sync_partial_proxy_rules_duration_seconds_count', { ip_family: 'IPv4' })! >= 1, 'the changes synced incrementally');
  assert.equal(valueOf(e1, 'kubeproxy_network_programming_duration_seconds_count', { ip_family: 'IPv4' }), 1, 'the one trigger after the start');
  assertBuckets(e1, 'kubeproxy_network_programming_duration_seconds', PROGRAMMING_LE);
  assert.ok(valueOf(e1, 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', { ip_family: 'IPv4' })! >= valueOf(e0, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', { ip_family: 'IPv4' })!);
  assert.ok(valueOf(e1, 'kubeproxy_conntrack_reconciler_sync_duration_seconds_count', { ip_family: 'IPv4' })! >= 1, 'the reconciler ran after the changes');
  assertBuckets(e1, 'kubeproxy_conntrack_reconciler_sync_duration_seconds', SYNC_LE);
  assertBuckets(e1, 'kubeproxy_sync_partial_proxy_rules_duration_seconds', SYNC_LE);

  // Health answers are counted by code, on either port.
  assert.equal((await fetch(`http://127.0.0.1:${ctx.agent.listening.health!.port}/healthz`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${ctx.agent.listening.metrics!.port}/livez`)).status, 200);
  const e2 = await scrape(ctx);
  assert.equal(valueOf(e2, 'kubeproxy_proxy_healthz_total', { code: '200' }), 1);
  assert.equal(valueOf(e2, 'kubeproxy_proxy_livez_total', { code: '200' }), 1);

  // kube-proxy's other answers on the metrics port.
  const base = `http://127.0.0.1:${ctx.agent.listening.metrics!.port}`;
  assert.equal(await (await fetch(`${base}/proxyMode`)).text(), 'nftables');
  const configz = (await (await fetch(`${base}/configz`)).json()) as Record<string, Record<string, any>>;
  const kpc = configz['kubeproxy.config.k8s.io']!;
  assert.equal(kpc.kind, 'KubeProxyConfiguration');
  assert.equal(kpc.mode, 'nftables');
  assert.deepEqual([kpc.nftables.syncPeriod, kpc.nftables.minSyncPeriod], ['1m0s', '50ms']);
  assert.equal(kpc.metricsBindAddress, `127.0.0.1:${ctx.agent.listening.metrics!.port}`);
});
