// The real compiled agent (`node lib/cli/main.js agent`) in one node's namespace, in API
// mode with that node's kubeconfig, with its sync log lines parsed: what a DaemonSet pod
// would be. The process itself is the shared e2e helper's (test/e2e/lib/agent-process.ts).
// `ensureBuilt` compiles lib/ when it is missing or older than src/.

import { execa } from 'execa';
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentProcess, AGENT_GRACE_MS, COMPILED_CLI, type AgentExit } from '../e2e/lib/agent-process.js';
import { nsExec, type NetnsProcess } from '../e2e/lib/netns.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export { COMPILED_CLI, type AgentExit };

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

/** One "synced" log line. */
export interface SyncLog {
  /** Wall clock (epoch ms) when the sync finished (pino's time). */
  readonly time: number;
  /** The sync's own duration. */
  readonly ms: number;
  readonly full: boolean;
  readonly services: number;
  /** Services whose endpoints this sync took from the queue (0: it did not carry a slice change). */
  readonly endpointsChanged: number;
}

function parseSync(line: string): SyncLog | undefined {
  if (!line.includes('"msg":"synced"')) return undefined;
  try {
    const m = JSON.parse(line) as { time: number; ms: number; full: boolean; services: number; endpointsChanged?: number };
    return { time: m.time, ms: m.ms, full: m.full, services: m.services, endpointsChanged: m.endpointsChanged ?? 0 };
  } catch {
    return undefined; // a torn line: not a sync record
  }
}

export class ClusterAgent {
  /** Every sync since start (kept apart from the log, which is trimmed on long runs). */
  readonly syncs: SyncLog[] = [];
  private readonly proc: AgentProcess;

  private constructor(
    readonly node: string,
    readonly ns: string,
    readonly backend: AgentBackend,
    files: AgentFiles,
  ) {
    this.proc = AgentProcess.start({
      ns,
      compiled: true,
      backend,
      kubeconfig: files.kubeconfig,
      plan: files.plan,
      config: files.config,
      nodeName: node,
      healthAddr: '0.0.0.0:10256',
      metricsAddr: '127.0.0.1:10249',
      maxLogLines: 5000,
      onLine: (line) => {
        const sync = parseSync(line);
        if (sync) this.syncs.push(sync);
      },
    });
  }

  static start(node: string, ns: string, backend: AgentBackend, files: AgentFiles): ClusterAgent {
    return new ClusterAgent(node, ns, backend, files);
  }

  get child(): NetnsProcess {
    return this.proc.child;
  }

  /** stderr lines, the last 4000-5000. */
  get logs(): string[] {
    return this.proc.logs;
  }

  get pid(): number {
    return this.proc.pid;
  }

  running(): boolean {
    return this.proc.running();
  }

  tail(n = 15): string {
    return `${this.node} (${this.backend}) log:\n${this.logs.slice(-n).join('\n')}`;
  }

  /** Waits for more than `after` syncs (default: the first one, i.e. ready); fails if the agent exits first. */
  async waitSynced(after = 0, timeoutMs = 60_000): Promise<void> {
    await this.proc.waitFor(`${this.node}: sync #${after + 1}`, () => this.syncs.length > after, timeoutMs, 25);
  }

  /** SIGTERM, as the kubelet does; resolves with how it ended (SIGKILL after `graceMs`). */
  stop(graceMs = AGENT_GRACE_MS): Promise<AgentExit> {
    return this.proc.stop(graceMs);
  }

  /**
   * The agent's /metrics, fetched from inside its node. A scrape reads the kernel's counters
   * (nft, iptables-save): 5 s was too short at load ~15 with 20 agents (aac0681's whole bench
   * lost its cluster part to one), so the bound is generous.
   */
  async metrics(): Promise<string> {
    const r = await nsExec(this.ns, ['curl', '-sf', '--max-time', '60', 'http://127.0.0.1:10249/metrics']);
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
