// The agent's peak memory (VmHWM) through its life at one scale, for issue 16 §1:
// the compiled CLI (`node lib/cli/main.js agent`, as in the image; `npm run build`
// first) in a throw-away namespace, nftables or iptables, in offline mode (plan +
// a folder of EndpointSlice files) or API mode (the in-test API server as a child
// process in the same namespace, serving the Services and EndpointSlices), through
//   1. the first full sync,
//   2. a periodic resync (syncPeriod 60 s after the first),
//   3. `changes` endpoint changes (one endpoint added to as many Services, sent at
//      once: API upserts or file renames; minSyncPeriod 1 s coalesces them as
//      kube-proxy's default does), until the kernel shows the last one,
// reading /proc/PID/status after each step.
//
//   node --import tsx bench/agent-memory.ts [--backends nftables,iptables] [--sources offline,api] [--changes 1000] SERVICES[xENDPOINTS]...
//
// e.g. `10000` (10 endpoints per Service) or `44000x1` (issue 16's 44k x 1).
//
// prints one JSON line per (scale, backend, source). `npm run bench` runs it through
// run.ts (BENCH_AGENT_MEMORY_SCALES) and reports the rows (report-agent-memory.ts).

import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shardTableOf } from '../src/backends/nftables/render.js';
import { FakeApiChild } from '../test/e2e/lib/fake-api-child.js';
import { createNetns, deleteNetns, nsExec, RUN_PREFIX, spawnInNetns, stopProcess } from '../test/e2e/lib/netns.js';
import { agentCommand, writeAgentInputs, type AgentBenchBackend as MemoryBackend, type AgentBenchSource as MemorySource } from './agent-inputs.js';
import { procStatus } from './agent-scale.js';
import { sliceManifest } from './synthetic-manifests.js';
import { spread } from './changes.js';
import { endpointAddress, ENDPOINTS_PER_SERVICE, serviceName, sliceAt } from './synthetic.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(root, 'lib/cli/main.js');
const SYNC_PERIOD = '60s';
const MIN_SYNC_PERIOD = '1s';

// run.ts names the two by these names.
export type { MemoryBackend, MemorySource };

export interface AgentMemoryRow {
  backend: MemoryBackend;
  source: MemorySource;
  services: number;
  endpointsPerService: number;
  changes: number;
  /** VmHWM after each step, KiB: first full sync, periodic resync, the changes. */
  hwmFirstSyncKiB: number;
  hwmResyncKiB: number;
  hwmChangesKiB: number;
  /** VmRSS at the end, KiB. */
  rssEndKiB: number;
  /** The first sync's own duration (the agent's log), ms. */
  firstSyncMs: number;
  /** The first periodic resync's own duration (nothing changed in between), ms. */
  resyncMs: number;
  /** From sending the changes to the kernel holding the last of them, ms. */
  changesMs: number;
  /** Syncs the changes took (minSyncPeriod coalesces them). */
  changeSyncs: number;
  /** /metrics scrapes after the changes (BENCH_AGENT_SCRAPES), each reading the rules' traffic counters; absent in older results. */
  scrapes?: number;
  /** VmHWM after them, KiB (the changes' when there were none). */
  hwmScrapesKiB?: number;
  /** The last scrape's size, bytes. */
  scrapeBytes?: number;
}

/** Scrapes after the changes: 3 by default, spaced past the traffic readers' 5 s reuse of a read (src/agent/traffic-metrics.ts). */
const SCRAPES = Number(process.env.BENCH_AGENT_SCRAPES ?? 3);
const SCRAPE_GAP_MS = 6000;

interface LogLine {
  time: number;
  msg: string;
  ms?: number;
  full?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`agent memory bench: ${what}: not within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

/**
 * How often the rules in `ns` that hold Service i (its nftables shard, iptables' nat
 * table) mention `addr`. Counted, not tested for: an added endpoint takes the next
 * Service's pod address (synthetic.ts), which those rules may already hold, so "the
 * change is in" is "more mentions than before it", not "mentioned" (already true before
 * the change for iptables at 10k x 10 and 44k x 1: the change time read ~0).
 */
async function kernelMentions(ns: string, backend: MemoryBackend, i: number, addr: string): Promise<number> {
  const r =
    backend === 'nftables'
      ? await nsExec(ns, ['nft', 'list', 'table', 'ip', shardTableOf('default', serviceName(i))], { reject: false })
      : await nsExec(ns, ['iptables-save', '-t', 'nat'], { reject: false });
  return r.stdout.split(addr).length - 1;
}

export async function benchAgentMemory(
  backend: MemoryBackend,
  source: MemorySource,
  services: number,
  changes: number,
  nsName: string,
  log: (m: string) => void,
  perService = ENDPOINTS_PER_SERVICE,
): Promise<AgentMemoryRow> {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: npm run build first (the agent's memory is measured compiled, as in the image)`);
  const dir = await mkdtemp(join(tmpdir(), 'svp-bench-agentmem-'));
  const ns = await createNetns(nsName);
  let api: FakeApiChild | undefined;
  let agent: ReturnType<typeof spawnInNetns> | undefined;
  const lines: LogLine[] = [];
  try {
    const inputs = await writeAgentInputs(dir, ns, { backend, source, services, perService, minSyncPeriod: MIN_SYNC_PERIOD, syncPeriod: SYNC_PERIOD });
    api = inputs.api;
    log(`${backend}/${source} ${services}: starting the agent`);
    // The agent's node options and environment as the image and the DaemonSet set them
    // (agent-inputs.ts: BENCH_AGENT_NODE_OPTIONS replaces the options, e.g. --max-old-space-size=256,
    // a heap cap experiment, ' ' for node's defaults; BENCH_AGENT_ENV=0 leaves the environment out).
    agent = spawnInNetns(
      ns,
      agentCommand(CLI, inputs, [
        // BENCH_AGENT_HEAP=speed: the agent with V8's default heap growth (src/agent/heap-policy.ts), for a comparison.
        ...(process.env.BENCH_AGENT_HEAP ? [`SVCPLANE_AGENT_HEAP=${process.env.BENCH_AGENT_HEAP}`] : []),
        // BENCH_AGENT_SYNC_BATCH=N: at most N Services per incremental sync (src/agent/sync-batches.ts), to choose N.
        ...(process.env.BENCH_AGENT_SYNC_BATCH ? [`SVCPLANE_AGENT_SYNC_BATCH=${process.env.BENCH_AGENT_SYNC_BATCH}`] : []),
      ]),
    );
    let buf = '';
    agent.stderr.setEncoding('utf8');
    agent.stderr.on('data', (chunk: string) => {
      buf += chunk;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const p of parts) {
        try {
          lines.push(JSON.parse(p) as LogLine);
        } catch {
          lines.push({ time: Date.now(), msg: p });
        }
      }
    });
    const synced = () => lines.filter((l) => l.msg === 'synced');
    const failed = () => lines.find((l) => l.msg === 'sync failed; will retry with a full sync' || /^error/.test(l.msg));
    const syncedAfter = (n: number, what: string, timeoutMs: number, full?: boolean) =>
      until(what, timeoutMs, () => {
        const f = failed();
        if (f) throw new Error(`agent: ${JSON.stringify(f)}`);
        if (agent!.exitCode !== null) throw new Error(`agent exited ${agent!.exitCode}; last lines: ${JSON.stringify(lines.slice(-5))}`);
        return synced()
          .slice(n)
          .find((l) => full === undefined || l.full === full);
      });
    // ip netns exec execs node: the child's pid is the agent's.
    const pid = agent.pid!;
    const first = await syncedAfter(0, 'first sync', 20 * 60_000);
    const afterFirst = await procStatus(pid);
    log(`${backend}/${source} ${services}: first sync ${first.ms} ms, VmHWM ${(afterFirst.hwm / 1024).toFixed(0)} MiB`);
    const resync = await syncedAfter(1, 'periodic resync', 20 * 60_000, true);
    const afterResync = await procStatus(pid);
    log(`${backend}/${source} ${services}: resynced in ${resync.ms} ms, VmHWM ${(afterResync.hwm / 1024).toFixed(0)} MiB`);

    const targets = spread(services, Math.min(changes, services));
    const last = targets[targets.length - 1]!;
    const lastAddr = endpointAddress(last, perService, perService);
    const mentionsBefore = await kernelMentions(ns, backend, last, lastAddr);
    const syncsBefore = synced().length;
    const t0 = Date.now();
    if (source === 'api') {
      for (let k = 0; k < targets.length; k += 200) await Promise.all(targets.slice(k, k + 200).map((i) => api!.upsert('endpointslices', sliceManifest(sliceAt(i, 1, perService)))));
    } else {
      for (const i of targets) {
        const tmp = join(dir, 'slice.tmp');
        await writeFile(tmp, JSON.stringify(sliceManifest(sliceAt(i, 1, perService))));
        await rename(tmp, inputs.fileOf(i));
      }
    }
    // How long sending took (API upserts or file renames): the rest of changesMs is the agent's.
    log(`${backend}/${source} ${services}: ${targets.length} changes sent in ${Date.now() - t0} ms`);
    await until(`the last of ${targets.length} changes in the kernel`, 20 * 60_000, async () => ((await kernelMentions(ns, backend, last, lastAddr)) > mentionsBefore ? true : undefined), 200);
    const changesMs = Date.now() - t0;
    // The sync that applied the last change may log just after the kernel shows it.
    await sleep(500);
    const end = await procStatus(pid);
    const changeSyncs = synced().length - syncsBefore;
    log(`${backend}/${source} ${services}: ${targets.length} changes in ${changesMs} ms, VmHWM ${(end.hwm / 1024).toFixed(0)} MiB`);
    // What Prometheus adds: each scrape of /metrics reads the kernel's counters (iptables-save -c, nft's counters, ipset save).
    let scrapeBytes = 0;
    for (let i = 0; i < SCRAPES; i++) {
      if (i > 0) await sleep(SCRAPE_GAP_MS);
      // curl's own limit, not nsExec's default 30 s: a slow scrape is a finding to report, not a bench failure.
      const r = await nsExec(ns, ['curl', '-sS', '--max-time', '600', 'http://127.0.0.1:10249/metrics'], { timeoutMs: 620_000 });
      if (r.exitCode !== 0) throw new Error(`scrape ${i + 1}: ${r.stderr.slice(0, 300)}`);
      scrapeBytes = r.stdout.length;
    }
    const scraped = SCRAPES > 0 ? await procStatus(pid) : end;
    if (SCRAPES > 0) log(`${backend}/${source} ${services}: ${SCRAPES} scrapes of /metrics (${scrapeBytes} bytes), VmHWM ${(scraped.hwm / 1024).toFixed(0)} MiB`);
    return {
      backend,
      source,
      services,
      endpointsPerService: perService,
      changes: targets.length,
      hwmFirstSyncKiB: afterFirst.hwm,
      hwmResyncKiB: afterResync.hwm,
      hwmChangesKiB: end.hwm,
      rssEndKiB: end.rss,
      firstSyncMs: first.ms ?? NaN,
      resyncMs: resync.ms ?? NaN,
      changesMs,
      changeSyncs,
      scrapes: SCRAPES,
      hwmScrapesKiB: scraped.hwm,
      scrapeBytes,
    };
  } finally {
    // BENCH_AGENT_LOG=FILE: the agent's log lines, for a look at what each sync did.
    if (process.env.BENCH_AGENT_LOG) await writeFile(process.env.BENCH_AGENT_LOG, lines.map((l) => JSON.stringify(l)).join('\n'));
    if (agent) await stopProcess(agent, 5000);
    if (api) await api.stop();
    await deleteNetns(ns);
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: string) => {
    const i = args.indexOf(name);
    if (i < 0) return dflt;
    const v = args[i + 1]!;
    args.splice(i, 2);
    return v;
  };
  const backends = opt('--backends', 'nftables,iptables').split(',') as MemoryBackend[];
  const sources = opt('--sources', 'offline,api').split(',') as MemorySource[];
  const changes = Number(opt('--changes', '1000'));
  const scales = (args.length ? args : ['2', '1000']).map((a) => a.split('x').map(Number) as [number, number?]);
  for (const [services, perService = ENDPOINTS_PER_SERVICE] of scales) {
    for (const backend of backends) {
      for (const source of sources) {
        const row = await benchAgentMemory(backend, source, services, changes, `${RUN_PREFIX}mem-${backend.slice(0, 3)}-${source}-${services}`, (m) => process.stderr.write(`${m}\n`), perService);
        process.stdout.write(`${JSON.stringify(row)}\n`);
      }
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
