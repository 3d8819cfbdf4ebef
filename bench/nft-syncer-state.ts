// What the nftables syncer keeps between syncs, in process (issue 16 §1): the heap after
// gc() once the synthetic input is built, then after one full sync with a runner that
// only takes the text (no kernel, no nft): the difference is the syncer's state (each
// Service's source, the element counts, the shard and set counts). HEAPSNAPSHOT_FILE:
// a heap snapshot at that point, for bench/heap-holders.mjs.
//
//   node --expose-gc --import tsx bench/nft-syncer-state.ts [SERVICES [ENDPOINTS_PER_SERVICE]]   (default 44000 x 1)
//
// Prints one JSON line (MB). The nftables README's "Session 17" quotes it.

import { writeHeapSnapshot } from 'node:v8';
import { NftablesSyncer, type NftRunner } from '../src/backends/nftables/syncer.js';
import { syntheticInput } from './synthetic.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const MB = 1 << 20;
const heapMB = () => {
  gc();
  return Math.round((process.memoryUsage().heapUsed / MB) * 10) / 10;
};

const [services, perService] = [44000, 1].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number];
const input = syntheticInput(services, new Map(), perService);
const inputMB = heapMB();
const runner: NftRunner = {
  list: async () => [],
  listTable: async () => undefined,
  load: async () => undefined,
  loadChunks: async (chunks) => {
    for (const _ of chunks);
  },
};
const syncer = new NftablesSyncer(runner, undefined, { keepTransaction: false });
await syncer.sync(input);
const afterMB = heapMB();
if (process.env.HEAPSNAPSHOT_FILE) writeHeapSnapshot(process.env.HEAPSNAPSHOT_FILE);
console.log(JSON.stringify({ services, perService, inputMB, afterSyncMB: afterMB, stateMB: Math.round((afterMB - inputMB) * 10) / 10 }));
// Both alive to here: the state is measured beside the input it was made from, as the agent holds them.
if (!syncer || !input) throw new Error('unreachable');
