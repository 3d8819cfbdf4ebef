// The traffic exporter: counters that only move forward across rule recreation,
// series that go with their Service, reads shared by one scrape, failures shown.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from '../../src/agent/prom/index.js';
import type { TrafficSample } from '../../src/backends/traffic.js';
import { MAX_ENDPOINT_SERIES, MonotonicTraffic, boundEndpointSeries, registerTrafficMetrics } from '../../src/agent/traffic-metrics.js';
import type { EndpointFilter } from '../../src/backends/traffic.js';
import type { RenderInput } from '../../src/model/render-input.js';
import { ep, input, port, slice, svc } from '../helpers/model.js';

const web = { namespace: 'shop', service: 'web', port: 80, protocol: 'TCP' } as const;
const api = { namespace: 'shop', service: 'api', port: 443, protocol: 'TCP' } as const;
const s = (id: typeof web | typeof api, kind: TrafficSample['kind'], value: number, reason?: TrafficSample['reason']): TrafficSample => ({ ...id, kind, value, ...(reason ? { reason } : {}) });
const valueOf = (out: TrafficSample[], id: { service: string }, kind: string) => out.find((x) => x.service === id.service && x.kind === kind)?.value;

describe('MonotonicTraffic', () => {
  it('a counter that restarts from 0 (its rule recreated) keeps counting from where it was', () => {
    const m = new MonotonicTraffic();
    assert.equal(valueOf(m.update([s(web, 'packets', 100)]), web, 'packets'), 100);
    assert.equal(valueOf(m.update([s(web, 'packets', 150)]), web, 'packets'), 150);
    assert.equal(valueOf(m.update([s(web, 'packets', 7)]), web, 'packets'), 157);
    assert.equal(valueOf(m.update([s(web, 'packets', 10)]), web, 'packets'), 160);
    assert.equal(valueOf(m.update([s(web, 'packets', 2)]), web, 'packets'), 162);
  });

  it('a removed Service loses its series; a series gone while its Service stays keeps its value', () => {
    const m = new MonotonicTraffic();
    m.update([s(web, 'packets', 5), s(web, 'rejected_packets', 3, 'no_endpoints'), s(api, 'packets', 9)]);
    // web got endpoints: its no-endpoint element is gone; api was deleted.
    const out = m.update([s(web, 'packets', 6), s(web, 'new_connections', 1)]);
    assert.deepEqual(out.map((x) => `${x.service} ${x.kind} ${x.value}`).sort(), ['web new_connections 1', 'web packets 6', 'web rejected_packets 3']);
    // api comes back: a new series from its new counters, no old offset.
    assert.equal(valueOf(m.update([s(web, 'packets', 6), s(api, 'packets', 1)]), api, 'packets'), 1);
  });
});

describe('MonotonicTraffic, per endpoint', () => {
  const e = (endpoint: string, value: number, id: typeof web | typeof api = web): TrafficSample => ({ ...id, kind: 'endpoint_packets', value, endpoint });
  const show = (out: TrafficSample[]) => out.map((x) => `${x.service} ${x.kind} ${x.endpoint ?? ''} ${x.value}`).sort();

  it('each endpoint\'s series restarts on its own; a port forgotten takes its endpoints\' series with it', () => {
    const m = new MonotonicTraffic();
    m.update([s(web, 'packets', 10), e('10.0.0.1:80', 4), e('10.0.0.2:80', 6), s(api, 'packets', 1), e('10.0.0.1:80', 9, api)]);
    // 10.0.0.2's element recreated (from 0); api's port gone from the read.
    assert.deepEqual(show(m.update([s(web, 'packets', 12), e('10.0.0.1:80', 5), e('10.0.0.2:80', 1)])), ['web endpoint_packets 10.0.0.1:80 5', 'web endpoint_packets 10.0.0.2:80 7', 'web packets  12']);
    // api back with the same endpoint: a new series, not 9 + 2.
    assert.deepEqual(show(m.update([s(web, 'packets', 12), s(api, 'packets', 2), e('10.0.0.1:80', 2, api)])).filter((x) => x.startsWith('api')), ['api endpoint_packets 10.0.0.1:80 2', 'api packets  2']);
  });

  it('retainEndpoints forgets the endpoint series it is told to, and a port left with none', () => {
    const m = new MonotonicTraffic();
    m.update([e('10.0.0.1:80', 4), e('10.0.0.2:80', 6)]);
    m.retainEndpoints((x) => x.endpoint !== '10.0.0.2:80');
    assert.deepEqual(show(m.update([e('10.0.0.1:80', 5), e('10.0.0.2:80', 1)])), ['web endpoint_packets 10.0.0.1:80 5', 'web endpoint_packets 10.0.0.2:80 1']);
    m.retainEndpoints(() => false);
    assert.deepEqual(show(m.update([e('10.0.0.1:80', 1)])), ['web endpoint_packets 10.0.0.1:80 1'], 'forgotten: 1, not 5 + 1');
  });
});

describe('registerTrafficMetrics', () => {
  it('exports the seven metrics with their labels, reading once per scrape', async () => {
    const registry = new Registry();
    let reads = 0;
    let t = 0;
    registerTrafficMetrics(registry, {
      read: async () => {
        reads++;
        return [s(web, 'packets', 40), s(web, 'bytes', 4000), s(web, 'new_connections', 8), s(web, 'dropped_packets', 2, 'source_range'), s(api, 'rejected_packets', 5, 'no_endpoints')];
      },
      now: () => t,
    });
    const text = await registry.metrics();
    assert.equal(reads, 1, 'one read serves every metric of a scrape');
    assert.match(text, /# TYPE svcplane_service_packets_total counter/);
    assert.match(text, /svcplane_service_packets_total\{namespace="shop",service="web",port="80",protocol="TCP"\} 40/);
    assert.match(text, /svcplane_service_bytes_total\{namespace="shop",service="web",port="80",protocol="TCP"\} 4000/);
    assert.match(text, /svcplane_service_new_connections_total\{namespace="shop",service="web",port="80",protocol="TCP"\} 8/);
    assert.match(text, /svcplane_service_dropped_packets_total\{namespace="shop",service="web",port="80",protocol="TCP",reason="source_range"\} 2/);
    assert.match(text, /svcplane_service_rejected_packets_total\{namespace="shop",service="api",port="443",protocol="TCP",reason="no_endpoints"\} 5/);
    assert.match(text, /# TYPE svcplane_endpoint_packets_total counter/);
    await registry.metrics();
    assert.equal(reads, 1, 'a scrape within the interval reuses the read');
    t = 10_000;
    await registry.metrics();
    assert.equal(reads, 2);
  });

  it('a read slower than the interval serves the whole scrape, its metrics collected one after the other; the interval counts from its end', async () => {
    const registry = new Registry();
    let reads = 0;
    let t = 0;
    registerTrafficMetrics(registry, {
      read: async () => {
        reads++;
        t += 12_000; // a read at 44k Services takes seconds
        return [s(web, 'packets', 40)];
      },
      now: () => t,
    });
    let text = '';
    for await (const piece of registry.chunks()) text += piece;
    assert.match(text, /svcplane_service_packets_total\{[^}]*service="web"[^}]*\} 40/);
    assert.equal(reads, 1, 'one read for every metric of the scrape');
    t += 4_000;
    await registry.metrics();
    assert.equal(reads, 1, 'within the interval from the read\'s end');
    t += 1_000;
    await registry.metrics();
    assert.equal(reads, 2);
  });

  it('a failed read is reported and the scrape shows the last values', async () => {
    const registry = new Registry();
    let fail = false;
    let t = 0;
    const errors: unknown[] = [];
    registerTrafficMetrics(registry, {
      read: async () => {
        if (fail) throw new Error('nft: Operation not permitted');
        return [s(web, 'packets', 40)];
      },
      now: () => t,
      onError: (e) => errors.push(e),
    });
    await registry.metrics();
    fail = true;
    t = 10_000;
    const text = await registry.metrics();
    assert.equal(errors.length, 1);
    assert.match(text, /svcplane_service_packets_total\{[^}]*service="web"[^}]*\} 40/);
  });
});

describe('per-endpoint series bound', () => {
  const e = (endpoint: string, kind: TrafficSample['kind'] = 'endpoint_packets'): TrafficSample => ({ ...web, kind, value: 1, endpoint });

  it('keeps every Service-level sample and the first N (Service port, endpoint) pairs in label order, all kinds of a kept pair', () => {
    const samples = [s(web, 'packets', 9), e('10.0.0.3:80'), e('10.0.0.1:80'), e('10.0.0.2:80'), e('10.0.0.1:80', 'endpoint_bytes'), e('10.0.0.3:80', 'endpoint_new_connections')];
    const { samples: kept, omitted } = boundEndpointSeries(samples, 2);
    assert.equal(omitted, 1);
    assert.deepEqual(kept.map((x) => `${x.kind} ${x.endpoint ?? ''}`).sort(), ['endpoint_bytes 10.0.0.1:80', 'endpoint_packets 10.0.0.1:80', 'endpoint_packets 10.0.0.2:80', 'packets ']);
    assert.equal(boundEndpointSeries(samples, 3).omitted, 0);
    assert.equal(boundEndpointSeries(samples, 3).samples.length, samples.length);
  });

  it('the exporter says how many pairs it left out, and exports the per-endpoint new connections', async () => {
    const registry = new Registry();
    const many = Array.from({ length: MAX_ENDPOINT_SERIES + 5 }, (_, i) => e(`10.1.${Math.floor(i / 250)}.${i % 250}:80`, 'endpoint_new_connections'));
    registerTrafficMetrics(registry, { read: async () => many });
    const text = await registry.metrics();
    assert.match(text, /^svcplane_endpoint_series_omitted 5$/m);
    assert.equal(text.split('\n').filter((l) => l.startsWith('svcplane_endpoint_new_connections_total{')).length, MAX_ENDPOINT_SERIES);
  });

  it('never exports more pairs than the bound as endpoints come and go, pushed out by pairs that sort before them', async () => {
    const registry = new Registry();
    let t = 0;
    let first = 5000;
    // Each read: MAX_ENDPOINT_SERIES pairs, every one new and sorting before the last read's.
    const read = async () => Array.from({ length: MAX_ENDPOINT_SERIES }, (_, i) => e(`10.${first + i}:80`, 'endpoint_new_connections'));
    registerTrafficMetrics(registry, { read, now: () => t, minReadIntervalMs: 1 });
    for (let round = 0; round < 3; round++) {
      const text = await registry.metrics();
      assert.equal(text.split('\n').filter((l) => l.startsWith('svcplane_endpoint_new_connections_total{')).length, MAX_ENDPOINT_SERIES, `round ${round}`);
      first -= MAX_ENDPOINT_SERIES;
      t += 10;
    }
  });

  describe('with the input the node enforces', () => {
    /** Service shop/web port 80 with endpoints 10.0.<i>.<j>:80 for each of `n` (i, j), the pairs in label order as their text sorts. */
    const webWith = (n: number): RenderInput =>
      input([svc({ name: 'web', namespace: 'shop', clusterIPs: ['10.96.0.10'], ports: [port(80)] })], [slice('web', Array.from({ length: n }, (_, i) => ep(`10.0.${Math.floor(i / 200)}.${i % 200}`)), [{ port: 80 }], { namespace: 'shop' })]);
    const endpointsOf = (text: string) => text.split('\n').filter((l) => l.startsWith('svcplane_endpoint_packets_total{')).map((l) => /endpoint="([^"]+)"/.exec(l)![1]!);

    it('the reader is told the pairs, the omitted count comes from the input, and only its pairs are exported', async () => {
      const registry = new Registry();
      const node = webWith(MAX_ENDPOINT_SERIES + 7);
      const told: (EndpointFilter | undefined)[] = [];
      registerTrafficMetrics(registry, {
        input: () => node,
        read: async (filter) => {
          told.push(filter);
          // A reader that ignores the filter, and a pair the input does not have (a stale rule).
          return [s(web, 'packets', 3), e('10.0.0.0:80'), e('10.0.0.1:80'), e('10.9.9.9:80'), e('10.0.9.9:80')];
        },
      });
      const text = await registry.metrics();
      assert.equal(told.length, 1);
      assert.ok(told[0]!.has('shop', 'web', '10.0.0.0:80'));
      assert.ok(!told[0]!.has('shop', 'web', '10.9.9.9:80'), 'not in the input');
      // Label order is text order (10.0.10.x before 10.0.2.x, 10.0.9.9:80 last of all), the last 7 beyond the bound.
      assert.ok(!told[0]!.has('shop', 'web', '10.0.9.9:80'), 'beyond the bound');
      assert.match(text, /^svcplane_endpoint_series_omitted 7$/m);
      assert.deepEqual(endpointsOf(text).sort(), ['10.0.0.0:80', '10.0.0.1:80']);
      assert.match(text, /svcplane_service_packets_total\{namespace="shop",service="web",port="80",protocol="TCP"\} 3/);
    });

    it('a pair the input no longer exports leaves the series and the exporter\'s state; the pairs are redone per input', async () => {
      const registry = new Registry();
      let t = 0;
      let node = webWith(3);
      let reads = 0;
      registerTrafficMetrics(registry, {
        input: () => node,
        read: async (filter) => {
          reads++;
          // What the kernel counts lags the input by a read: the filter is what keeps the pair out.
          // 10.0.0.2's counter: 5 at the first read; recreated (from 0) when it comes back, 2 at the third.
          return [s(web, 'packets', 3), ...['10.0.0.0:80', '10.0.0.1:80', '10.0.0.2:80'].filter((x) => filter!.has('shop', 'web', x)).map((x) => ({ ...e(x), value: x === '10.0.0.2:80' ? (reads === 1 ? 5 : 2) : 1 }))];
        },
        now: () => t,
      });
      assert.deepEqual(endpointsOf(await registry.metrics()).sort(), ['10.0.0.0:80', '10.0.0.1:80', '10.0.0.2:80']);
      node = webWith(2); // 10.0.0.2 gone
      t = 10_000;
      assert.deepEqual(endpointsOf(await registry.metrics()).sort(), ['10.0.0.0:80', '10.0.0.1:80']);
      node = webWith(3); // back: a new series from its counter, not the old one's last value kept by the state
      t = 20_000;
      const third = await registry.metrics();
      assert.deepEqual(endpointsOf(third).sort(), ['10.0.0.0:80', '10.0.0.1:80', '10.0.0.2:80']);
      assert.match(third, /endpoint="10\.0\.0\.2:80"\} 2$/m, 'its own count, not 5 + 2 from a state that kept the old series');
      assert.equal(reads, 3);
    });
  });

  it('without per-endpoint series (--traffic-metrics services): the reader is told no endpoint, and no endpoint metric nor omitted count is exported', async () => {
    const registry = new Registry();
    const told: (EndpointFilter | undefined)[] = [];
    registerTrafficMetrics(registry, {
      endpoints: false,
      read: async (filter) => {
        told.push(filter);
        return [s(web, 'packets', 3), e('10.0.0.0:80')];
      },
    });
    const text = await registry.metrics();
    assert.equal(told.length, 1);
    assert.equal(told[0]!.has('shop', 'web', '10.0.0.0:80'), false);
    assert.match(text, /svcplane_service_packets_total\{namespace="shop",service="web",port="80",protocol="TCP"\} 3/);
    assert.doesNotMatch(text, /svcplane_endpoint_/);
    assert.match(text, /# TYPE svcplane_service_rejected_packets_total counter/);
  });
});

