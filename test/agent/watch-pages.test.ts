// Lists in pages into the store (src/agent/watch/raw-list.ts listPages, store.ts
// startList): each page decoded as it arrives, no raw object kept past it, the store
// changed once per list, and the same store whatever the page size.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { changesOf, FAST_WATCH, perTest } from './per-test.js';
import { apiService, apiSlice } from './objects.js';
import { recordingLogger, waitFor } from './helpers.js';
import {
  EndpointSliceStore,
  ResilientListWatch,
  watchEndpointSlices,
  watchServices,
  type ListIntake,
  type ListWatchSink,
} from '../../src/agent/watch/index.js';

const { defer, fakeApi, started } = perTest();

const addresses = (store: EndpointSliceStore): string[] => store.snapshot().flatMap((s) => s.endpoints.map((e) => `${s.name}:${e.address}`));

/** A full collection, for WeakRefs to be told apart from live objects. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

describe('lists in pages', () => {
  test('each page goes into the store as it arrives, and no raw object outlives its page', async () => {
    const api = await fakeApi();
    for (let i = 0; i < 5; i++) api.upsert('endpointslices', apiSlice(`s${i}`, [`10.1.0.${i + 1}`]));
    const store = new EndpointSliceStore({ log: recordingLogger() });
    // Each page as the store's intake got it: its size, how many list requests the
    // server had answered by then, and a weak reference to each raw object in it.
    const pages: Array<{ items: number; requests: number }> = [];
    const raws: WeakRef<object>[] = [];
    const sink: ListWatchSink = {
      startList(): ListIntake {
        const intake = store.startList();
        return {
          page(items) {
            pages.push({ items: items.length, requests: api.requestsFor('endpointslices', false).length });
            for (const raw of items) raws.push(new WeakRef(raw as object));
            intake.page(items);
          },
          commit: (rv) => intake.commit(rv),
          discard: () => intake.discard(),
        };
      },
      event: (type, obj) => store.event(type, obj),
    };
    const lw = new ResilientListWatch(
      { client: api.kubeConfig(), path: '/apis/discovery.k8s.io/v1/endpointslices', timing: FAST_WATCH, log: recordingLogger(), listPageSize: 2 },
      sink,
    );
    defer(() => lw.stop());
    lw.start();
    await store.waitForSync();
    await waitFor('the watch', () => api.activeWatches('endpointslices') === 1);

    // Page k was handed on before page k + 1 was asked for.
    assert.deepEqual(pages, [
      { items: 2, requests: 1 },
      { items: 2, requests: 2 },
      { items: 1, requests: 3 },
    ]);
    assert.deepEqual(addresses(store), ['s0-abc:10.1.0.1', 's1-abc:10.1.0.2', 's2-abc:10.1.0.3', 's3-abc:10.1.0.4', 's4-abc:10.1.0.5']);
    // WeakRefs hold their targets to the end of the job that made them: collect after it.
    await new Promise((r) => setImmediate(r));
    collectGarbage();
    assert.equal(raws.length, 5);
    assert.deepEqual(
      raws.map((r) => r.deref() !== undefined),
      [false, false, false, false, false],
      'the store and the list + watch loop keep no raw object of the list',
    );
  });

  test('a list that fails part-way changes nothing; its retry applies the whole list as one change', async () => {
    const api = await fakeApi();
    for (const name of ['a', 'b', 'c', 'd']) api.upsert('endpointslices', apiSlice(name, ['10.1.0.1']));
    // random 0: every backoff is half its exponential delay, at least 1 s here, so the
    // state between the failed and the good list can be looked at.
    const w = started(
      watchEndpointSlices({
        kubeConfig: api.kubeConfig(),
        log: recordingLogger(),
        timing: { ...FAST_WATCH, initialBackoffMs: 2000, maxBackoffMs: 4000 },
        random: () => 0,
        listPageSize: 2,
      }),
    );
    await w.store.waitForSync();
    await waitFor('the watch', () => api.activeWatches('endpointslices') === 1);
    const before = addresses(w.store);
    const changes = changesOf(w.store);

    // Changes the watch never delivers, then a cut: the next watch gets 410 and relists,
    // and that list's second page fails.
    api.silenceOpenWatches('endpointslices');
    api.upsert('endpointslices', apiSlice('a', ['10.1.0.2']));
    api.remove('endpointslices', 'default', 'c-abc');
    api.upsert('endpointslices', apiSlice('e', ['10.1.0.5']));
    api.compact('endpointslices');
    api.failNext('endpointslices', 'page', 500);
    api.dropWatches('endpointslices');

    await waitFor('the relist failing at its second page', () => api.requestsFor('endpointslices', false).some((r) => r.status === 500 && r.query.get('continue')));
    assert.deepEqual(changes, [], 'the first page of the failed list changed nothing');
    assert.deepEqual(addresses(w.store), before);

    await waitFor('the relist', () => changes.length > 0);
    assert.deepEqual(changes, [['default/a', 'default/c', 'default/e']], 'one change, for what moved');
    assert.deepEqual(addresses(w.store), ['a-abc:10.1.0.2', 'b-abc:10.1.0.1', 'd-abc:10.1.0.1', 'e-abc:10.1.0.5']);
    const firstPages = api.requestsFor('endpointslices', false).filter((r) => !r.query.get('continue'));
    assert.equal(firstPages.length, 3, 'the first list, the failed relist, the good relist');
  });

  test('pages of 2 give the store one page gives: values, malformed objects, FQDN slices, trigger times, relists', async () => {
    const api = await fakeApi();
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1', '10.1.0.2'], { triggerTime: '2025-01-01T00:00:00Z' }));
    api.upsert('endpointslices', apiSlice('db', ['10.1.1.1'], { namespace: 'data' }));
    const bad = apiSlice('broken', ['10.1.2.1']);
    bad.ports[0].port = 70000;
    api.upsert('endpointslices', bad);
    const fqdn = apiSlice('ext', []);
    fqdn.addressType = 'FQDN';
    fqdn.endpoints = [{ addresses: ['example.com'] }];
    api.upsert('endpointslices', fqdn);
    api.upsert('endpointslices', apiSlice('cache', ['10.1.3.1'], { triggerTime: '2025-01-01T00:00:01Z' }));
    api.upsert('services', apiService('web', '10.96.0.10'));
    api.upsert('services', apiService('db', '10.96.0.11', { namespace: 'data' }));
    const badService = apiService('broken', '10.96.0.12');
    badService.spec.ports[0].port = 0;
    api.upsert('services', badService);

    const watch = (pageSize: number | undefined) => ({
      slices: started(watchEndpointSlices({ kubeConfig: api.kubeConfig(), log: recordingLogger(), timing: FAST_WATCH, ...(pageSize ? { listPageSize: pageSize } : {}) })),
      services: started(watchServices({ kubeConfig: api.kubeConfig(), mode: 'coexist', log: recordingLogger(), timing: FAST_WATCH, ...(pageSize ? { listPageSize: pageSize } : {}) })),
    });
    const paged = watch(2);
    const whole = watch(undefined);
    const all = [paged.slices, paged.services, whole.slices, whole.services];
    await Promise.all(all.map((w) => w.store.waitForSync()));

    const view = (w: ReturnType<typeof watch>) => ({
      slices: w.slices.store.snapshot(),
      services: w.services.store.snapshot(),
      skipped: [...w.slices.store.skippedServiceKeys(), ...w.services.store.skippedServiceKeys()],
      malformed: [...w.slices.store.malformed(), ...w.services.store.malformed()],
      triggers: w.slices.store.takeTriggerTimes(),
    });
    const first = view(paged);
    assert.deepEqual(first, view(whole));
    assert.deepEqual(first.slices.map((s) => s.name), ['db-abc', 'cache-abc', 'web-abc'], 'FQDN and malformed slices are not held');
    assert.deepEqual(first.services.map((s) => s.name), ['db', 'web']);
    assert.deepEqual(first.skipped, ['default/broken', 'default/broken']);
    assert.deepEqual(first.triggers.map((t) => t.slice), ['default/cache-abc', 'default/web-abc']);
    assert.equal(paged.slices.listWatch.lastResourceVersion, whole.slices.listWatch.lastResourceVersion);
    assert.equal(api.requestsFor('endpointslices', false).filter((r) => r.query.get('limit') === '2').length, 3, 'five slices in pages of 2');

    // A relist (410) where one slice moved, one was fixed and the rest read the same:
    // each store names only those, and both hold the same again.
    await waitFor('the watches', () => api.activeWatches('endpointslices') === 2);
    const changes = [changesOf(paged.slices.store), changesOf(whole.slices.store)];
    api.silenceOpenWatches('endpointslices');
    api.upsert('endpointslices', apiSlice('web', ['10.1.0.1', '10.1.0.3'], { triggerTime: '2025-01-01T00:00:02Z' }));
    api.upsert('endpointslices', apiSlice('broken', ['10.1.2.1']));
    api.compact('endpointslices');
    api.dropWatches('endpointslices');
    await waitFor('both relists', () => changes.every((c) => c.length === 1));
    assert.deepEqual(changes, [[['default/broken', 'default/web']], [['default/broken', 'default/web']]]);
    const second = view(paged);
    assert.deepEqual(second, view(whole));
    assert.deepEqual(second.slices.map((s) => s.name), ['db-abc', 'broken-abc', 'cache-abc', 'web-abc']);
    assert.deepEqual(second.skipped, ['default/broken'], 'the fixed slice is held; the Service is still malformed');
    assert.deepEqual(second.triggers.map((t) => [t.slice, t.time]), [['default/web-abc', Date.parse('2025-01-01T00:00:02Z')]], 'only the new trigger');
  });
});
