// WatchedStore (src/agent/watch/store.ts) on its own, with an adapter whose objects name
// no, one or several Services: the keys each change names, malformed versions, deletes,
// and lists taken page by page (commit, discard).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inputError } from '../../src/model/errors.js';
import { EndpointSliceStore, WatchedStore, type ResourceAdapter } from '../../src/agent/watch/index.js';
import { recordingLogger } from './helpers.js';
import { apiSlice } from './objects.js';

interface Thing {
  readonly name: string;
  readonly v: number;
}

type Raw = { metadata: { name: string; namespace?: string }; v: number; services: string[]; bad?: boolean };

const adapter: ResourceAdapter<Thing> = {
  kind: 'Thing',
  parse(raw) {
    const r = raw as Raw;
    if (r.bad) throw inputError({ kind: 'Thing', namespace: r.metadata.namespace, name: r.metadata.name }, 'v', 'is bad');
    return { name: r.metadata.name, v: r.v };
  },
  serviceKeys: (raw) => (raw as Raw).services,
};

const thing = (name: string, v: number, services: string[], bad = false): Raw => ({ metadata: { name, namespace: 'ns' }, v, services, ...(bad ? { bad } : {}) });

function store(): { s: WatchedStore<Thing>; changes: Array<[string[], number]> } {
  const s = new WatchedStore(adapter, { log: recordingLogger() });
  const changes: Array<[string[], number]> = [];
  s.on('change', (keys, objects) => changes.push([[...keys].sort(), objects]));
  return { s, changes };
}

const values = (s: WatchedStore<Thing>) => s.snapshot().map((t) => `${t.name}=${t.v}`);

describe('WatchedStore', () => {
  test('objects naming no, one or several Services: each change names the keys of the old and the new version', () => {
    const { s, changes } = store();
    s.replace([thing('a', 1, ['ns/a']), thing('b', 1, ['ns/s1', 'ns/s2']), thing('c', 1, [])], '1');
    assert.deepEqual(changes, [[['ns/a', 'ns/s1', 'ns/s2'], 3]]);
    assert.deepEqual(values(s), ['a=1', 'b=1', 'c=1']);

    s.event('MODIFIED', thing('b', 2, ['ns/s3']));
    s.event('MODIFIED', thing('a', 1, ['ns/a']));
    s.event('MODIFIED', thing('c', 2, ['ns/s1', 'ns/s4']));
    s.event('MODIFIED', thing('c', 3, ['ns/s1', 'ns/s4']));
    assert.deepEqual(changes.slice(1), [
      [['ns/s1', 'ns/s2', 'ns/s3'], 1],
      // a read the same: nothing
      [['ns/s1', 'ns/s4'], 1],
      [['ns/s1', 'ns/s4'], 1],
    ]);

    // The same value naming another Service is a change for both.
    s.event('MODIFIED', thing('a', 1, ['ns/other']));
    assert.deepEqual(changes[4], [['ns/a', 'ns/other'], 1]);

    s.event('DELETED', thing('b', 2, []));
    s.event('DELETED', thing('c', 3, []));
    assert.deepEqual(changes.slice(5), [
      [['ns/s3'], 1],
      [['ns/s1', 'ns/s4'], 1],
    ], 'a delete names the keys of the version held, whatever the deleted object says');
    assert.deepEqual(values(s), ['a=1']);
  });

  test('an adapter that reads the Service key from the value (serviceKeyOf) names the same keys in every change', () => {
    // A value that says which Service it is about; its raw object may say another (the store trusts the raw one).
    type Said = Thing & { readonly svc: string };
    const keyed: ResourceAdapter<Said> = {
      kind: 'Thing',
      parse: (raw) => ({ ...(adapter.parse(raw) as Thing), svc: (raw as Raw & { svc: string }).svc }),
      serviceKeys: adapter.serviceKeys,
    };
    const run = (a: ResourceAdapter<Said>) => {
      const s = new WatchedStore(a, { log: recordingLogger() });
      const log: Array<[string[], number]> = [];
      s.on('change', (keys, objects) => log.push([[...keys].sort(), objects]));
      const obj = (name: string, v: number, services: string[], svc: string, bad = false) => ({ ...thing(name, v, services, bad), svc });
      s.replace([obj('a', 1, ['ns/a'], 'ns/a'), obj('b', 1, ['ns/b'], 'ns/other'), obj('c', 1, ['ns/c1', 'ns/c2'], 'ns/c1')], '1');
      s.event('MODIFIED', obj('a', 1, ['ns/a'], 'ns/a')); // read the same: nothing
      s.event('MODIFIED', obj('a', 2, ['ns/a'], 'ns/a'));
      s.event('MODIFIED', obj('a', 2, ['ns/a2'], 'ns/a')); // the raw key moved, the value did not
      s.event('MODIFIED', obj('a', 3, ['ns/a3'], 'ns/a3'));
      s.event('MODIFIED', obj('b', 2, ['ns/b'], 'ns/b'));
      s.event('MODIFIED', obj('b', 2, ['ns/b'], 'ns/b', true)); // malformed: the good version stays
      s.event('DELETED', obj('a', 3, [], 'ns/gone'));
      s.event('DELETED', obj('b', 2, [], 'ns/gone'));
      return { log, values: s.snapshot().map((t) => `${t.name}=${t.v}`) };
    };
    const plain = run(keyed);
    const fromValue = run({ ...keyed, serviceKeyOf: (t) => t.svc });
    assert.deepEqual(fromValue, plain);
    // Keyed by the value's own name string too (nameOf): the same changes again.
    assert.deepEqual(run({ ...keyed, serviceKeyOf: (t) => t.svc, nameOf: (t) => t.name }), plain);
    assert.deepEqual(plain.log, [
      [['ns/a', 'ns/b', 'ns/c1', 'ns/c2'], 3],
      [['ns/a'], 1],
      [['ns/a', 'ns/a2'], 1],
      [['ns/a2', 'ns/a3'], 1],
      [['ns/b'], 1],
      [['ns/a3'], 1],
      [['ns/b'], 1],
    ]);
  });

  test('one name in several namespaces and cluster-scoped: each object apart, a relist removes the ones gone wherever they are', () => {
    const at = (namespace: string | undefined, name: string, v: number): Raw => ({ metadata: { name, ...(namespace ? { namespace } : {}) }, v, services: [] });
    const s = new WatchedStore({ ...adapter, serviceKeys: () => [], nameOf: (t) => t.name }, { log: recordingLogger() });
    const removed: number[] = [];
    s.on('change', (_keys, objects) => removed.push(objects));
    s.replace([at('ns1', 'x', 1), at('ns2', 'x', 2), at(undefined, 'x', 3), at('ns1', 'y', 4)], '1');
    assert.deepEqual([s.get('ns1/x')?.v, s.get('ns2/x')?.v, s.get('x')?.v, s.get('ns1/y')?.v, s.get('ns3/x')], [1, 2, 3, 4, undefined]);
    s.event('MODIFIED', at('ns2', 'x', 5));
    s.event('MODIFIED', { ...at('ns1', 'x', 6), bad: true }); // malformed: the good version stays
    assert.deepEqual([s.get('ns1/x')?.v, s.get('ns2/x')?.v, s.get('x')?.v], [1, 5, 3]);
    s.replace([at('ns1', 'y', 4), at('ns1', 'x', 1)], '2');
    assert.deepEqual([s.get('ns1/x')?.v, s.get('ns2/x'), s.get('x'), s.get('ns1/y')?.v], [1, undefined, undefined, 4]);
    assert.deepEqual(removed, [4, 1, 2], 'the relist removed the two gone, and ns1/x read as held');
    assert.deepEqual(s.malformed(), [], 'the relist read ns1/x good again');
    s.event('DELETED', at('ns1', 'x', 1));
    s.event('DELETED', at('ns1', 'y', 4));
    assert.deepEqual(s.snapshot(), []);
    s.event('ADDED', at('ns1', 'x', 7)); // its namespace emptied and comes back
    assert.deepEqual(s.get('ns1/x')?.v, 7);
  });

  test('malformed versions: a good one stays; with none, its Services are to be preserved until it is fixed or deleted', () => {
    const { s, changes } = store();
    s.replace([thing('a', 1, ['ns/a'])], '1');
    s.event('MODIFIED', thing('a', 2, ['ns/a'], true));
    s.event('ADDED', thing('d', 1, ['ns/d1', 'ns/d2'], true));
    assert.equal(changes.length, 1, 'bad versions change no value');
    assert.deepEqual(values(s), ['a=1']);
    assert.deepEqual(s.skippedServiceKeys(), ['ns/d1', 'ns/d2']);
    assert.deepEqual(s.malformed().map((m) => [m.ref.name, m.keptPrevious]), [['a', true], ['d', false]]);

    s.event('MODIFIED', thing('a', 1, ['ns/a']));
    assert.equal(changes.length, 1, 'fixed back to the value held: no change');
    assert.deepEqual(s.malformed().map((m) => m.ref.name), ['d']);

    s.event('DELETED', thing('d', 1, []));
    assert.deepEqual(changes[1], [['ns/d1', 'ns/d2'], 1], 'the preserved Services are synced again');
    assert.deepEqual(s.skippedServiceKeys(), []);
  });

  test('a list taken page by page changes the store once, at commit; a discarded one changes nothing', () => {
    const { s, changes } = store();
    s.replace([thing('a', 1, ['ns/a']), thing('b', 1, ['ns/b'])], '1');

    const failed = s.startList();
    failed.page([thing('a', 2, ['ns/a'])]);
    failed.discard();
    assert.deepEqual(values(s), ['a=1', 'b=1']);
    assert.equal(changes.length, 1);
    assert.throws(() => failed.page([thing('b', 2, ['ns/b'])]), /already committed or discarded/);

    const list = s.startList();
    list.page([thing('a', 1, ['ns/a'])]);
    list.page([thing('c', 1, ['ns/c'])]);
    assert.deepEqual(values(s), ['a=1', 'b=1'], 'nothing applied before the commit');
    list.commit('2');
    assert.deepEqual(values(s), ['a=1', 'c=1']);
    assert.deepEqual(changes[1], [['ns/b', 'ns/c'], 2], 'one change: b gone, c added, a the same');
    assert.throws(() => list.commit('2'), /already committed or discarded/);
  });
  test('a snapshot handed out never changes: the changes after it show in the next one', () => {
    const { s } = store();
    s.replace([thing('a', 1, ['ns/a']), thing('b', 1, ['ns/b']), thing('c', 1, ['ns/c'])], '1');
    const first = s.snapshot();
    const held = first.slice();
    s.event('MODIFIED', thing('a', 2, ['ns/a']));
    s.event('MODIFIED', thing('b', 2, ['ns/b']));
    assert.deepEqual(first, held, 'the array a caller holds is not written to');
    const second = s.snapshot();
    assert.deepEqual(values(s), ['a=2', 'b=2', 'c=1']);
    s.event('MODIFIED', thing('c', 2, ['ns/c']));
    s.event('MODIFIED', thing('a', 3, ['ns/a']));
    assert.deepEqual(second.map((t) => `${t.name}=${t.v}`), ['a=2', 'b=2', 'c=1'], 'nor is a later one');
    assert.deepEqual(values(s), ['a=3', 'b=2', 'c=2']);
    assert.deepEqual(first, held);
  });
});

describe('EndpointSliceStore trigger times', () => {
  test('a new annotation is a trigger once; the time held goes with its slice version, and comes back as new', () => {
    const s = new EndpointSliceStore({ log: recordingLogger() });
    const t1 = '2026-01-01T00:00:01Z';
    const t2 = '2026-01-01T00:00:02Z';
    const taken = () => s.takeTriggerTimes().map((t) => `${t.slice}@${new Date(t.time).toISOString().slice(17, 19)}`);
    s.replace([apiSlice('web', ['10.1.0.1'], { triggerTime: t1 }), apiSlice('db', ['10.1.1.1'], { namespace: 'data' })], '1');
    assert.deepEqual(taken(), ['default/web-abc@01']);
    assert.deepEqual([s.triggerTime('default/web-abc'), s.triggerTime('data/db-abc')], [Date.parse(t1), undefined]);

    s.event('MODIFIED', apiSlice('web', ['10.1.0.2'], { triggerTime: t1 })); // a new value, the same trigger
    s.event('MODIFIED', { ...apiSlice('web', ['10.1.0.3'], { triggerTime: t2 }), addressType: 'bad' }); // malformed: kept as it was
    assert.deepEqual(taken(), []);
    assert.equal(s.triggerTime('default/web-abc'), Date.parse(t1));

    s.event('MODIFIED', apiSlice('web', ['10.1.0.4'])); // no annotation: no time held
    assert.equal(s.triggerTime('default/web-abc'), undefined);
    s.event('MODIFIED', apiSlice('web', ['10.1.0.5'], { triggerTime: t1 }));
    s.event('MODIFIED', apiSlice('db', ['10.1.1.2'], { namespace: 'data', triggerTime: t2 }));
    assert.deepEqual(taken(), ['default/web-abc@01', 'data/db-abc@02']);

    s.event('DELETED', apiSlice('web', []));
    assert.equal(s.triggerTime('default/web-abc'), undefined);
    s.event('ADDED', apiSlice('web', ['10.1.0.5'], { triggerTime: t1 }));
    assert.deepEqual(taken(), ['default/web-abc@01'], 'a slice deleted and added again with its annotation: a trigger again');
    assert.equal(s.triggerTime('default/web-abc'), Date.parse(t1));
  });
});
