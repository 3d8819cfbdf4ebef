// Where the iptables syncer's memory goes, in process, against a real iptables-nft in a
// throw-away namespace (issue 16 §1): the first full sync, a resync (full: read back with
// iptables-save and compared) and one incremental sync of `changes` endpoint changes, each
// probed at its phases through the Exec it runs on: before each tool (the render done, a
// table's read-back parsed), when the tool returns (its stdout held), and every 64th piece
// of restore input pulled. Each probe is `process.memoryUsage()` twice: as it is (what the
// process holds then, garbage included) and after gc() (what is live), MB.
//
//   node --expose-gc --import tsx bench/ipt-syncer-memory.ts [SERVICES [ENDPOINTS_PER_SERVICE [CHANGES]]]   (default 10000 10 1000)
//
// Prints one JSON line per probe, then a summary line. src/backends/iptables/README.md
// "Memory" quotes it. gc() at every probe makes the process's own peak lower than the
// agent's: read the live figures, and the agent's VmHWM from bench/agent-memory.ts.

import { readFileSync } from 'node:fs';
import type { Command, Exec } from '../src/exec/exec.js';
import { systemExec } from '../src/exec/system-exec.js';
import { IptablesRunner } from '../src/backends/iptables/apply.js';
import { IptablesSyncer } from '../src/backends/iptables/syncer.js';
import { createNetns, deleteNetns, RUN_PREFIX } from '../test/e2e/lib/netns.js';
import { addEndpoint, spread } from './changes.js';
import { ENDPOINTS_PER_SERVICE, syntheticInput } from './synthetic.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const MB = 1 << 20;
const [services, perService, changes] = [10000, ENDPOINTS_PER_SERVICE, 1000].map((d, i) => Number(process.argv[2 + i] ?? d)) as [number, number, number];

const hwmKiB = () => Number(/^VmHWM:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
let phase = 'start';
const summary: Record<string, { rssMB: number; liveMB: number; at: string }> = {};
function probe(at: string): void {
  const m = process.memoryUsage();
  gc!();
  const l = process.memoryUsage();
  const row = {
    phase,
    at,
    rssMB: Math.round(m.rss / MB),
    heapMB: Math.round(m.heapUsed / MB),
    liveHeapMB: Math.round(l.heapUsed / MB),
    liveExternalMB: Math.round(l.external / MB),
    hwmMB: Math.round(hwmKiB() / 1024),
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
  const s = summary[phase];
  const live = row.liveHeapMB + row.liveExternalMB;
  if (!s || live > s.liveMB) summary[phase] = { rssMB: row.rssMB, liveMB: live, at };
}

function probed(inner: Exec): Exec {
  return {
    run: async (c: Command) => {
      const what = `${c.file} ${c.args.filter((a) => !a.startsWith('-') || a === '-C').slice(0, 2).join(' ')}`.trim();
      if (!c.args.includes('-C') && !c.args.includes('-I')) probe(`before ${what}`);
      let chunks = c.inputChunks;
      if (chunks) {
        const source = chunks;
        chunks = (function* () {
          let n = 0;
          for (const piece of source) {
            if (n++ % 64 === 0) probe(`restore input piece ${n}`);
            yield piece;
          }
        })();
      }
      const r = await inner.run({ ...c, ...(chunks ? { inputChunks: chunks } : {}) });
      if (!c.args.includes('-C') && !c.args.includes('-I')) probe(`${what} returned ${Math.round(r.stdout.length / MB)} MB of stdout`);
      return r;
    },
  };
}

const ns = await createNetns(`${RUN_PREFIX}iptmem`);
try {
  let input = syntheticInput(services, new Map(), perService);
  probe('input built');
  // BENCH_IPT_READ_BACK_EVERY=N: the syncer's readBackEvery (default 1: the resync step is the read-back, as this bench has always measured it).
  const readBackEvery = Number(process.env.BENCH_IPT_READ_BACK_EVERY ?? 1);
  const syncer = new IptablesSyncer(new IptablesRunner(ns, 'nft', probed(systemExec)), undefined, undefined, false, { readBackEvery });
  const times: Record<string, number> = {};
  const step = async (name: string, run: () => Promise<unknown>) => {
    phase = name;
    const t = performance.now();
    await run();
    times[name] = Math.round(performance.now() - t);
    probe('after');
  };
  await step('first sync', () => syncer.sync(input));
  await step('resync', () => syncer.sync(input, { full: true }));
  const changed = new Set<string>();
  for (const i of spread(services, changes)) {
    const c = addEndpoint(input, i);
    input = c.input;
    changed.add(c.key);
  }
  await step(`${changes} changes`, () => syncer.sync(input, { changed }));
  process.stdout.write(`${JSON.stringify({ services, perService, changes, peaks: summary, ms: times, hwmMB: Math.round(hwmKiB() / 1024) })}\n`);
} finally {
  await deleteNetns(ns);
}
