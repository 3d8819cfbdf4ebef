// `node bench/memory-trace-report.mjs TRACE LOG [EVERY_MS]`: the memory trace of
// memory-trace.mjs beside the agent's log (BENCH_AGENT_LOG), one line per EVERY_MS
// (1000) window with that window's highest RSS sample, its heap used, rss - heapTotal
// (what is not V8's heap: node, modules' code, buffers, malloc), external, and the log
// lines that fell in the window; then the sample at the peak RSS.
import { readFileSync } from 'node:fs';

const [traceFile, logFile, every = '1000'] = process.argv.slice(2);
const read = (f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const trace = read(traceFile);
const log = logFile ? read(logFile) : [];
const t0 = trace[0].t;
const step = Number(every);
const fmt = (s) => `rss ${s.rss.toFixed(1).padStart(6)}  heapUsed ${s.heapUsed.toFixed(1).padStart(6)}  heapTotal ${s.heapTotal.toFixed(1).padStart(6)}  rss-heapTotal ${(s.rss - s.heapTotal).toFixed(1).padStart(6)}  external ${s.external.toFixed(1).padStart(5)}  hwm ${s.hwm.toFixed(1)}`;
const windows = new Map();
for (const s of trace) {
  const w = Math.floor((s.t - t0) / step);
  const cur = windows.get(w);
  if (!cur || s.rss > cur.rss) windows.set(w, s);
}
const events = new Map();
for (const l of log) {
  const w = Math.floor((l.time - t0) / step);
  if (!events.has(w)) events.set(w, []);
  events.get(w).push(`${l.msg}${l.ms !== undefined ? ` (${l.full ? 'full' : 'incr'} ${l.ms} ms)` : ''}`);
}
let last = '';
for (const [w, s] of [...windows].sort((a, b) => a[0] - b[0])) {
  const ev = [...new Set(events.get(w) ?? [])].join('; ');
  const line = fmt(s);
  if (line === last && !ev) continue;
  last = line;
  console.log(`${((w * step) / 1000).toFixed(1).padStart(6)} s  ${line}${ev ? `  <- ${ev}` : ''}`);
}
const peak = trace.reduce((a, b) => (b.rss > a.rss ? b : a));
console.log(`peak sample at ${((peak.t - t0) / 1000).toFixed(1)} s: ${fmt(peak)}`);
