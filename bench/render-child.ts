// Child process of render-memory.ts: renders one backend on one synthetic input and
// prints what it measured as one JSON line. A process of its own so that its peak
// memory is the render's alone: after building the input (and a GC), it resets the
// kernel's RSS high-water mark (`echo 5 > /proc/self/clear_refs`), renders once and
// reads VmHWM; then it renders `runs - 1` more times for the timing only.
//
// argv: BACKEND SERVICES ENDPOINTS_PER_SERVICE RUNS

import { readFileSync, writeFileSync } from 'node:fs';
import { iptablesBackend } from '../src/backends/iptables/index.js';
import { ipvsBackend } from '../src/backends/ipvs/index.js';
import { nftablesBackend } from '../src/backends/nftables/index.js';
import { syntheticInput } from './synthetic.js';

export interface RenderChildResult {
  backend: string;
  /** backend.render (render + serialise, what `svcplane render` does) per run, ms. */
  runs: number[];
  bytes: number;
  lines: number;
  /** RSS before the first render (input built, after a GC), KiB. */
  rssBeforeKiB: number;
  /** VmHWM after the first render, the high-water mark reset just before it, KiB. */
  peakKiB: number;
}

function status(key: string): number {
  const s = readFileSync('/proc/self/status', 'utf8');
  return Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
}

const [name, services, perService, runs] = process.argv.slice(2);
const backend = [nftablesBackend, iptablesBackend, ipvsBackend].find((b) => b.name === name);
if (!backend) throw new Error(`render-child: unknown backend ${name}`);
const input = syntheticInput(Number(services), new Map(), Number(perService));
(globalThis as { gc?: () => void }).gc?.();
const rssBeforeKiB = status('VmRSS');
writeFileSync('/proc/self/clear_refs', '5');
const times: number[] = [];
let doc = '';
let peakKiB = NaN;
for (let r = 0; r < Number(runs); r++) {
  const t0 = performance.now();
  const d = backend.render(input);
  times.push(performance.now() - t0);
  if (r === 0) {
    peakKiB = status('VmHWM');
    doc = d;
  }
}
const result: RenderChildResult = { backend: backend.name, runs: times, bytes: Buffer.byteLength(doc), lines: doc.split('\n').length - 1, rssBeforeKiB, peakKiB };
process.stdout.write(`${JSON.stringify(result)}\n`);
