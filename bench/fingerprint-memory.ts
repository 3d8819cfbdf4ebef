// What one walk of the file watch's fingerprint (src/agent/fingerprint.ts) leaves in V8's
// old generation, in process: N one-slice files in a temporary folder, one walk to fill the
// fingerprint, then walks that find nothing changed. For each: the growth of the old
// generation and large objects during the walk (no gc() in it: what the agent's next full
// collection has to find), the major collections V8 ran meanwhile (a growth read across one
// is understated), and the heap kept after gc(). Run it as the agent's young generation is
// sized (1 MB semi-spaces: src/agent/node-options.ts), so that what lives across the walk's
// event-loop turns is promoted as it is in the agent.
//
//   node --expose-gc --max-semi-space-size=1 --import tsx bench/fingerprint-memory.ts [FILES] [MODULE]
//
// MODULE: another tree's fingerprint.ts (a base to compare with); default this one's.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { pathToFileURL } from 'node:url';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const files = Number(process.argv[2] ?? 44000);
const modulePath = resolve(process.argv[3] ?? new URL('../src/agent/fingerprint.ts', import.meta.url).pathname);
const { Fingerprint } = (await import(pathToFileURL(modulePath).href)) as typeof import('../src/agent/fingerprint.js');

const MB = 1 << 20;
const oldUsed = () => getHeapSpaceStatistics().filter((s) => s.space_name === 'old_space' || s.space_name === 'large_object_space').reduce((n, s) => n + s.space_used_size, 0);
let majors = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (((e as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
}).observe({ entryTypes: ['gc'] });

const dir = mkdtempSync(join(tmpdir(), 'fingerprint-memory-'));
try {
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `svc-${String(i).padStart(5, '0')}.json`), '{"kind":"EndpointSlice"}');
  const fp = new Fingerprint();
  await fp.update([dir]);
  const walks = [];
  for (let k = 0; k < 3; k++) {
    gc();
    await new Promise((r) => setImmediate(r));
    const before = oldUsed();
    const majorsBefore = majors;
    const changes = await fp.update([dir]);
    const grown = oldUsed() - before;
    await new Promise((r) => setImmediate(r)); // the gc observer's entries come a turn later
    walks.push({ changes: changes.length, oldGrowthMB: Math.round((grown / MB) * 10) / 10, majorGCs: majors - majorsBefore });
  }
  gc();
  console.log(JSON.stringify({ module: modulePath, files, entries: fp.size, walks, heapAfterMB: Math.round((process.memoryUsage().heapUsed / MB) * 10) / 10 }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
