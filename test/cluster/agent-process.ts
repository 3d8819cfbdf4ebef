// The real compiled agent (`node lib/cli/main.js agent`) in one node's namespace, in API
// mode with that node's kubeconfig, with its log lines kept and parsed: what a DaemonSet
// pod would be. `ensureBuilt` compiles lib/ when it is missing or older than src/.

import { execa } from 'execa';
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nsExec, spawnInNetns, type NetnsProcess } from '../e2e/lib/netns.js';
import { until } from '../e2e/lib/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const COMPILED_CLI = join(ROOT, 'lib', 'cli', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** `npm run build` unless lib/cli/main.js is newer than every file under src/. */
export async function ensureBuilt(): Promise<void> {
  let built = 0;
  try {
    built = statSync(COMPILED_CLI).mtimeMs;
  } catch {
    // not built yet
  }
  if (built > newestMtime(join(ROOT, 'src'))) return;
  await execa('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, timeout: 300_000 });
}

export type AgentBackend = 'nftables' | 'iptables' | 'userspace';

export interface AgentFiles {
  readonly kubeconfig: string;
  readonly config: string;
  readonly plan: string;
}

/** How an agent process ended: an exit code, or the signal that killed it. */
export interface AgentExit {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
}

/** One "synced" log line. */
export interface SyncLog {
  /** Wall clock (epoch ms) when the sync finished (pino's time). */
  readonly time: number;
  /** The sync's own duration. */
  readonly ms: number;
  readonly full: boolean;
  readonly services: number;
}

export class ClusterAgent {
  readonly logs: string[] = [];
  readonly syncs: SyncLog[] = [];
  private readonly exited: Promise<AgentExit>;

  private constructor(
    readonly node: string,
    readonly ns: string,
    readonly backend: AgentBackend,
    readonly child: NetnsProcess,
  ) {
    let buf = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) this.onLine(l);
    });
    child.stdout.resume();
    this.exited = child.then((r) => ({ exitCode: r.exitCode, signal: r.signal }));
  }

  static start(node: string, ns: string, backend: AgentBackend, files: AgentFiles): ClusterAgent {
    const child = spawnInNetns(ns, [
      process.execPath, COMPILED_CLI, 'agent',
      '--backend', backend,
      '--kubeconfig', files.kubeconfig,
      '--plan', files.plan,
      '--config', files.config,
      '--node-name', node,
      '--health-addr', '0.0.0.0:10256',
      '--metrics-addr', '127.0.0.1:10249',
    ]);
    return new ClusterAgent(node, ns, backend, child);
  }

  private onLine(line: string): void {
    this.logs.push(line);
    if (this.logs.length > 5000) this.logs.splice(0, 1000);
    if (!line.includes('"msg":"synced"')) return;
    try {
      const m = JSON.parse(line) as { time: number; ms: number; full: boolean; services: number };
      this.syncs.push({ time: m.time, ms: m.ms, full: m.full, services: m.services });
    } catch {
      // a torn line: not a sync record
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  tail(n = 15): string {
    return `${this.node} (${this.backend}) log:\n${this.logs.slice(-n).join('\n')}`;
  }

  /** Waits for more than `after` syncs (default: the first one, i.e. ready). */
  async waitSynced(after = 0, timeoutMs = 60_000): Promise<void> {
    await until(`${this.node}: sync #${after + 1}`, () => this.syncs.length > after || !this.running(), timeoutMs, 25).catch((e: Error) => {
      throw new Error(`${e.message}\n${this.tail()}`);
    });
    if (this.syncs.length <= after) throw new Error(`${this.node}: agent exited before syncing\n${this.tail()}`);
  }

  /**
   * SIGTERM, as the kubelet does; resolves with the exit code (SIGKILL after `graceMs`,
   * the kubelet's default terminationGracePeriodSeconds: the agent finishes the sync in
   * flight first, and on a loaded machine one took 13 s).
   */
  async stop(graceMs = 30_000): Promise<AgentExit> {
    if (this.running()) {
      // process.kill, not child.kill: execa's kill follows a SIGTERM with a SIGKILL after
      // 5 s (forceKillAfterDelay), shorter than a sync in flight on a loaded machine.
      process.kill(this.pid, 'SIGTERM');
      const timer = setTimeout(() => this.running() && process.kill(this.pid, 'SIGKILL'), graceMs);
      try {
        await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return this.exited;
  }

  /** The agent's /metrics, fetched from inside its node. */
  async metrics(): Promise<string> {
    const r = await nsExec(this.ns, ['curl', '-sf', '--max-time', '5', 'http://127.0.0.1:10249/metrics']);
    return r.stdout;
  }

  /** Resident set now and at its peak (KiB), and CPU seconds used (user + system). */
  async usage(): Promise<{ rssKiB: number; hwmKiB: number; cpuSeconds: number }> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    const stat = await readFile(`/proc/${this.pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), cpuSeconds: ticks / 100 };
  }
}
