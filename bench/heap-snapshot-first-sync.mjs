// `--import ./bench/heap-snapshot-first-sync.mjs` in the compiled agent's node options
// (BENCH_AGENT_NODE_OPTIONS of bench/agent-memory.ts): writes a heap snapshot to
// BENCH_HEAPSNAPSHOT_FILE when the nftables syncer's first sync is called, i.e. what the
// agent holds with its input loaded (plan, endpoint files or API stores, the file watch)
// before the syncer has done anything; BENCH_HEAPSNAPSHOT_EXIT=1 then ends the agent
// (the bench reports it exited and cleans up). Read it with bench/heap-holders.mjs.
import { writeHeapSnapshot } from 'node:v8';

const file = process.env.BENCH_HEAPSNAPSHOT_FILE;
if (file) {
  const { NftablesSyncer } = await import(new URL('../lib/backends/nftables/syncer.js', import.meta.url).href);
  const sync = NftablesSyncer.prototype.sync;
  let written = false;
  NftablesSyncer.prototype.sync = function (...args) {
    if (!written) {
      written = true;
      writeHeapSnapshot(file);
      if (process.env.BENCH_HEAPSNAPSHOT_EXIT === '1') process.exit(0);
    }
    return sync.apply(this, args);
  };
}
