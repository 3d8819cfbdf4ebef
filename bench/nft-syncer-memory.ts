// Where the nftables syncer's memory goes in a full sync, in process (issue 16 §1):
// the heap (after gc()) once the input is built, at its highest while the load is
// written (gc() after each piece nft's stdin takes), after the sync, and after the
// syncer's state is dropped. The runner only reads the text: no kernel, no nft.
// Then a read-back full sync (a periodic resync's every `readBackEvery`-th, or one
// after a failure) of the same input: the "kernel" is a full render's tables, one
// file each in a temporary directory as `nft -j list table` prints it (text outside
// the heap, as nft's output is until read). By default the syncer streams each listing
// (streamTable, as the agent does: read in 64 KiB pieces, the heap taken after every
// fourth); --parsed: it reads each table parsed whole (listTable, as a sync with
// preserved Services does); --whole: every table at once (`list`, before session 6).
// --snapshot=DIR: a heap snapshot near the first sync's and near the read-back's highest
// sample (first-sync.heapsnapshot, read-back.heapsnapshot; see `sample`).
//
//   node --expose-gc --import tsx bench/nft-syncer-memory.ts [--time] [--parsed|--whole] [SERVICES [ENDPOINTS_PER_SERVICE]]   (default 10000 x 10)
//
// Prints one JSON line (MB). src/agent/README.md "Memory" and the nftables README quote it.

import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { writeHeapSnapshot } from 'node:v8';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NftListingStream, type NftListingSink } from '../src/backends/nftables/listing-stream.js';
import type { NftFamily, NftTable } from '../src/backends/nftables/nft.js';
import { readNftTable } from '../src/backends/nftables/read.js';
import { renderTables } from '../src/backends/nftables/render.js';
import { NftablesSyncer, type NftRunner } from '../src/backends/nftables/syncer.js';
import { ENDPOINTS_PER_SERVICE, syntheticInput } from './synthetic.js';
import { nftListing } from '../test/backends/nftables/nft-listing.js';

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
const parsed = process.argv.includes('--parsed');
const snapshotDir = process.argv.find((a) => a.startsWith('--snapshot='))?.slice('--snapshot='.length);
const [services, perService] = [10000, ENDPOINTS_PER_SERVICE].map((d, i) => Number(process.argv.filter((a) => !a.startsWith('--'))[2 + i] ?? d)) as [number, number];
const start = heap();
const input = syntheticInput(services, new Map(), perService);
const withInput = heap();
let peakMB = 0;
let chars = 0;
/** The run under way, for --snapshot: the file is TAG.heapsnapshot. */
let snapshotTag: string | undefined;
let snapshotMB = 0;
const sample = () => {
  if (timeOnly) return;
  const h = heap().heapMB;
  if (h <= peakMB) return;
  peakMB = h;
  // Written again whenever the highest sample passed the last snapshot's by 8 MB: the file
  // left is of a moment within 8 MB of the run's peak (one at every new high would take minutes).
  if (snapshotDir && snapshotTag && h >= snapshotMB + 8) {
    snapshotMB = h;
    writeHeapSnapshot(join(snapshotDir, `${snapshotTag}.heapsnapshot`));
  }
};
// The "kernel": empty for the first sync, then one file per table (see the top).
const dir = mkdtempSync(join(tmpdir(), 'nft-syncer-memory-'));
let kernel: string[] = [];
const fileOf = (family: NftFamily, name: string) => join(dir, `${family}-${name}.json`);
const readTable = (id: string): NftTable | undefined => {
  const [family, name] = id.split(' ') as [NftFamily, string];
  return readNftTable(readFileSync(fileOf(family, name), 'utf8'), family, name);
};
/** A table's listing handed to `push` in 64 KiB pieces, as a pipe delivers nft's output; the heap taken after every fourth. */
const streamFile = (file: string, push: (chunk: string) => void) => {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(1 << 16);
  const decoder = new StringDecoder('utf8');
  try {
    for (let n = 0, i = 0; (n = readSync(fd, buf, 0, buf.length, null)) > 0; i++) {
      push(decoder.write(buf.subarray(0, n)));
      if (i % 4 === 3) sample();
    }
  } finally {
    closeSync(fd);
  }
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
  ...(whole || parsed
    ? {}
    : {
        streamTable: async (family: NftFamily, name: string, sink: NftListingSink) => {
          if (!kernel.includes(`${family} ${name}`)) return false;
          const reader = new NftListingStream(sink);
          streamFile(fileOf(family, name), (c) => reader.push(c));
          reader.end();
          sample();
          return true;
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
snapshotTag = 'first-sync';
const t = performance.now();
const r = await syncer.sync(input);
const ms = Math.round(performance.now() - t);
const after = heap();
const firstPeakMB = peakMB;

// The read-back full sync: the kernel holds what a whole render lists (written in a
// function of its own, so that no slot of this frame keeps the render alive).
const fillKernel = () => {
  for (const t of renderTables(input)) {
    writeFileSync(fileOf(t.family, t.name), nftListing([t]));
    kernel.push(`${t.family} ${t.name}`);
  }
};
fillKernel();
const beforeReadBack = heap();
peakMB = 0;
snapshotTag = 'read-back';
snapshotMB = 0;
const t2 = performance.now();
const rb = await syncer.sync(input);
const readBackMs = Math.round(performance.now() - t2);
snapshotTag = undefined;
const readBack = { mode: whole ? 'whole (list)' : parsed ? 'per table, parsed (listTable)' : 'per table, streamed (streamTable)', before: beforeReadBack, peakMB, changes: rb.changes, ms: readBackMs, readBackMs: Math.round(rb.timings.readBack ?? 0), diffMs: Math.round(rb.timings.diff ?? 0) };
rmSync(dir, { recursive: true, force: true });
kernel = [];

syncer = undefined;
const dropped = heap();
process.stdout.write(
  `${JSON.stringify({ services, perService, start, withInput, peakWhileWritingMB: firstPeakMB, afterSync: after, syncerStateDropped: dropped, transactionChars: chars, changes: r.changes, ms, readBack })}\n`,
);
