// A read's sums (src/backends/traffic-tally.ts): per port six slots by kind and reason,
// per endpoint by series; each series once in the samples, whatever order things came in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrafficTally } from '../../src/backends/traffic-tally.js';
import { sampleKey, sumSamples, type TrafficSample } from '../../src/backends/traffic.js';

const web = { namespace: 'shop', service: 'web', port: 80, protocol: 'TCP' } as const;
const dns = { namespace: 'kube-system', service: 'dns', port: 53, protocol: 'UDP' } as const;
const show = (xs: TrafficSample[]) => xs.map((x) => `${x.service} ${x.kind}${x.reason ? ` ${x.reason}` : ''}${x.endpoint ? ` ${x.endpoint}` : ''} ${x.value}`).sort();

describe('TrafficTally', () => {
  it('gives what sumSamples gives for the same samples, each series once', () => {
    const samples: TrafficSample[] = [
      { ...web, kind: 'packets', value: 3 }, { ...web, kind: 'packets', value: 4 }, { ...web, kind: 'bytes', value: 100 },
      { ...web, kind: 'new_connections', value: 0 }, { ...web, kind: 'rejected_packets', reason: 'no_endpoints', value: 2 },
      { ...web, kind: 'dropped_packets', reason: 'no_local_endpoint', value: 1 }, { ...web, kind: 'dropped_packets', reason: 'source_range', value: 5 },
      { ...web, kind: 'endpoint_packets', endpoint: '10.0.0.1:80', value: 1 }, { ...web, kind: 'endpoint_packets', endpoint: '10.0.0.1:80', value: 2 },
      { ...dns, kind: 'packets', value: 9 }, { ...dns, kind: 'endpoint_new_connections', endpoint: '[fd00::1]:53', value: 7 },
    ];
    const t = new TrafficTally();
    for (const s of samples) t.add(s);
    const got = t.samples();
    assert.deepEqual(show(got), show(sumSamples(samples)));
    assert.equal(new Set(got.map(sampleKey)).size, got.length);
    assert.ok(show(got).includes('web new_connections 0'), 'a series counted 0 is a series');
  });

  it('a port named by its comment and by its identity is one port; a text that names none is skipped', () => {
    const t = new TrafficTally();
    t.port('shop/web:80/TCP', () => web)!.add('packets', 1);
    t.add({ ...web, kind: 'packets', value: 2 });
    assert.equal(t.port('not a port', () => undefined), undefined);
    assert.deepEqual(show(t.samples()), ['web packets 3']);
  });

  it('adds another tally, ports and endpoints', () => {
    const a = new TrafficTally();
    const b = new TrafficTally();
    a.add({ ...web, kind: 'bytes', value: 10 });
    b.add({ ...web, kind: 'bytes', value: 5 });
    b.add({ ...dns, kind: 'packets', value: 1 });
    b.add({ ...web, kind: 'endpoint_bytes', endpoint: '10.0.0.1:80', value: 4 });
    a.addTally(b);
    assert.deepEqual(show(a.samples()), ['dns packets 1', 'web bytes 15', 'web endpoint_bytes 10.0.0.1:80 4']);
  });

  it('an endpoint kind is not a port\'s slot', () => {
    assert.throws(() => new TrafficTally().port('shop/web:80/TCP', () => web)!.add('endpoint_packets', 1), /not a Service-level series/);
  });
});
