// The agent's peak memory (VmHWM) at a few scales, to size the NodeAgent's
// requests and limits: `npm run build && BENCH_AGENT_COMPILED=1 node --import tsx
// bench/agent-memory.ts [services...]` (default 100 1000 5000). Each scale runs the
// offline agent (benchAgent: 10 endpoints per Service, one file per slice) through its
// first full sync and a few endpoint changes in a throw-away namespace, and prints
// one JSON line per scale.

import { benchAgent } from './agent-scale.js';

const scales = process.argv.slice(2).map(Number);
for (const services of scales.length ? scales : [100, 1000, 5000]) {
  const r = await benchAgent(services, 4, `svp-${process.pid}-mem${services}`, (m) => process.stderr.write(`${m}\n`));
  const mib = (k: number) => Math.round(k / 1024);
  process.stdout.write(`${JSON.stringify({ services, compiled: !!process.env.BENCH_AGENT_COMPILED, vmHWMMiB: mib(r.vmHWMKiB), vmRSSMiB: mib(r.vmRSSKiB), firstSyncMs: r.firstSyncOwn })}\n`);
}
