// The event loop's delay (node's own histogram, sampled every 10 ms, read and reset at
// each scrape) and GC pauses by kind, as prom-client's default metrics exported them.
// These two keep state between scrapes; the other process metrics are read when scraped.

import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Histogram } from './histogram.js';
import { Gauge } from './metric.js';
import type { Registry } from './registry.js';

/** prom-client's default for nodejs_gc_duration_seconds. */
const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];

const LAG_STATS: readonly [string, string, (h: ReturnType<typeof monitorEventLoopDelay>) => number][] = [
  ['min', 'The minimum recorded event loop delay.', (h) => h.min],
  ['max', 'The maximum recorded event loop delay.', (h) => h.max],
  ['mean', 'The mean of the recorded event loop delays.', (h) => h.mean],
  ['stddev', 'The standard deviation of the recorded event loop delays.', (h) => h.stddev],
  ['p50', 'The 50th percentile of the recorded event loop delays.', (h) => h.percentile(50)],
  ['p90', 'The 90th percentile of the recorded event loop delays.', (h) => h.percentile(90)],
  ['p99', 'The 99th percentile of the recorded event loop delays.', (h) => h.percentile(99)],
];

export function registerEventLoopLag(registry: Registry): void {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const stats: [Gauge, (h: typeof histogram) => number][] = [];
  const lag = new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers: [registry],
    collect() {
      // The lag itself: how long a callback queued now waits (set after this scrape, seen by the next).
      const start = process.hrtime.bigint();
      setImmediate(() => lag.set(Number(process.hrtime.bigint() - start) / 1e9));
      for (const [g, read] of stats) g.set(read(histogram) / 1e9);
      histogram.reset();
    },
  });
  for (const [name, help, read] of LAG_STATS) stats.push([new Gauge({ name: `nodejs_eventloop_lag_${name}_seconds`, help, registers: [registry] }), read]);
}

export function registerGcDurations(registry: Registry): void {
  const kinds: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  const gc = new Histogram({
    name: 'nodejs_gc_duration_seconds',
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'],
    buckets: GC_BUCKETS,
    registers: [registry],
  });
  new PerformanceObserver((list) => {
    const entry = list.getEntries()[0]!;
    const kind = kinds[((entry as { detail?: { kind?: number } }).detail?.kind ?? -1)];
    if (kind) gc.observe({ kind }, entry.duration / 1000);
  }).observe({ entryTypes: ['gc'] });
}
