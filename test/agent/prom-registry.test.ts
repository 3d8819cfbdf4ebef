// The agent's own registry (src/agent/prom/) in place of prom-client: the text format
// 0.0.4 as prom-client printed it (a scrape must read the same after the change), and
// the behaviour the agent's metric code relies on.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Gauge, Histogram, Registry, registerProcessMetrics } from '../../src/agent/prom/index.js';
import { escapeLabelValue, formatValue } from '../../src/agent/prom/text.js';

test('the exposition: HELP and TYPE per family, a blank line between families, a newline at the end', async () => {
  const r = new Registry();
  new Counter({ name: 'a_total', help: 'Counts a', registers: [r] }).inc(2);
  new Gauge({ name: 'b', help: 'Gauge b', labelNames: ['x'], registers: [r] }).set({ x: 'y' }, 1.5);
  assert.equal(await r.metrics(), '# HELP a_total Counts a\n# TYPE a_total counter\na_total 2\n\n# HELP b Gauge b\n# TYPE b gauge\nb{x="y"} 1.5\n');
  assert.equal(r.contentType, 'text/plain; version=0.0.4; charset=utf-8');
});

test('a histogram: cumulative buckets with le first, +Inf, then _sum and _count with the series labels', async () => {
  const r = new Registry();
  const h = new Histogram({ name: 'd_seconds', help: 'D', labelNames: ['ip_family'], buckets: [0.1, 1], registers: [r] });
  assert.equal(await r.metrics(), '# HELP d_seconds D\n# TYPE d_seconds histogram\n', 'a labelled histogram prints no series before an observation');
  h.observe({ ip_family: 'IPv4' }, 0.05);
  h.observe({ ip_family: 'IPv4' }, 0.5);
  h.observe({ ip_family: 'IPv4' }, 7);
  assert.equal(
    await r.metrics(),
    [
      '# HELP d_seconds D',
      '# TYPE d_seconds histogram',
      'd_seconds_bucket{le="0.1",ip_family="IPv4"} 1',
      'd_seconds_bucket{le="1",ip_family="IPv4"} 2',
      'd_seconds_bucket{le="+Inf",ip_family="IPv4"} 3',
      'd_seconds_sum{ip_family="IPv4"} 7.55',
      'd_seconds_count{ip_family="IPv4"} 3',
      '',
    ].join('\n'),
  );
});

test('an unlabelled histogram prints its zeros before any observation, without braces on _sum and _count', async () => {
  const r = new Registry();
  new Histogram({ name: 'h', help: 'H', buckets: [1], registers: [r] });
  assert.equal(await r.metrics(), '# HELP h H\n# TYPE h histogram\nh_bucket{le="1"} 0\nh_bucket{le="+Inf"} 0\nh_sum 0\nh_count 0\n');
});

test('escaping: backslash and newline in HELP; backslash, newline and double quote in label values', async () => {
  const r = new Registry();
  const g = new Gauge({ name: 'e', help: 'a \\ b\nc "q"', labelNames: ['v'], registers: [r] });
  g.set({ v: 'x"y\\z\nw' }, 1);
  assert.equal(await r.metrics(), '# HELP e a \\\\ b\\nc "q"\n# TYPE e gauge\ne{v="x\\"y\\\\z\\nw"} 1\n');
  assert.equal(escapeLabelValue(80), '80');
});

test('values: NaN, the infinities and JavaScript numbers as prom-client spelled them', () => {
  assert.deepEqual([NaN, Infinity, -Infinity, 0.1 + 0.2, 1e21, -0.5].map(formatValue), ['Nan', '+Inf', '-Inf', '0.30000000000000004', '1e+21', '-0.5']);
});

test('labels print in the order the series was first given them; the same series whatever the order of later calls', async () => {
  const r = new Registry();
  const c = new Counter({ name: 'c_total', help: 'C', labelNames: ['b', 'a'], registers: [r] });
  c.inc({ a: '1', b: '2' });
  c.inc({ b: '2', a: '1' }, 2);
  c.inc({ b: '3', a: '1' });
  assert.equal(await r.metrics(), '# HELP c_total C\n# TYPE c_total counter\nc_total{a="1",b="2"} 3\nc_total{b="3",a="1"} 1\n');
});

test('an unlabelled counter or gauge prints 0 until set and again after reset; a labelled one prints nothing after reset', async () => {
  const r = new Registry();
  const c = new Counter({ name: 'u_total', help: 'U', registers: [r] });
  const g = new Gauge({ name: 'l', help: 'L', labelNames: ['k'], registers: [r] });
  g.set({ k: 'x' }, 4);
  c.inc(5);
  c.reset();
  g.reset();
  assert.equal(await r.metrics(), '# HELP u_total U\n# TYPE u_total counter\nu_total 0\n\n# HELP l L\n# TYPE l gauge\n');
});

test('mistakes throw: an undeclared label, a counter decreased, a name registered twice, le as a histogram label', () => {
  const r = new Registry();
  const c = new Counter({ name: 'm_total', help: 'M', labelNames: ['code'], registers: [r] });
  assert.throws(() => c.inc({ kode: 200 } as never), /Added label "kode" is not included/);
  assert.throws(() => c.inc({ code: 200 }, -1), /not possible to decrease/);
  assert.throws(() => new Gauge({ name: 'm_total', help: 'again', registers: [r] }), /already been registered/);
  assert.throws(() => new Histogram({ name: 'x', help: 'X', labelNames: ['le'] }), /le is a reserved/);
});

test('collect runs before each scrape with the metric as this, and may be async', async () => {
  const r = new Registry();
  let n = 0;
  new Gauge({
    name: 'scrapes',
    help: 'S',
    registers: [r],
    async collect() {
      await Promise.resolve();
      this.set(++n);
    },
  });
  assert.match(await r.metrics(), /^scrapes 1$/m);
  assert.match(await r.metrics(), /^scrapes 2$/m);
  assert.deepEqual((await r.getMetricsAsJSON()).map((f) => [f.name, f.type, f.values[0]?.value]), [['scrapes', 'gauge', 3]]);
});

test('the process metrics: the families prom-client exported by default, with values read from this process', async () => {
  const r = new Registry();
  registerProcessMetrics(r);
  const families = await r.getMetricsAsJSON();
  const names = families.map((f) => f.name);
  for (const n of ['process_cpu_seconds_total', 'process_start_time_seconds', 'process_resident_memory_bytes', 'process_open_fds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_space_size_used_bytes', 'nodejs_version_info', 'nodejs_gc_duration_seconds']) {
    assert.ok(names.includes(n), `${n} missing`);
  }
  const rss = families.find((f) => f.name === 'process_resident_memory_bytes')!.values[0]!.value;
  assert.ok(rss > 10 * 2 ** 20 && rss < 2 ** 34, `resident memory ${rss}`);
  const version = families.find((f) => f.name === 'nodejs_version_info')!.values[0]!;
  assert.equal(version.labels.version, process.version);
});

test('the exposition in pieces (what /metrics sends): the same text, pieces of bounded size, each family collected after the one before was written', async () => {
  const r = new Registry();
  const order: string[] = [];
  new Counter({ name: 'a_total', help: 'Counts a', registers: [r] }).inc(2);
  new Gauge({
    name: 'big',
    help: 'Many series',
    labelNames: ['n'],
    registers: [r],
    collect() {
      order.push('collect big');
      for (let i = 0; i < 20_000; i++) this.set({ n: String(i) }, i);
    },
  });
  new Gauge({ name: 'empty', help: 'No series', labelNames: ['x'], registers: [r], collect: () => void order.push('collect empty') });
  const pieces: string[] = [];
  for await (const p of r.chunks()) {
    pieces.push(p);
    if (p.includes('big{n="19999"}')) order.push('wrote big');
  }
  assert.equal(pieces.join(''), await r.metrics());
  assert.ok(pieces.length > 5, `${pieces.length} pieces`);
  assert.ok(Math.max(...pieces.map((p) => p.length)) < 70 * 1024, 'no piece much over 64 KiB');
  assert.deepEqual(order.slice(0, 3), ['collect big', 'wrote big', 'collect empty']);
  const none = new Registry();
  const nothing: string[] = [];
  for await (const p of none.chunks()) nothing.push(p);
  assert.equal(nothing.join(''), await none.metrics());
});
