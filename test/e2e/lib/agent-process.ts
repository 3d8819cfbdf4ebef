// The real `svcplane agent` as a child process inside a test's namespace, for every e2e and
// process test: one place that builds its command line, keeps its JSON log (agent-log.ts),
// waits on what can be observed (a log line, an HTTP endpoint answering, the kernel holding
// a rule), and ends it (SIGTERM, SIGKILL after a generous bound) in its owner's after hook,
// registered at spawn, so a failed test or an already deleted namespace leaves nothing
// running (processes.ts).

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectStderrLines } from './agent-log.js';
import { nsExec, spawnInNetns, stopProcess, type NetnsProcess } from './netns.js';
import type { Owner } from './processes.js';
import { until } from './wait.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** The CLI run from source through tsx. */
export const CLI = join(ROOT, 'src', 'cli', 'main.ts');
/** The compiled CLI (`npm run build`): what a DaemonSet pod runs. */
export const COMPILED_CLI = join(ROOT, 'lib', 'cli', 'main.js');

/**
 * How long a SIGTERMed agent may take before SIGKILL: the kubelet's default
 * terminationGracePeriodSeconds. The agent finishes the sync in flight first, and on a
 * loaded machine one took 13 s.
 */
export const AGENT_GRACE_MS = 30_000;
/** The first sync: tsx's start alone takes many seconds on a loaded 2-vCPU machine. */
export const AGENT_START_MS = 60_000;

/** The agent's flags, by name (the command line is built from them in one place). */
export interface AgentFlags {
  readonly backend: string;
  readonly plan: string;
  readonly config?: string;
  readonly kubeconfig?: string;
  readonly endpointsFile?: string;
  readonly mode?: 'coexist' | 'replace';
  /** Default node1. */
  readonly nodeName?: string;
  readonly nodeIps?: readonly string[];
  /** Default 127.0.0.1:10256 (in the test's own namespace); null: no flag, the agent's default. */
  readonly healthAddr?: string | null;
  /** Default 127.0.0.1:10249; null: no flag, the agent's default. */
  readonly metricsAddr?: string | null;
  /** `--log-level`: a test that waits on a debug line (a file reload, a conntrack cleanup) asks for it. */
  readonly logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
}

export interface AgentStart extends AgentFlags {
  /** The namespace it runs in (its "node"). */
  readonly ns: string;
  /** Ends it in the owner's after hook: a test's `t`, or `suiteOwner()` for a describe. */
  readonly owner?: Owner;
  /** Run lib/cli/main.js with node instead of src/ through tsx. */
  readonly compiled?: boolean;
  /** Keep at most this many log lines (the oldest fifth goes): long cluster runs. */
  readonly maxLogLines?: number;
  /** Called with every log line as it comes (e.g. to keep parsed records beyond maxLogLines). */
  readonly onLine?: (line: string) => void;
}

/** How an agent process ended: an exit code, or the signal that killed it. */
export interface AgentExit {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
}

export function agentArgv(f: AgentFlags & { readonly compiled?: boolean }): string[] {
  return [
    ...(f.compiled ? [process.execPath, COMPILED_CLI] : [process.execPath, '--import', 'tsx', CLI]),
    'agent',
    '--backend', f.backend,
    ...(f.mode ? ['--mode', f.mode] : []),
    ...(f.kubeconfig ? ['--kubeconfig', f.kubeconfig] : []),
    '--plan', f.plan,
    ...(f.config ? ['--config', f.config] : []),
    ...(f.endpointsFile ? ['--endpoints-file', f.endpointsFile] : []),
    '--node-name', f.nodeName ?? 'node1',
    ...(f.nodeIps ?? []).flatMap((ip) => ['--node-ip', ip]),
    ...(f.healthAddr === null ? [] : ['--health-addr', f.healthAddr ?? '127.0.0.1:10256']),
    ...(f.metricsAddr === null ? [] : ['--metrics-addr', f.metricsAddr ?? '127.0.0.1:10249']),
    ...(f.logLevel ? ['--log-level', f.logLevel] : []),
  ];
}

const SYNCED = '"msg":"synced"';

export class AgentProcess {
  /** stderr lines (pino JSON) so far. */
  readonly logs: string[] = [];
  /** Resolves when the process has ended. */
  readonly exited: Promise<AgentExit>;
  private readonly flushLog: () => void;

  private constructor(
    readonly ns: string,
    readonly child: NetnsProcess,
    opts: Pick<AgentStart, 'maxLogLines' | 'onLine'>,
  ) {
    this.flushLog = collectStderrLines(child, this.logs, opts.maxLogLines, opts.onLine).flush;
    child.stdout.resume();
    this.exited = child.then((r) => {
      this.flushLog();
      return { exitCode: r.exitCode, signal: r.signal };
    });
  }

  static start(opts: AgentStart): AgentProcess {
    const child = spawnInNetns(opts.ns, agentArgv(opts), { what: `svcplane agent (${opts.backend}) in ${opts.ns}` });
    const agent = new AgentProcess(opts.ns, child, opts);
    // Registered now, at spawn: runs when the owner ends, also when its test failed.
    opts.owner?.after(async () => {
      await agent.stop();
    });
    return agent;
  }

  get pid(): number {
    return this.child.pid!;
  }

  running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last `n` log lines, for error messages. */
  tail(n = 20): string {
    return `agent log (last ${n} lines):\n${this.logs.slice(-n).join('\n')}`;
  }

  /** How many log lines contain `pattern` (a string) or match it (a RegExp). */
  count(pattern: string | RegExp): number {
    return this.logs.filter((l) => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l))).length;
  }

  syncedCount(): number {
    return this.count(SYNCED);
  }

  /**
   * Waits until more than `after` log lines contain / match `pattern`. Fails at once if the
   * agent exits first, and after `timeoutMs` otherwise, quoting the log.
   */
  async waitLog(what: string, pattern: string | RegExp, after = 0, timeoutMs = AGENT_START_MS): Promise<void> {
    await this.waitFor(what, () => this.count(pattern) > after, timeoutMs);
  }

  /** Waits for more than `after` "synced" lines (default: the first sync). */
  waitSynced(after = 0, what = after === 0 ? 'the first sync' : `sync #${after + 1}`, timeoutMs = AGENT_START_MS): Promise<void> {
    return this.waitLog(what, SYNCED, after, timeoutMs);
  }

  /**
   * Waits for the sync that includes an endpoint-file change written after log line `from`
   * (take `agent.logs.length` before writing): a "synced" line after it that took at least
   * one changed endpoint (`endpointsChanged`, counted when the sync starts from what the
   * file reload noted). Any "synced" after the write is not enough: a sync already running
   * (a periodic one) when the file was read logs one too, without the change.
   */
  async waitFileSync(from: number, what: string, timeoutMs = AGENT_START_MS): Promise<void> {
    const record = (line: string) => {
      try {
        return JSON.parse(line) as { msg?: string; endpointsChanged?: number };
      } catch {
        return {}; // not a log record
      }
    };
    await this.waitFor(what, () => this.logs.slice(from).map(record).some((r) => r.msg === 'synced' && (r.endpointsChanged ?? 0) > 0), timeoutMs);
  }

  /**
   * Waits until `check` holds (e.g. the kernel holds a rule, a connection goes through);
   * fails at once if the agent exits, after `timeoutMs` otherwise, quoting the log.
   */
  async waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = AGENT_START_MS, everyMs = 50): Promise<void> {
    let gone = false;
    await until(what, async () => (gone = !this.running()) || (await check()), timeoutMs, everyMs).catch((e: Error) => {
      throw new Error(`${e.message}\n${this.tail()}`);
    });
    if (gone && !(await check())) {
      const exit = await this.exited;
      throw new Error(`agent exited (code ${exit.exitCode}, signal ${exit.signal}) while waiting for ${what}\n${this.tail()}`);
    }
  }

  /** GETs http://127.0.0.1:PORT/PATH from inside the agent's namespace (curl). */
  async http(path: string, port = 10256): Promise<{ code: number; body: string }> {
    const r = await nsExec(this.ns, ['curl', '-s', '-m', '5', '-w', '\n%{http_code}', `http://127.0.0.1:${port}${path}`], { reject: false });
    const i = r.stdout.lastIndexOf('\n');
    return { code: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
  }

  /** Waits until PATH on PORT answers with `code` (e.g. /healthz, /livez, /metrics). */
  waitHttp(path: string, port = 10256, code = 200, timeoutMs = AGENT_START_MS): Promise<void> {
    return this.waitFor(`${path} on port ${port} answering ${code}`, async () => (await this.http(path, port)).code === code, timeoutMs, 200);
  }

  /**
   * Sends `signal` (process.kill, not child.kill: execa's kill would follow a SIGTERM with a
   * SIGKILL after 5 s, shorter than a sync in flight on a loaded machine). A process already
   * gone is not an error.
   */
  signal(signal: NodeJS.Signals): void {
    if (!this.running()) return;
    try {
      process.kill(this.pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** SIGTERM, as the kubelet does, then SIGKILL after `graceMs`; resolves with how it ended. */
  async stop(graceMs = AGENT_GRACE_MS): Promise<AgentExit> {
    await stopProcess(this.child, graceMs);
    return this.exited;
  }

  /** Ends by itself (a start-up error, a SIGTERM sent earlier): resolves with how, or throws after `timeoutMs`. */
  async waitExit(timeoutMs = AGENT_START_MS * 2): Promise<AgentExit> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`agent still running after ${timeoutMs} ms\n${this.tail()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The whole stderr so far, as one string (after the process ended: all of it). */
  stderr(): string {
    return this.logs.join('\n');
  }
}
