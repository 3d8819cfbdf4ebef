// What offline mode's endpoint files cost to hold, in process: N one-Service slice files in a
// temporary folder (as bench/agent-memory.ts writes them), loaded by the agent's cache
// (src/agent/endpoint-files.ts), then the file watch's fingerprint filled by a first walk
// (src/agent/fingerprint.ts) sharing the cache's strings as the agent has it share them --
// in a tree before session 18; since, the cache is its own poll (file-watch.ts `selfPolled`)
// and there is no fingerprint to fill. Prints the heap kept after gc(): after the load, and
// what the fingerprint added; then the old-generation growth of one more walk (the poll:
// the fingerprint's, or a whole load of the cache) and of one whole reload (nothing changed).
//
//   node --expose-gc --max-semi-space-size=1 --import tsx bench/endpoint-files-memory.ts [FILES] [TREE]
//
// TREE: another checkout's root (a base to compare with, its src/ imported); default this one.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { sliceManifest } from './synthetic-manifests.js';
import { sliceAt, serviceName } from './synthetic.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const files = Number(process.argv[2] ?? 44000);
const tree = resolve(process.argv[3] ?? new URL('..', import.meta.url).pathname);
const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(tree, rel)).href)) as T;
const { EndpointFiles } = await load<typeof import('../src/agent/endpoint-files.js')>('src/agent/endpoint-files.ts');
const { Fingerprint } = await load<typeof import('../src/agent/fingerprint.js')>('src/agent/fingerprint.ts');

const MB = 1 << 20;
const round = (b: number) => Math.round((b / MB) * 10) / 10;
const settled = async () => {
  await new Promise((r) => setImmediate(r));
  gc();
  return process.memoryUsage().heapUsed;
};
const oldUsed = () => getHeapSpaceStatistics().filter((s) => s.space_name === 'old_space' || s.space_name === 'large_object_space').reduce((n, s) => n + s.space_used_size, 0);
/** Old-generation growth while `f` runs, from a collected heap. */
const growth = async (f: () => Promise<unknown>) => {
  await settled();
  const before = oldUsed();
  await f();
  return round(oldUsed() - before);
};

const dir = mkdtempSync(join(tmpdir(), 'endpoint-files-memory-'));
try {
  const eps = join(dir, 'endpoints');
  mkdirSync(eps);
  for (let i = 0; i < files; i++) writeFileSync(join(eps, `${serviceName(i)}.json`), JSON.stringify(sliceManifest(sliceAt(i, 0, 1))));
  const heap0 = await settled();
  const cache = new EndpointFiles([eps], { nodeName: 'node1' });
  const loaded = await cache.load();
  const heapLoaded = await settled();
  // The agent's sharing: this tree's `known` (path and version), or a base's `versionOf` (the version only).
  const c = cache as unknown as { known?: (p: string) => unknown; versionOf?: (p: string) => unknown };
  const shared = c.known ?? c.versionOf;
  // A base's Fingerprint took that hook; this tree's takes none (and its cache has neither: fp is undefined).
  const fp = shared && new (Fingerprint as unknown as new (hook: unknown) => InstanceType<typeof Fingerprint>)(shared.bind(cache));
  await fp?.update([eps]);
  const heapWatched = await settled();
  const walk = await growth(() => (fp ? fp.update([eps]) : cache.load()));
  const reload = await growth(() => cache.load());
  console.log(
    JSON.stringify({
      tree,
      files,
      slices: loaded.slices.length,
      cacheMB: round(heapLoaded - heap0),
      fingerprintMB: round(heapWatched - heapLoaded),
      walkOldGrowthMB: walk,
      wholeReloadOldGrowthMB: reload,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
