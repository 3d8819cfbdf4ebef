// `--import ./bench/memory-trace.mjs` (e.g. in BENCH_AGENT_NODE_OPTIONS): every
// BENCH_MEMTRACE_MS (100) ms, appends one JSON line to BENCH_MEMTRACE_FILE with the
// process's memory split (MiB): rss, V8 heap used / total, external, arrayBuffers, and
// VmHWM from /proc. Lets a phase-by-phase breakdown of the agent's peak (heap vs not)
// be read beside its log's times. The timer runs on the main thread: a long synchronous
// stretch shows as a gap, and VmHWM still records its peak.
import { appendFileSync, readFileSync } from 'node:fs';

const file = process.env.BENCH_MEMTRACE_FILE;
if (file) {
  const mib = (n) => Math.round((n / 1048576) * 10) / 10;
  const sample = () => {
    const m = process.memoryUsage();
    const hwm = Number(/^VmHWM:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;
    appendFileSync(
      file,
      `${JSON.stringify({ t: Date.now(), rss: mib(m.rss), heapUsed: mib(m.heapUsed), heapTotal: mib(m.heapTotal), external: mib(m.external), arrayBuffers: mib(m.arrayBuffers), hwm: Math.round(hwm * 10) / 10 })}\n`,
    );
  };
  setInterval(sample, Number(process.env.BENCH_MEMTRACE_MS ?? 100)).unref();
}
