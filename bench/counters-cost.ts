// `node --import tsx bench/counters-cost.ts [OTHERS] [BATCHES]`: what the nftables
// traffic counters cost the data plane (benchCountersCost in dataplane.ts), printed as
// medians and the with/without ratios. Not part of `npm run bench` yet.

import { benchCountersCost } from './dataplane.js';
import { median, quantile } from './stats.js';

const others = Number(process.argv[2] ?? 1000);
const batches = Number(process.argv[3] ?? 6);
const log = (m: string) => process.stderr.write(`[counters-cost] ${m}\n`);
const r = await benchCountersCost(others, { connections: 300, batches, warmup: 20, loadLimitMs: 300_000, bulkMB: 200, bulkRounds: 3 }, `svp-${process.pid}`, log);
const lat = (x: number[]) => ({ p50: median(x), p99: quantile(x, 0.99) });
const out = {
  others,
  batches,
  connections: r.withCounters.length,
  latencyUsWith: lat(r.withCounters),
  latencyUsWithout: lat(r.withoutCounters),
  latencyRatioP50: median(r.withCounters) / median(r.withoutCounters),
  throughputMBsWith: median(r.throughputWith),
  throughputMBsWithout: median(r.throughputWithout),
  throughputRatio: median(r.throughputWith) / median(r.throughputWithout),
};
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
