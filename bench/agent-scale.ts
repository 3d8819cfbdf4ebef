// The node agent at one scale: the real CLI (`svcplane agent --backend nftables`,
// offline mode: plan file + a folder of EndpointSlice files) runs in a throw-away
// network namespace. After its first full sync, each round rewrites one Service's
// slice file (one endpoint added or removed) and times, from the file write:
//   - "reloaded": the agent's log line "endpoint files reloaded" (file watch + re-read of every file),
//   - "synced":   its next "synced" line (the nft transaction has returned: the kernel holds it),
//   - "seen":     `nft -j list chain` in the namespace, polled, first shows the change,
// and reads the agent's peak RSS (VmHWM) at the end.
//
// Times from the agent's log use its pino `time` (epoch ms) against our Date.now() at the
// write: both are the same machine's wall clock, at 1 ms resolution.

import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serializePlan } from '../src/model/plan.js';
import { shardTableOf } from '../src/backends/nftables/render.js';
import { spread } from './changes.js';
import { withNetns } from './netns.js';
import { endpointAddress, ENDPOINTS_PER_SERVICE, serviceName, sliceAt, syntheticInput } from './synthetic.js';
import { sliceManifest } from './synthetic-manifests.js';
import { AGENT_ENV, AGENT_NODE_OPTIONS } from '../src/agent/node-options.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(root, 'src/cli/main.ts');
/** The built `lib/cli/main.js`, as in the image (run.ts builds it first), unless BENCH_AGENT_TSX=1: the sources under tsx (its loader adds ~30 MiB). */
const agentFrom = (): AgentEntry => (process.env.BENCH_AGENT_TSX ? 'tsx' : 'compiled');
const agentEntry = (): string[] => (agentFrom() === 'compiled' ? [join(root, 'lib/cli/main.js')] : ['--import', 'tsx', CLI]);
export type AgentEntry = 'compiled' | 'tsx';
/**
 * BENCH_AGENT_CPU_PROF=DIR: the agent runs under the V8 profiler (cpu-prof-preload.mjs) and
 * writes DIR/<pid>.cpuprofile when it stops; summarise it with bench/cpu-profile.ts's
 * `summarize` from the first sync on (scratch use: the figures then include the sampler).
 */
const agentEnv = (): NodeJS.ProcessEnv => {
  const dir = process.env.BENCH_AGENT_CPU_PROF;
  if (!dir) return { ...process.env, ...agentEnvVars(), NODE_OPTIONS: agentNodeOptions() };
  const preload = fileURLToPath(new URL('./cpu-prof-preload.mjs', import.meta.url));
  return { ...process.env, ...agentEnvVars(), NODE_OPTIONS: `${agentNodeOptions()} --import ${preload}`.trim(), SVP_CPU_PROF_DIR: dir };
};

/**
 * The agent's node options, as the image and the DaemonSet give them (src/agent/node-options.ts), so the
 * benches measure the agent as it runs; BENCH_AGENT_NODE_OPTIONS replaces them (' ' for node's defaults).
 */
export function agentNodeOptions(): string {
  return (process.env.BENCH_AGENT_NODE_OPTIONS ?? AGENT_NODE_OPTIONS).trim();
}

/** The agent's environment as the image and the DaemonSet give it (AGENT_ENV); BENCH_AGENT_ENV=0 leaves it out, for a comparison. */
export function agentEnvVars(): Record<string, string> {
  return process.env.BENCH_AGENT_ENV === '0' ? {} : { ...AGENT_ENV };
}
const NODE_IP = '192.168.50.1';
const MIN_SYNC_PERIOD = '10ms';
const SYNC_PERIOD = '1h';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AgentRound {
  service: number;
  op: 'add' | 'remove';
  /** ms from the write to the agent's "endpoint files reloaded" log line. */
  reloaded: number;
  /** ms from the write to its "synced" log line (the transaction returned). */
  synced: number;
  /** ms from the write until a polled `nft -j list chain` showed the change. */
  seen: number;
  /** The sync's own duration as the agent logs it (ms). */
  syncOwn: number;
}

export interface AgentResult {
  services: number;
  /** How the CLI ran: compiled (lib/, as in the image) or from source under tsx; absent in results from before it was recorded: tsx. */
  entry?: AgentEntry;
  /** From spawning the CLI to its first "synced" line (node start, file reads, full sync), ms. */
  startToFirstSync: number;
  /** The first (full) sync's own duration as the agent logs it, ms. */
  firstSyncOwn: number;
  rounds: AgentRound[];
  /** The median time one `ip netns exec NS nft -j list chain` poll took (the granularity of "seen"), ms. */
  pollMs: number;
  /** /proc/<agent>/status at the end, KiB. */
  vmHWMKiB: number;
  vmRSSKiB: number;
  syncPeriod: string;
  minSyncPeriod: string;
  /** The agent's CPU (user + system, /proc/<pid>/stat) from after its first sync to the last round, per change, ms: its whole work per change, the poll of the files included. */
  cpuPerChangeMs?: number;
}

interface LogLine {
  time: number;
  msg: string;
  ms?: number;
}

/** Reads the agent's JSON log lines (stderr) as they come. */
class AgentLog {
  readonly lines: LogLine[] = [];
  private buf = '';
  constructor(child: ChildProcess) {
    child.stderr!.on('data', (chunk: Buffer) => {
      this.buf += chunk.toString();
      const parts = this.buf.split('\n');
      this.buf = parts.pop()!;
      for (const p of parts) {
        try {
          this.lines.push(JSON.parse(p) as LogLine);
        } catch {
          this.lines.push({ time: Date.now(), msg: p });
        }
      }
    });
  }
  count(msg: string): number {
    return this.lines.filter((l) => l.msg === msg).length;
  }
  /** The n-th (0-based) line with this message, waiting for it up to timeoutMs. */
  async nth(msg: string, n: number, timeoutMs: number): Promise<LogLine> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.filter((l) => l.msg === msg)[n];
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`agent: no "${msg}" #${n + 1} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`);
      await sleep(5);
    }
  }
}

// An interrupted run (netns.ts exits on SIGINT/SIGTERM) must not leave an agent behind.
const liveAgents = new Set<ChildProcess>();
const liveDirs = new Set<string>();
process.on('exit', () => {
  for (const c of liveAgents) c.kill('SIGKILL');
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
});

async function stopAgent(child: ChildProcess): Promise<void> {
  liveAgents.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const killed = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
  if (!killed) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** utime + stime of process `pid` (fields 14 and 15 of /proc/<pid>/stat, after the command's parentheses), ms. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Clock ticks: 100 per second on Linux (USER_HZ).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function procStatus(pid: number): Promise<{ hwm: number; rss: number }> {
  const s = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
  return { hwm: kib('VmHWM'), rss: kib('VmRSS') };
}

export async function benchAgent(services: number, rounds: number, nsName: string, log: (m: string) => void): Promise<AgentResult> {
  const dir = await mkdtemp(join(tmpdir(), 'svp-bench-agent-'));
  liveDirs.add(dir);
  try {
    const input = syntheticInput(services);
    const eps = join(dir, 'endpoints');
    await mkdir(eps);
    await writeFile(join(dir, 'plan.json'), serializePlan(input.plan));
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        mode: 'nftables',
        clusterCIDR: '10.244.0.0/16',
        detectLocalMode: 'ClusterCIDR',
        nftables: { minSyncPeriod: MIN_SYNC_PERIOD, syncPeriod: SYNC_PERIOD },
      }),
    );
    // One file per slice, as a folder of mounted manifests would be.
    const fileOf = (i: number) => join(eps, `${serviceName(i)}.json`);
    for (const s of input.endpointSlices) await writeFile(join(eps, `${s.serviceName}.json`), JSON.stringify(sliceManifest(s)));

    return await withNetns(`${nsName}-agent`, async (ns) => {
      log(`agent: starting the CLI in ${ns} (${services} slice files)`);
      const spawnedAt = Date.now();
      // `ip netns exec` execs node itself: the child's pid is the agent's. At debug level: "endpoint files reloaded" is a debug line.
      const child = spawn(
        'ip',
        ['netns', 'exec', ns, process.execPath, ...agentEntry(), 'agent', '--backend', 'nftables', '--plan', join(dir, 'plan.json'), '--config', join(dir, 'config.json'),
          '--endpoints-file', eps, '--node-name', 'node1', '--node-ip', NODE_IP, '--health-addr', '127.0.0.1:10256', '--metrics-addr', '127.0.0.1:10249', '--log-level', 'debug'],
        { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: agentEnv() },
      );
      liveAgents.add(child);
      const agentLog = new AgentLog(child);
      try {
        const first = await agentLog.nth('synced', 0, 300_000);
        const startToFirstSync = first.time - spawnedAt;
        log(`agent: first sync after ${startToFirstSync} ms (its own ${first.ms} ms)`);
        await sleep(500);
        const cpu0 = await cpuMs(child.pid!);

        const polls: number[] = [];
        const out: AgentRound[] = [];
        const targets = spread(services, rounds);
        for (let r = 0; r < rounds; r++) {
          const i = targets[r]!;
          const op: AgentRound['op'] = r % 2 === 0 ? 'add' : 'remove';
          // add: an 11th endpoint; remove: the 10th goes.
          const next = op === 'add' ? sliceAt(i, 1) : { ...sliceAt(i), endpoints: sliceAt(i).endpoints.slice(0, -1) };
          const addr = op === 'add' ? endpointAddress(i, ENDPOINTS_PER_SERVICE) : endpointAddress(i, ENDPOINTS_PER_SERVICE - 1);
          const chain = `svc-default/${serviceName(i)}/tcp/80`;
          const reloadsBefore = agentLog.count('endpoint files reloaded');
          const syncsBefore = agentLog.count('synced');
          // Atomic replace (written beside the folder, renamed in), as a careful writer does.
          const tmp = join(dir, 'slice.tmp');
          await writeFile(tmp, JSON.stringify(sliceManifest(next)));
          const wroteAt = Date.now();
          const t0 = performance.now();
          await rename(tmp, fileOf(i));
          let seen = NaN;
          for (;;) {
            const p0 = performance.now();
            // The Service's chains live in its shard table (src/backends/nftables/README.md).
            const l = await execa('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'chain', 'ip', shardTableOf('default', serviceName(i)), chain], { reject: false });
            const p1 = performance.now();
            polls.push(p1 - p0);
            const has = l.stdout.includes(`"${addr}"`);
            if (has === (op === 'add')) {
              seen = p1 - t0;
              break;
            }
            if (p1 - t0 > 120_000) throw new Error(`agent: ${op} of ${addr} in ${chain} not seen after 120 s`);
          }
          const reloaded = await agentLog.nth('endpoint files reloaded', reloadsBefore, 60_000);
          const synced = await agentLog.nth('synced', syncsBefore, 60_000);
          out.push({ service: i, op, reloaded: reloaded.time - wroteAt, synced: synced.time - wroteAt, seen, syncOwn: synced.ms ?? NaN });
          log(`agent: round ${r + 1}/${rounds} ${op} svc ${i}: reloaded ${reloaded.time - wroteAt} ms, synced ${synced.time - wroteAt} ms, seen ${seen.toFixed(0)} ms`);
          await sleep(200);
        }
        const cpuPerChangeMs = ((await cpuMs(child.pid!)) - cpu0) / rounds;
        const st = await procStatus(child.pid!);
        polls.sort((a, b) => a - b);
        return {
          services,
          entry: agentFrom(),
          startToFirstSync,
          firstSyncOwn: first.ms ?? NaN,
          rounds: out,
          pollMs: polls[polls.length >> 1] ?? NaN,
          vmHWMKiB: st.hwm,
          vmRSSKiB: st.rss,
          syncPeriod: SYNC_PERIOD,
          minSyncPeriod: MIN_SYNC_PERIOD,
          cpuPerChangeMs,
        };
      } finally {
        await stopAgent(child);
      }
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  }
}
