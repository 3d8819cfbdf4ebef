// Where the nftables syncer's memory goes in a full sync, in process (issue 16 §1):
// the heap (after gc()) once the input is built, at its highest while the load is
// written (gc() after each piece nft's stdin takes), after the sync, and after the
// syncer's state is dropped. The runner only reads the text: no kernel, no nft.
//
//   node --expose-gc --import tsx bench/nft-syncer-memory.ts [--time] [SERVICES [ENDPOINTS_PER_SERVICE]]   (default 10000 x 10)
//
// Prints one JSON line (MB). src/agent/README.md "Memory" quotes it.

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
const [services, perService] = [10000, ENDPOINTS_PER_SERVICE].map((d, i) => Number(process.argv.filter((a) => !a.startsWith('--'))[2 + i] ?? d)) as [number, number];
const start = heap();
const input = syntheticInput(services, new Map(), perService);
const withInput = heap();
let peakMB = 0;
let chars = 0;
const runner: NftRunner = {
  list: async () => [],
  // A runner without loadChunks gets the text whole (a syncer before the pieces).
  load: async (text) => {
    chars = text.length;
    if (!timeOnly) peakMB = Math.max(peakMB, heap().heapMB);
  },
  loadChunks: async (chunks) => {
    for (const c of chunks) {
      chars += c.length;
      if (!timeOnly) peakMB = Math.max(peakMB, heap().heapMB);
    }
  },
};
let syncer: NftablesSyncer | undefined = new NftablesSyncer(runner, undefined, { keepTransaction: false });
const t = performance.now();
const r = await syncer.sync(input);
const ms = Math.round(performance.now() - t);
const after = heap();
syncer = undefined;
const dropped = heap();
process.stdout.write(
  `${JSON.stringify({ services, perService, start, withInput, peakWhileWritingMB: peakMB, afterSync: after, syncerStateDropped: dropped, transactionChars: chars, changes: r.changes, ms })}\n`,
);
