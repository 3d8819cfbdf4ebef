// Where the nftables syncer's memory goes in a full sync, in process (issue 16 §1):
// the heap (after gc()) once the input is built, at its highest while the load is
// written (gc() after each piece nft's stdin takes), after the sync, and after the
// syncer's state is dropped. The runner only reads the text: no kernel, no nft.
// Then a read-back full sync (a periodic resync's every `readBackEvery`-th, or one
// after a failure) of the same input: the "kernel" is a full render's tables, one
// JSON file each in a temporary directory (text outside the heap, as nft's output
// is until read), parsed when the syncer reads them; its peak is taken after each
// table read and each piece written. --whole: the runner has no listTable, so the
// syncer reads every table at once (`list`, as before session 6's per-table read-back).
//
//   node --expose-gc --import tsx bench/nft-syncer-memory.ts [--time] [--whole] [SERVICES [ENDPOINTS_PER_SERVICE]]   (default 10000 x 10)
//
// Prints one JSON line (MB). src/agent/README.md "Memory" quotes it.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeTables } from '../src/backends/nftables/document.js';
import type { NftFamily, NftTable } from '../src/backends/nftables/nft.js';
import { readNftTable } from '../src/backends/nftables/read.js';
import { renderTables } from '../src/backends/nftables/render.js';
import { NftablesSyncer, type NftRunner } from '../src/backends/nftables/syncer.js';
import { ENDPOINTS_PER_SERVICE, syntheticInput } from './synthetic.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const MB = 1 << 20;
const heap = () => {
  gc();
  const m = process.memoryUsage();
  return { heapMB: Math.round(m.heapUsed / MB), externalMB: Math.round(m.external / MB) };
};

// --time: no gc() while the load is written, so `ms` is the sync's own time.
const timeOnly = process.argv.includes('--time');
const whole = process.argv.includes('--whole');
const [services, perService] = [10000, ENDPOINTS_PER_SERVICE].map((d, i) => Number(process.argv.filter((a) => !a.startsWith('--'))[2 + i] ?? d)) as [number, number];
const start = heap();
const input = syntheticInput(services, new Map(), perService);
const withInput = heap();
let peakMB = 0;
let chars = 0;
const sample = () => {
  if (!timeOnly) peakMB = Math.max(peakMB, heap().heapMB);
};
// The "kernel": empty for the first sync, then one file per table (see the top).
const dir = mkdtempSync(join(tmpdir(), 'nft-syncer-memory-'));
let kernel: string[] = [];
const fileOf = (family: NftFamily, name: string) => join(dir, `${family}-${name}.json`);
const readTable = (id: string): NftTable | undefined => {
  const [family, name] = id.split(' ') as [NftFamily, string];
  return readNftTable(readFileSync(fileOf(family, name), 'utf8'), family, name);
};
const runner: NftRunner = {
  list: async () => {
    const all = kernel.map(readTable).filter((t): t is NftTable => t !== undefined);
    sample();
    return all;
  },
  ...(whole
    ? {}
    : {
        listTable: async (family: NftFamily, name: string) => {
          if (!kernel.includes(`${family} ${name}`)) return undefined;
          const t = readTable(`${family} ${name}`);
          sample();
          return t;
        },
      }),
  // A runner without loadChunks gets the text whole (a syncer before the pieces).
  load: async (text) => {
    chars = text.length;
    sample();
  },
  loadChunks: async (chunks) => {
    for (const c of chunks) {
      chars += c.length;
      sample();
    }
  },
};
let syncer: NftablesSyncer | undefined = new NftablesSyncer(runner, undefined, { keepTransaction: false });
const t = performance.now();
const r = await syncer.sync(input);
const ms = Math.round(performance.now() - t);
const after = heap();
const firstPeakMB = peakMB;

// The read-back full sync: the kernel holds what a whole render lists (written in a
// function of its own, so that no slot of this frame keeps the render alive).
const fillKernel = () => {
  for (const t of renderTables(input)) {
    writeFileSync(fileOf(t.family, t.name), serializeTables([t]));
    kernel.push(`${t.family} ${t.name}`);
  }
};
fillKernel();
const beforeReadBack = heap();
peakMB = 0;
const t2 = performance.now();
const rb = await syncer.sync(input);
const readBackMs = Math.round(performance.now() - t2);
const readBack = { mode: whole ? 'whole (list)' : 'per table (listTable)', before: beforeReadBack, peakMB, changes: rb.changes, ms: readBackMs, readBackMs: Math.round(rb.timings.readBack ?? 0), diffMs: Math.round(rb.timings.diff ?? 0) };
rmSync(dir, { recursive: true, force: true });
kernel = [];

syncer = undefined;
const dropped = heap();
process.stdout.write(
  `${JSON.stringify({ services, perService, start, withInput, peakWhileWritingMB: firstPeakMB, afterSync: after, syncerStateDropped: dropped, transactionChars: chars, changes: r.changes, ms, readBack })}\n`,
);
