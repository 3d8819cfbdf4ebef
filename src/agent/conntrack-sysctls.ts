// The node-wide conntrack settings kube-proxy makes at start (conntrack.* in its
// configuration), made the same way:
//
// - nf_conntrack_max = max(maxPerCore x CPUs, min) when maxPerCore > 0, and only
//   ever raised; then the conntrack module's hashsize is raised to a quarter of it
//   when smaller (the kernel takes that write only from the initial network namespace);
// - nf_conntrack_tcp_timeout_established, _close_wait, nf_conntrack_udp_timeout,
//   _udp_timeout_stream set when configured (> 0) and different; tcpBeLiberal sets
//   nf_conntrack_tcp_be_liberal to 1.
//
// kube-proxy exits when one of these writes fails (except a read-only /sys). The agent
// keeps going: a node whose sysctls it cannot write still needs its Services. Each
// write it cannot make is one log line naming the sysctl, and one entry in the
// returned list. The file I/O is behind SysctlIO so the decisions are tested without
// a kernel.

import { readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import type { ConntrackConfig } from '../model/config.js';

export const CONNTRACK_MAX = '/proc/sys/net/netfilter/nf_conntrack_max';
export const CONNTRACK_HASHSIZE = '/sys/module/nf_conntrack/parameters/hashsize';

const TIMEOUTS = [
  ['tcpEstablishedTimeoutSeconds', '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established'],
  ['tcpCloseWaitTimeoutSeconds', '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_close_wait'],
  ['udpTimeoutSeconds', '/proc/sys/net/netfilter/nf_conntrack_udp_timeout'],
  ['udpStreamTimeoutSeconds', '/proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream'],
] as const;
export const CONNTRACK_TCP_BE_LIBERAL = '/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal';

/** Reading and writing one integer setting (a /proc/sys or /sys path). */
export interface SysctlIO {
  read(path: string): Promise<number>;
  write(path: string, value: number): Promise<void>;
  /** CPUs on the node (all of them: the limit is node-wide, not this process's share). */
  cpuCount(): number;
}

export const realSysctlIO: SysctlIO = {
  async read(path) {
    const n = Number((await readFile(path, 'utf8')).trim());
    if (!Number.isSafeInteger(n)) throw new Error(`${path} does not hold an integer`);
    return n;
  },
  write: (path, value) => writeFile(path, String(value)),
  cpuCount: () => cpus().length,
};

/** A setting the agent wanted and could not make. */
export interface ConntrackSysctlProblem {
  readonly path: string;
  readonly value: number;
  readonly error: string;
}

export interface ConntrackSysctlResult {
  /** The settings written, path -> value. */
  readonly written: ReadonlyArray<{ readonly path: string; readonly value: number }>;
  readonly problems: readonly ConntrackSysctlProblem[];
}

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** kube-proxy's getConntrackMax: 0 means "leave nf_conntrack_max alone". */
export function conntrackMax(c: ConntrackConfig, cpuCount: number): number {
  if (!c.maxPerCore || c.maxPerCore <= 0) return 0;
  return Math.max(c.maxPerCore * cpuCount, c.min ?? 0);
}

export async function applyConntrackSysctls(c: ConntrackConfig | undefined, io: SysctlIO, log?: Log): Promise<ConntrackSysctlResult> {
  const written: Array<{ path: string; value: number }> = [];
  const problems: ConntrackSysctlProblem[] = [];
  const failed = (path: string, value: number, e: unknown) => {
    const p = { path, value, error: e instanceof Error ? e.message : String(e) };
    problems.push(p);
    log?.warn({ path, value, err: e }, `cannot set ${path}; conntrack keeps the kernel's value`);
  };
  const write = async (path: string, value: number) => {
    try {
      await io.write(path, value);
      written.push({ path, value });
      log?.info({ path, value }, 'conntrack setting written');
    } catch (e) {
      failed(path, value, e);
    }
  };
  /** Reads, or undefined when the read fails (then the write is tried and reports). */
  const current = (path: string) => io.read(path).catch(() => undefined);
  if (!c) return { written, problems };

  const max = conntrackMax(c, io.cpuCount());
  if (max > 0) {
    const cur = await current(CONNTRACK_MAX);
    if (cur === undefined || cur < max) await write(CONNTRACK_MAX, max);
    const hashsize = await current(CONNTRACK_HASHSIZE);
    const wanted = Math.floor(max / 4);
    if (hashsize === undefined) failed(CONNTRACK_HASHSIZE, wanted, new Error('cannot read the conntrack hashsize'));
    else if (hashsize < wanted) await write(CONNTRACK_HASHSIZE, wanted);
  }
  const settings: Array<[string, number]> = TIMEOUTS.map(([key, path]) => [path, c[key] ?? 0]);
  if (c.tcpBeLiberal) settings.push([CONNTRACK_TCP_BE_LIBERAL, 1]);
  for (const [path, value] of settings) {
    if (value <= 0) continue;
    if ((await current(path)) !== value) await write(path, value);
  }
  return { written, problems };
}
