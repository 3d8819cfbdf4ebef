// Network namespaces for the e2e test bed: create and delete them under a per-run prefix,
// run commands and long-running processes inside them, set their sysctls, and make sure
// none outlives the test process (cleanup registry + a sweep of earlier crashed runs).
//
// Every namespace we create is named `svp-<pid>-...`: the pid says which run owns it, so
// a later run can delete the leftovers of a run whose process is gone without touching
// the namespaces of a run still in progress (several test files may run at once).

import { execa, execaSync, type ResultPromise } from 'execa';
import { registerCleanup } from './cleanup.js';
import { own, type Owner } from './processes.js';

/** Prefix shared by every namespace any run of the test bed creates. */
export const NETNS_ROOT_PREFIX = 'svp-';
/** Prefix of this run's namespaces. */
export const RUN_PREFIX = `${NETNS_ROOT_PREFIX}${process.pid}-`;

const OWNED_BY_RUN = /^svp-(\d+)-/;
const NAME_OK = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A process started inside a namespace with spawnInNetns. */
export type NetnsProcess = ResultPromise<{
  stdin: 'pipe';
  stdout: 'pipe';
  stderr: 'pipe';
  buffer: false;
  reject: false;
}>;

/** Namespaces this run created and has not deleted yet, with the processes it started in each. */
const live = new Map<string, Set<NetnsProcess>>();
let unregisterCleanup: (() => void) | null = null;
let swept = false;

export interface ExecOptions {
  /** Written to the command's stdin. */
  readonly input?: string;
  /** Throw when the command fails (default true). */
  readonly reject?: boolean;
  /** Kill the command after this long (default 30 s). */
  readonly timeoutMs?: number;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** Runs `ip <args>` (in the current namespace; use `-n NS` in args to target another). */
export async function ip(args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return run('ip', args, options);
}

/** Runs `argv` inside namespace `ns` (`ip netns exec`). */
export async function nsExec(ns: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  if (argv.length === 0) throw new Error('nsExec: empty command');
  return run('ip', ['netns', 'exec', ns, ...argv], options);
}

async function run(file: string, args: readonly string[], options: ExecOptions): Promise<ExecResult> {
  const result = await execa(file, [...args], {
    input: options.input,
    reject: false,
    timeout: options.timeoutMs ?? 30_000,
    stripFinalNewline: false,
  });
  const exitCode = result.exitCode ?? -1;
  if ((options.reject ?? true) && (result.failed || exitCode !== 0)) {
    const why = result.timedOut ? 'timed out' : result.signal ? `killed by ${result.signal}` : `exit code ${exitCode}`;
    throw new Error(`command failed (${why}): ${[file, ...args].join(' ')}\n${String(result.stderr).trim()}`);
  }
  return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode };
}

/**
 * Creates namespace `name` (which must start with RUN_PREFIX), brings its loopback up
 * (local delivery to the namespace's own addresses goes through `lo`), and registers it
 * for deletion at exit. The first call sweeps namespaces left by crashed earlier runs.
 */
export async function createNetns(name: string): Promise<string> {
  if (!name.startsWith(RUN_PREFIX) || !NAME_OK.test(name)) {
    throw new Error(`createNetns: '${name}' must start with '${RUN_PREFIX}' and use only [A-Za-z0-9_.-]`);
  }
  if (!swept) {
    swept = true;
    await sweepStaleNetns();
  }
  ensureExitCleanup();
  await ip(['netns', 'add', name]);
  live.set(name, new Set());
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

/**
 * Deletes a namespace of this run: stops the processes started in it (SIGTERM, then
 * SIGKILL), kills any other process still inside, then removes it. A namespace with a
 * live process would otherwise survive `ip netns del` with its interfaces.
 */
export async function deleteNetns(name: string): Promise<void> {
  const procs = live.get(name);
  if (procs) await Promise.all([...procs].map((p) => stopProcess(p)));
  await killNetnsPids(name);
  const res = await ip(['netns', 'del', name], { reject: false });
  live.delete(name);
  if (res.exitCode !== 0 && (await listNetns()).includes(name)) {
    throw new Error(`could not delete namespace ${name}: ${res.stderr.trim()}`);
  }
}

/** Namespaces of this run that are still alive (for leak checks). */
export function liveNetns(): string[] {
  return [...live.keys()];
}

/** Every namespace in /run/netns (`ip netns list`), names only. */
export async function listNetns(): Promise<string[]> {
  const { stdout } = await ip(['netns', 'list']);
  return parseNetnsList(stdout);
}

function parseNetnsList(stdout: string): string[] {
  // Lines look like "name (id: 3)" or just "name".
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

/**
 * Deletes namespaces named `svp-<pid>-...` whose owning process no longer exists:
 * leftovers of runs that were SIGKILLed or crashed before cleaning up. Returns their names.
 */
export async function sweepStaleNetns(): Promise<string[]> {
  const stale = (await listNetns()).filter((name) => {
    const m = OWNED_BY_RUN.exec(name);
    if (!m) return false;
    const pid = Number(m[1]);
    return pid !== process.pid && !processAlive(pid);
  });
  for (const name of stale) {
    await killNetnsPids(name);
    await ip(['netns', 'del', name], { reject: false });
  }
  if (stale.length > 0) process.stderr.write(`e2e: swept ${stale.length} stale namespace(s): ${stale.join(', ')}\n`);
  return stale;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but is not ours to signal; count it as alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function killNetnsPids(name: string): Promise<void> {
  const res = await ip(['netns', 'pids', name], { reject: false });
  for (const pid of res.stdout.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Waits until each named interface in `ns` has carrier and IPv6 is configured on it (it has
 * its fe80:: address). Until then IPv6 is not usable on it: the kernel configures IPv6 on a
 * link (multicast route ff00::/8, link-local address) only when it processes the carrier-up
 * event, which the kernel's link watcher may defer by up to a second (always for a bridge).
 * Meanwhile incoming multicast neighbour solicitations are dropped ("no route"), so the
 * first IPv6 connection over a fresh link loses its first packet and takes 1 s (a
 * retransmission). Measured on this kernel: ~50% of fresh topologies hit it without this wait.
 */
export async function waitLinksReady(ns: string, ifnames: readonly string[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { stdout } = await ip(['-n', ns, '-j', 'addr', 'show']);
    const links = JSON.parse(stdout) as {
      ifname: string;
      flags?: string[];
      addr_info?: { family: string; scope: string; tentative?: boolean }[];
    }[];
    const notReady = ifnames.filter((name) => {
      const link = links.find((l) => l.ifname === name);
      if (!link) return true;
      const carrier = link.flags?.includes('LOWER_UP') ?? false;
      const ll = link.addr_info?.some((a) => a.family === 'inet6' && a.scope === 'link' && !a.tentative) ?? false;
      return !carrier || !ll;
    });
    if (notReady.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`links not ready in ${ns} after ${timeoutMs} ms (no carrier or no IPv6 link-local): ${notReady.join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Writes sysctls inside a namespace in one `sysctl -w` call; fails loudly on unknown keys
 * unless `ignoreUnknown` (then keys this kernel lacks in a namespace are skipped).
 */
export async function setSysctls(
  ns: string,
  values: Readonly<Record<string, string | number>>,
  options: { readonly ignoreUnknown?: boolean } = {},
): Promise<void> {
  const pairs = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  if (pairs.length === 0) return;
  await nsExec(ns, ['sysctl', '-q', ...(options.ignoreUnknown ? ['-e'] : []), '-w', ...pairs]);
}

/** Reads one sysctl inside a namespace. */
export async function getSysctl(ns: string, key: string): Promise<string> {
  const { stdout } = await nsExec(ns, ['sysctl', '-n', key]);
  return stdout.trim();
}

export interface SpawnOptions {
  /** Stops the process in its after hook (a test's `t`, or `suiteOwner()`); see processes.ts. */
  readonly owner?: Owner;
  /** What it is, for the leftover report (default: the command). */
  readonly what?: string;
}

/**
 * Starts a long-running process in namespace `ns` with pipes on stdin/stdout/stderr.
 * It is registered with the process registry (processes.ts) until it exits: its owner, the
 * end of the test file, deleting the namespace or process exit stops it, whichever comes
 * first. Our fixtures also exit when their stdin closes, so they die with the test process
 * even on SIGKILL.
 */
export function spawnInNetns(ns: string, argv: readonly string[], options: SpawnOptions = {}): NetnsProcess {
  const procs = live.get(ns);
  if (!procs) throw new Error(`spawnInNetns: namespace ${ns} is not one of this run's live namespaces`);
  const child = execa('ip', ['netns', 'exec', ns, ...argv], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    // Not a test file: a child importing the test bed must not become a node:test harness.
    env: { NODE_TEST_CONTEXT: undefined },
  });
  procs.add(child);
  const release = own(
    {
      what: options.what ?? `${argv.slice(0, 4).join(' ')} in ${ns}`,
      stop: () => stopProcess(child, 5000),
      killSync: () => void child.kill('SIGKILL'),
    },
    options.owner,
  );
  void child.then(() => {
    procs.delete(child);
    release();
  });
  return child;
}

/**
 * Stops a process: closes stdin, SIGTERM, then SIGKILL after `graceMs`. Resolves when it is
 * gone. The SIGTERM goes through process.kill: execa's own kill would add a SIGKILL after
 * 5 s whatever `graceMs` says. Works by pid, so also when its namespace is already deleted.
 */
export async function stopProcess(child: NetnsProcess, graceMs = 1000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin.end();
  try {
    process.kill(child.pid!, 'SIGTERM');
  } catch {
    // exited meanwhile
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await child;
  } finally {
    clearTimeout(timer);
  }
}

/** Synchronous teardown of everything this run still owns: the exit path. */
function cleanupSync(): void {
  for (const [name, procs] of live) {
    for (const p of procs) {
      try {
        p.kill('SIGKILL');
      } catch {
        // gone
      }
    }
    const pids = execaSync('ip', ['netns', 'pids', name], { reject: false });
    for (const pid of String(pids.stdout ?? '').split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    execaSync('ip', ['netns', 'del', name], { reject: false });
  }
  live.clear();
}

function ensureExitCleanup(): void {
  if (unregisterCleanup) return;
  unregisterCleanup = registerCleanup('network namespaces', cleanupSync);
}
