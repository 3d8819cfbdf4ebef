// The iptables traffic set (traffic-set.ts): one element per endpoint of every Service port,
// labels of Service ports sharing an endpoint merged into its comment, and the syncer's
// partial path (labels updated per changed Service, only the touched entries diffed) giving
// the same set as a full render.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IptablesSyncer } from '../../../src/backends/iptables/syncer.js';
import { addLabels, diffTouched, elementsOf, entriesOf, keptTraffic, removeLabels, renderTrafficSet, sweepLabels, trafficSetOf, type TrafficLabels } from '../../../src/backends/iptables/traffic-set.js';
import { diffIpsets, parseIpsetSave } from '../../../src/backends/ipset.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

/** web and web-canary share the endpoint 10.244.1.10:8080; db has its own, and an IPv6 one. */
function world(o: { canary?: boolean; webEndpoints?: string[] } = {}): RenderInput {
  const services = [
    svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80, 8080)] }),
    ...(o.canary === false ? [] : [svc({ name: 'web-canary', clusterIPs: ['10.96.0.12'], ports: [port(80, 8080)] })]),
    svc({ name: 'db', clusterIPs: ['10.96.0.11', 'fd00::11'], ipFamilies: ['IPv4', 'IPv6'], ports: [port(5432)] }),
  ];
  return input(services, [
    slice('web', (o.webEndpoints ?? ['10.244.1.10', '10.244.2.10']).map((x) => ep(x, 'node1')), [{ port: 8080 }]),
    ...(o.canary === false ? [] : [slice('web-canary', [ep('10.244.1.10', 'node1')], [{ port: 8080 }])]),
    slice('db', [ep('10.244.1.30', 'node2')], [{ port: 5432 }]),
    slice('db', [ep('fd00:244::30', 'node2')], [{ port: 5432 }], { addressType: 'IPv6' }),
  ]);
}

const elements = (i: RenderInput, family: 'IPv4' | 'IPv6' = 'IPv4') => {
  const s = renderTrafficSet(i, family);
  return s.entries.map((e) => `${e} ${s.comments!.get(e)}`);
};

describe('iptables traffic set', () => {
  it('one element per endpoint; a shared endpoint carries both Service ports in its comment; IPv6 in its own set', () => {
    assert.deepEqual(elements(world()), [
      '10.244.1.10,tcp:8080 default/web-canary:80/TCP default/web:80/TCP',
      '10.244.1.30,tcp:5432 default/db:5432/TCP',
      '10.244.2.10,tcp:8080 default/web:80/TCP',
    ]);
    assert.deepEqual(elements(world(), 'IPv6'), ['fd00:244::30,tcp:5432 default/db:5432/TCP']);
    assert.equal(renderTrafficSet(world(), 'IPv6').name, 'SVP6-ENDPOINT-TRAFFIC');
  });

  it('the partial path: a Service gone re-comments the shared element, an endpoint gone deletes its element, nothing else is touched', () => {
    const s = new IptablesSyncer();
    s.render(world());
    const state = s as unknown as { labels: Record<string, TrafficLabels>; touched: Record<string, Set<string>> | undefined };
    assert.equal(state.touched, undefined, 'a full render touches everything');
    const live = parseIpsetSave(diffIpsets([renderTrafficSet(world(), 'IPv4')], new Map()).adds.map((l) => l.replace(/ -exist$/, '')).join('\n'));
    const set = live.get('SVP-ENDPOINT-TRAFFIC')!;

    s.render(world({ canary: false, webEndpoints: ['10.244.1.10'] }), new Set(['default/web-canary', 'default/web']));
    assert.deepEqual([...state.touched!.IPv4].sort(), ['10.244.1.10,tcp:8080', '10.244.2.10,tcp:8080']);
    assert.deepEqual(diffTouched(set.name, state.labels.IPv4!, state.touched!.IPv4!, set), {
      adds: ['add SVP-ENDPOINT-TRAFFIC 10.244.1.10,tcp:8080 comment "default/web:80/TCP" -exist'],
      dels: ['del SVP-ENDPOINT-TRAFFIC 10.244.2.10,tcp:8080 -exist'],
    });
    // What the partial path keeps is what a full render gives.
    const after = world({ canary: false, webEndpoints: ['10.244.1.10'] });
    for (const f of ['IPv4', 'IPv6'] as const) assert.deepEqual(trafficSetOf(f, state.labels[f]!), renderTrafficSet(after, f));
  });

  it('a fragment keeps its ports compactly and gives back the same elements, in order', () => {
    const one = { label: 'default/a:80/TCP', entries: ['10.244.1.1,tcp:80'] };
    const two = { label: 'default/a:81/TCP', entries: ['10.244.1.1,tcp:81', '10.244.1.2,tcp:81'] };
    const none = { label: 'default/a:82/TCP', entries: [] };
    const flat = (ports: typeof one[]) => ports.flatMap((p) => p.entries.map((entry) => ({ entry, label: p.label })));
    assert.equal(keptTraffic([none]), undefined, 'no entries: no traffic');
    for (const ports of [[one], [two], [one, none, two], [two, one]]) {
      const kept = keptTraffic(ports)!;
      const withEntries = ports.filter((p) => p.entries.length > 0);
      assert.deepEqual([...elementsOf(kept)], flat(withEntries));
      assert.deepEqual([...entriesOf(kept)], flat(withEntries).map((e) => e.entry));
    }
    // A lone port with a lone entry is kept without arrays around it.
    assert.deepEqual(keptTraffic([none, one]), { label: one.label, entries: one.entries[0] });
  });

  it('labels taken off with their keys kept and put back: the entries keep their places, and only those left without labels are swept', () => {
    const web = [
      { entry: '10.244.1.10,tcp:8080', label: 'default/web:80/TCP' },
      { entry: '10.244.2.10,tcp:8080', label: 'default/web:80/TCP' },
    ];
    const make = (): TrafficLabels => {
      const l: TrafficLabels = new Map();
      addLabels(l, [...web, { entry: '10.244.1.30,tcp:5432', label: 'default/db:5432/TCP' }]);
      return l;
    };
    // web re-rendered with 10.244.2.10 gone: 10.244.1.10 goes back on where it was (a Map
    // deletion would have moved it to the end, and left a hole in the Map's table).
    const kept = make();
    const touched = new Set<string>();
    removeLabels(kept, web, touched, true);
    addLabels(kept, [web[0]!], touched);
    assert.equal(kept.get('10.244.2.10,tcp:8080'), '', 'no labels until swept');
    sweepLabels(kept, touched);
    assert.deepEqual([...kept], [
      ['10.244.1.10,tcp:8080', 'default/web:80/TCP'],
      ['10.244.1.30,tcp:5432', 'default/db:5432/TCP'],
    ]);
    // Without keepKeys the same changes give the same labels, in another order.
    const moved = make();
    removeLabels(moved, web);
    addLabels(moved, [web[0]!]);
    assert.deepEqual(new Map(moved), new Map(kept));
    assert.deepEqual([...moved.keys()], ['10.244.1.30,tcp:5432', '10.244.1.10,tcp:8080']);
  });
});
