// The watch layer against a fake API server over real HTTP: our client (kube-client,
// paged raw list, watch stream), the restart logic and the stores, end to end.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { changesOf, FAST_WATCH, perTest } from './per-test.js';
import { apiNode, apiService, apiSlice } from './objects.js';
import { recordingLogger, waitFor } from './helpers.js';
import {
  watchEndpointSlices,
  watchNode,
  watchServices,
  type MalformedObject,
  type WatchedResource,
  type WatchedStore,
} from '../../src/agent/watch/index.js';

const { fakeApi, started } = perTest();

const addresses = (w: WatchedResource<WatchedStore<any>>): string[] =>
  w.store.snapshot().flatMap((s: any) => s.endpoints.map((e: any) => `${s.name}:${e.address}`));

describe('EndpointSlice watch', () => {
  test('the first list fills the store, then synced; the watch asks for bookmarks and a server-side timeout', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1', '10.1.0.2']));
    api.upsert('endpointslices', apiSlice('db', ['10.1.1.1'], { namespace: 'data' }));
    api.upsert('endpointslices', apiSlice('dns', ['10.1.2.1'], { headless: true }));
    const w = watchEndpointSlices({ kubeConfig: api.kubeConfig(), log: recordingLogger(), timing: FAST_WATCH });
    let syncedEvents = 0;
    w.store.on('synced', () => syncedEvents++);
    assert.equal(w.store.synced, false);
    started(w);
    await w.store.waitForSync();
    assert.equal(syncedEvents, 1);
    // Sorted by namespace/name; the headless Service's slice is filtered by the server.
    assert.deepEqual(
      w.store.snapshot().map((s) => [s.namespace, s.name, s.serviceName, s.endpoints.map((e) => e.address)]),
      [
        ['data', 'db-abc', 'db', ['10.1.1.1']],
        ['default', 'web-abc', 'web', ['10.1.0.1', '10.1.0.2']],
      ],
    );
    await waitFor('a watch', () => api.activeWatches('endpointslices') === 1);
    const [list] = api.requestsFor('endpointslices', false);
    const [watch] = api.requestsFor('endpointslices', true);
    assert.equal(list!.query.get('labelSelector'), '!service.kubernetes.io/headless');
    assert.equal(list!.authorization, 'Bearer test-token');
    assert.equal(watch!.query.get('resourceVersion'), '103');
    assert.equal(watch!.query.get('allowWatchBookmarks'), 'true');
    const timeout = Number(watch!.query.get('timeoutSeconds'));
    // Short on purpose: a quiet watch is renewed before the 45 s watchdog would call it dead (list-watch.ts).
    assert.ok(timeout >= 30 && timeout <= 40, `timeoutSeconds ${timeout} within 30-40 s`);
    assert.equal(watch!.query.get('labelSelector'), '!service.kubernetes.io/headless');
  });

  test('ADDED, MODIFIED and DELETED update the store and name the Service that changed', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log: recordingLogger(), timing: FAST_WATCH }));
    await w.store.waitForSync();
    const changes = changesOf(w.store);

    api.upsert('endpointslices', apiSlice('api', ['10.2.0.1'], { namespace: 'prod', name: 'api-x1' }));
    await waitFor('ADDED', () => changes.length === 1);
    assert.deepEqual(changes[0], ['prod/api']);

    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1', '10.1.0.9']));
    await waitFor('MODIFIED', () => changes.length === 2);
    assert.deepEqual(changes[1], ['default/web']);
    assert.deepEqual(addresses(w), ['web-abc:10.1.0.1', 'web-abc:10.1.0.9', 'api-x1:10.2.0.1']);

    // A new version that reads the same (only a label the proxy does not use changed): no change.
    const same = apiSlice('web', ['10.1.0.1', '10.1.0.9']);
    same.metadata.labels['app.kubernetes.io/part-of'] = 'shop';
    api.upsert('endpointslices', same);
    api.remove('endpointslices', 'prod', 'api-x1');
    await waitFor('DELETED', () => changes.length === 3);
    assert.deepEqual(changes[2], ['prod/api'], 'the relabel emitted nothing, the delete named its Service');
    assert.deepEqual(addresses(w), ['web-abc:10.1.0.1', 'web-abc:10.1.0.9']);
  });

  test('a dropped watch connection reconnects from the last resourceVersion, without a relist', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log: recordingLogger(), timing: FAST_WATCH }));
    await w.store.waitForSync();
    await waitFor('a watch', () => api.activeWatches('endpointslices') === 1);
    const lastRv = api.upsert('endpointslices', apiSlice('web', ['10.1.0.2']));
    await waitFor('the update', () => addresses(w).join() === 'web-abc:10.1.0.2');

    assert.equal(api.dropWatches('endpointslices'), 1);
    // Happens while no watch is open: the next watch must replay it.
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.3']));
    await waitFor('the replayed update', () => addresses(w).join() === 'web-abc:10.1.0.3');
    const watches = api.requestsFor('endpointslices', true);
    assert.equal(watches.length, 2);
    assert.equal(watches[1]!.query.get('resourceVersion'), lastRv);
    assert.equal(api.requestsFor('endpointslices', false).length, 1, 'no relist');
  });

  test('a bookmark moves the resume point forward', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log: recordingLogger(), timing: FAST_WATCH }));
    await w.store.waitForSync();
    await waitFor('a watch', () => api.activeWatches('endpointslices') === 1);
    // Other resources move the RV on; this watch sees only a bookmark.
    api.upsert('services', apiService('other', '10.96.0.50'));
    api.bookmark('endpointslices');
    await waitFor('the bookmark', () => w.listWatch.lastResourceVersion === api.resourceVersion);
    api.dropWatches('endpointslices');
    await waitFor('a second watch', () => api.requestsFor('endpointslices', true).length === 2);
    assert.equal(api.requestsFor('endpointslices', true)[1]!.query.get('resourceVersion'), api.resourceVersion);
  });

  test('the server ending a watch at timeoutSeconds starts the next one at once, no relist', async () => {
    const api = await fakeApi();
    api.maxWatchSeconds = 0.2;
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log: recordingLogger(), timing: FAST_WATCH }));
    await w.store.waitForSync();
    await waitFor('three watches', () => api.requestsFor('endpointslices', true).length >= 3);
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.5']));
    await waitFor('the update', () => addresses(w).join() === 'web-abc:10.1.0.5');
    assert.equal(api.requestsFor('endpointslices', false).length, 1);
  });

  test('a quiet watch ended early by the server is renewed at once, and the next change comes in on it', async () => {
    // The fake ends every watch after 1.5 s with nothing sent, long before the 30-40 s
    // asked for (as the e2e child's 5 s did in the memory bench, or a proxy's idle
    // timeout). The backoff is made so long (45 s) that any pause between two watches
    // shows: before the fix each such end was "closed without any event", backed off,
    // and a change waited for the pause to end (~25 s in the bench).
    const api = await fakeApi();
    api.maxWatchSeconds = 1.5;
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    const log = recordingLogger();
    const timing = { ...FAST_WATCH, initialBackoffMs: 60_000, maxBackoffMs: 60_000, silenceMs: 60_000 };
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log, timing, random: () => 0.5 }));
    await w.store.waitForSync();
    await waitFor('a third watch after two quiet ends', () => api.requestsFor('endpointslices', true).length >= 3);
    await waitFor('the third watch open', () => api.activeWatches('endpointslices') === 1);
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.5']));
    await waitFor('the update', () => addresses(w).join() === 'web-abc:10.1.0.5');
    assert.equal(api.requestsFor('endpointslices', false).length, 1, 'no relist');
    assert.deepEqual(log.lines.filter((l) => l.level === 'warn'), [], 'no backoff, no watchdog');
  });

  test('a watch the server closes at once with nothing to say is retried with the backoff', async () => {
    // The other side of shortWatchMs: a server that ends every watch straight away must
    // not be hammered in a loop.
    const api = await fakeApi();
    api.maxWatchSeconds = 0;
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    const log = recordingLogger();
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log, timing: { ...FAST_WATCH, initialBackoffMs: 20, maxBackoffMs: 100 }, random: () => 0.5 }));
    await w.store.waitForSync();
    await waitFor('three closed watches', () => log.lines.filter((l) => l.msg === 'watch closed; retrying').length >= 3);
    const delays = log.lines.filter((l) => l.msg === 'watch closed; retrying').map((l) => (l.obj as { retryInMs: number }).retryInMs);
    assert.deepEqual(delays.slice(0, 3), [15, 30, 60]);
  });

  test('500s on list and watch are retried with growing, jittered, capped delays', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    api.failNext('endpointslices', 'list', 500, 3);
    api.failNext('endpointslices', 'watch', 503, 4);
    const log = recordingLogger();
    const w = started(
      watchEndpointSlices({ kubeConfig: api.kubeConfig(), log, timing: { ...FAST_WATCH, initialBackoffMs: 20, maxBackoffMs: 100 }, random: () => 0.5 }),
    );
    await w.store.waitForSync();
    assert.equal(api.requestsFor('endpointslices', false).length, 4, 'three failed lists, then one good');
    await waitFor('a watch that works', () => api.activeWatches('endpointslices') === 1);
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.7']));
    await waitFor('the update', () => addresses(w).join() === 'web-abc:10.1.0.7');
    const delays = log.lines.filter((l) => l.level === 'warn').map((l) => (l.obj as { retryInMs: number }).retryInMs);
    // random 0.5: 3/4 of 20, 40, 80, then the cap (100); the good list resets the sequence.
    assert.deepEqual(delays, [15, 30, 60, 15, 30, 60, 75]);
    assert.ok(log.lines.some((l) => l.level === 'warn' && String((l.obj as { reason: string }).reason).startsWith('503') && (l.obj as { err: unknown }).err instanceof Error));
  });

  test('410 Gone after an outage relists: objects deleted meanwhile leave, with their Services named', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    api.upsert('endpointslices', apiSlice('old', ['10.1.3.1']));
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log: recordingLogger(), timing: FAST_WATCH }));
    await w.store.waitForSync();
    await waitFor('a watch', () => api.activeWatches('endpointslices') === 1);
    const changes = changesOf(w.store);

    await api.down();
    api.remove('endpointslices', 'default', 'old-abc');
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.2']));
    api.upsert('endpointslices', apiSlice('new', ['10.1.4.1']));
    api.compact('endpointslices');
    // The watch noticed the loss and a retry failed: the store has been through the outage.
    await waitFor('a failed retry (backoff) while the server is away', () => w.listWatch.state === 'backoff');
    assert.deepEqual(addresses(w), ['old-abc:10.1.3.1', 'web-abc:10.1.0.1'], 'the last state stays while the server is away');
    await api.up();

    await waitFor('the relist', () => changes.length > 0);
    assert.deepEqual(changes, [['default/new', 'default/old', 'default/web']], 'one change for the whole relist');
    assert.deepEqual(addresses(w), ['new-abc:10.1.4.1', 'web-abc:10.1.0.2']);
    const lists = api.requestsFor('endpointslices', false);
    assert.equal(lists.length, 2);
    assert.equal(lists[0]!.query.get('resourceVersion'), '0', 'the first list may come from the cache');
    assert.equal(lists[1]!.query.get('resourceVersion'), null, 'after 410, a quorum read');
    // The watch after the relist resumes from the new list's RV and works.
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.3']));
    await waitFor('the update', () => addresses(w).includes('web-abc:10.1.0.3'));
  });

  test('410 as an HTTP status on the watch also relists', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log: recordingLogger(), timing: FAST_WATCH }));
    await w.store.waitForSync();
    await waitFor('a watch', () => api.activeWatches('endpointslices') === 1);
    api.goneOnNextWatch('endpointslices', 'status');
    api.dropWatches('endpointslices');
    await waitFor('a relist', () => api.requestsFor('endpointslices', false).length === 2);
    assert.equal(api.requestsFor('endpointslices', true)[1]!.status, 410);
    await waitFor('a watch again', () => api.activeWatches('endpointslices') === 1);
  });

  test('a silent watch is restarted by the watchdog and catches up', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    const log = recordingLogger();
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log, timing: { ...FAST_WATCH, silenceMs: 300 } }));
    await w.store.waitForSync();
    await waitFor('a watch', () => api.activeWatches('endpointslices') === 1);
    const rv = w.listWatch.lastResourceVersion;
    assert.equal(api.silenceOpenWatches('endpointslices'), 1);
    // How many watches the server had seen when each change reached the store: nothing may
    // arrive on the dead connection, so the change must come over the watchdog's new watch.
    const watchesAtChange: number[] = [];
    w.store.on('change', () => watchesAtChange.push(api.requestsFor('endpointslices', true).length));
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.4']));
    await waitFor('the watchdog restart', () => addresses(w).join() === 'web-abc:10.1.0.4');
    assert.ok(watchesAtChange.length > 0 && watchesAtChange.every((n) => n >= 2), `nothing arrives on the dead connection (watches seen at each change: ${watchesAtChange.join()})`);
    assert.ok(log.lines.some((l) => l.level === 'warn' && l.msg.includes('silent')));
    const watches = api.requestsFor('endpointslices', true);
    assert.equal(watches.length, 2);
    assert.equal(watches[1]!.query.get('resourceVersion'), rv);
  });

  test('a malformed MODIFIED keeps the previous good version, is logged by name and field, and counted', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    api.upsert('endpointslices', apiSlice('db', ['10.1.1.1']));
    const log = recordingLogger();
    const counted: MalformedObject[] = [];
    const w = started(
      watchEndpointSlices({ kubeConfig: api.kubeConfig(), log, timing: FAST_WATCH, onMalformed: (m) => counted.push(m) }),
    );
    await w.store.waitForSync();
    const changes = changesOf(w.store);

    const bad = apiSlice('web', ['10.1.0.2']);
    bad.endpoints[0].addresses = ['not-an-ip'];
    api.upsert('endpointslices', bad);
    // Something valid after it: the watch goes on.
    api.upsert('endpointslices', apiSlice('db', ['10.1.1.2']));
    await waitFor('the db update', () => changes.length === 1);
    assert.deepEqual(changes, [['default/db']], 'the bad version changed nothing');
    assert.deepEqual(addresses(w), ['db-abc:10.1.1.2', 'web-abc:10.1.0.1'], 'web keeps its last good endpoints');
    assert.equal(w.store.malformedCount, 1);
    assert.equal(counted.length, 1);
    assert.deepEqual(counted[0]!.ref, { kind: 'EndpointSlice', namespace: 'default', name: 'web-abc' });
    assert.equal(counted[0]!.issues[0]!.field, 'endpoints[0].addresses[0]');
    assert.equal(counted[0]!.keptPrevious, true);
    const warn = log.lines.find((l) => l.level === 'warn' && l.msg.includes('malformed'));
    assert.match(warn!.msg, /EndpointSlice default\/web-abc: endpoints\[0\]\.addresses\[0\]/);
    assert.deepEqual(w.store.skippedServiceKeys(), [], 'a good version is held: nothing to preserve');

    // A relist that still holds the bad version keeps the good one too.
    api.goneOnNextWatch('endpointslices');
    api.dropWatches('endpointslices');
    await waitFor('the relist', () => api.requestsFor('endpointslices', false).length === 2);
    await waitFor('the relisted bad version counted', () => w.store.malformedCount === 2);
    assert.deepEqual(addresses(w), ['db-abc:10.1.1.2', 'web-abc:10.1.0.1']);
    assert.equal(w.store.malformedCount, 2);

    // Fixed: the new version replaces the kept one.
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.3']));
    await waitFor('the fix', () => addresses(w).includes('web-abc:10.1.0.3'));
    assert.deepEqual(w.store.malformed(), []);
  });

  test('a malformed slice with no good version is skipped and its Service reported for preserving', async () => {
    const api = await fakeApi();
    const bad = apiSlice('web', ['10.1.0.1']);
    bad.ports[0].port = 70000;
    api.upsert('endpointslices', bad);
    api.upsert('endpointslices', apiSlice('db', ['10.1.1.1']));
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log: recordingLogger(), timing: FAST_WATCH }));
    await w.store.waitForSync();
    assert.deepEqual(addresses(w), ['db-abc:10.1.1.1']);
    assert.deepEqual(w.store.skippedServiceKeys(), ['default/web']);
    assert.equal(w.store.malformed()[0]!.issues[0]!.field, 'ports[0].port');
  });

  test('the store keeps serving its snapshot while the API server is down, and catches up after', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log: recordingLogger(), timing: FAST_WATCH }));
    await w.store.waitForSync();
    await waitFor('a watch', () => api.activeWatches('endpointslices') === 1);
    const changes = changesOf(w.store);
    await api.down();
    await waitFor('a few failed reconnects', () => w.listWatch.restarts >= 3);
    assert.deepEqual(addresses(w), ['web-abc:10.1.0.1']);
    assert.deepEqual(changes, []);
    assert.equal(w.store.synced, true);
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.6']));
    await api.up();
    await waitFor('the missed update', () => addresses(w).join() === 'web-abc:10.1.0.6');
    assert.deepEqual(changes, [['default/web']]);
  });

  test('trigger times: one per new annotation value, taken once', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1'], { triggerTime: '2025-01-01T00:00:00Z' }));
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log: recordingLogger(), timing: FAST_WATCH }));
    await w.store.waitForSync();
    assert.deepEqual(w.store.takeTriggerTimes(), [{ service: 'default/web', slice: 'default/web-abc', time: Date.parse('2025-01-01T00:00:00Z'), family: 'IPv4' }]);
    assert.deepEqual(w.store.takeTriggerTimes(), []);
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.2'], { triggerTime: '2025-01-01T00:00:05Z' }));
    await waitFor('the update', () => w.store.triggerTime('default/web-abc') === Date.parse('2025-01-01T00:00:05Z'));
    assert.deepEqual(w.store.takeTriggerTimes().map((t) => t.time), [Date.parse('2025-01-01T00:00:05Z')]);
  });
});

describe('Service watch', () => {
  test('coexist: the server selects ours by label; the store holds PlanServices', async () => {
    const api = await fakeApi();
    api.upsert('services', apiService('web', '10.96.0.10'));
    api.upsert('services', apiService('legacy', '10.96.0.11', { proxy: null }));
    const w = started(watchServices({ kubeConfig: api.kubeConfig(), mode: 'coexist', log: recordingLogger(), timing: FAST_WATCH }));
    await w.store.waitForSync();
    assert.equal(api.requestsFor('services', false)[0]!.query.get('labelSelector'), 'service.kubernetes.io/service-proxy-name=svcplane');
    const [web] = w.store.snapshot();
    assert.equal(w.store.snapshot().length, 1);
    assert.deepEqual([web!.namespace, web!.name, web!.clusterIPs, web!.proxyName, web!.ports[0]!.targetPort], ['default', 'web', ['10.96.0.10'], 'svcplane', 8080]);
  });

  test('replace: every Service but another proxy\'s; relabelled to another proxy, it leaves', async () => {
    const api = await fakeApi();
    api.upsert('services', apiService('web', '10.96.0.10'));
    api.upsert('services', apiService('legacy', '10.96.0.11', { proxy: null }));
    api.upsert('services', apiService('mesh', '10.96.0.12', { proxy: 'other-proxy' }));
    const w = started(watchServices({ kubeConfig: api.kubeConfig(), mode: 'replace', log: recordingLogger(), timing: FAST_WATCH }));
    await w.store.waitForSync();
    assert.equal(api.requestsFor('services', false)[0]!.query.get('labelSelector'), null);
    assert.deepEqual(w.store.snapshot().map((s) => s.name), ['legacy', 'web']);
    const changes = changesOf(w.store);
    api.upsert('services', apiService('legacy', '10.96.0.11', { proxy: 'other-proxy' }));
    await waitFor('the relabel', () => changes.length === 1);
    assert.deepEqual(changes[0], ['default/legacy']);
    assert.deepEqual(w.store.snapshot().map((s) => s.name), ['web']);
  });

  test('a malformed Service update keeps the previous good version', async () => {
    const api = await fakeApi();
    api.upsert('services', apiService('web', '10.96.0.10'));
    const counted: MalformedObject[] = [];
    const w = started(
      watchServices({ kubeConfig: api.kubeConfig(), mode: 'coexist', log: recordingLogger(), timing: FAST_WATCH, onMalformed: (m) => counted.push(m) }),
    );
    await w.store.waitForSync();
    const bad = apiService('web', '10.96.0.10');
    bad.spec.ports[0].port = 0;
    api.upsert('services', bad);
    await waitFor('counted', () => counted.length === 1);
    assert.deepEqual(counted[0]!.ref, { kind: 'Service', namespace: 'default', name: 'web' });
    assert.equal(counted[0]!.issues[0]!.field, 'spec.ports[0].port');
    assert.deepEqual(w.store.snapshot().map((s) => s.ports[0]!.port), [80]);
  });
});

describe('Node watch', () => {
  test('watches its own Node by field selector; a change names no Service', async () => {
    const api = await fakeApi();
    api.upsert('nodes', apiNode('node-a', '192.168.1.10', 'zone-1'));
    api.upsert('nodes', apiNode('node-b', '192.168.1.11', 'zone-2'));
    const w = started(watchNode({ kubeConfig: api.kubeConfig(), nodeName: 'node-a', log: recordingLogger(), timing: FAST_WATCH }));
    await w.store.waitForSync();
    assert.equal(api.requestsFor('nodes', false)[0]!.query.get('fieldSelector'), 'metadata.name=node-a');
    assert.deepEqual(w.store.node(), { name: 'node-a', addresses: ['192.168.1.10'], podCIDRs: ['10.244.1.0/24'], zone: 'zone-1' });
    const changes = changesOf(w.store);
    api.upsert('nodes', apiNode('node-a', '192.168.1.10', 'zone-9'));
    api.upsert('nodes', apiNode('node-b', '192.168.1.11', 'zone-9'));
    await waitFor('the zone change', () => w.store.node()?.zone === 'zone-9');
    // A later change of node-a comes after node-b's: once it is in, node-b's would be too.
    api.upsert('nodes', apiNode('node-a', '192.168.1.10', 'zone-10'));
    await waitFor('the later zone change', () => w.store.node()?.zone === 'zone-10');
    assert.deepEqual(changes, [[], []], 'one change per node-a update, none for node-b, with no Service key');
  });
});

describe('410 loops', () => {
  test('a server that answers 410 to every watch from a fresh list is relisted with backoff, not in a hot loop', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1']));
    api.goneOnNextWatch('endpointslices', 'event', 4);
    const log = recordingLogger();
    const w = started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log, timing: FAST_WATCH, random: () => 0.5 }));
    await waitFor('a watch that holds', () => api.activeWatches('endpointslices') === 1, 3000);
    assert.equal(api.requestsFor('endpointslices', false).length, 5);
    const delays = log.lines.filter((l) => l.level === 'warn').map((l) => (l.obj as { retryInMs: number }).retryInMs);
    // Lists that only lead to another 410 do not reset the backoff: the pauses grow.
    assert.deepEqual(delays, [15, 30, 60, 120]);
    assert.deepEqual(addresses(w), ['web-abc:10.1.0.1']);
  });
});
