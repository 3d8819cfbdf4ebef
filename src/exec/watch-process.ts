// A long-lived tool process we only listen to, a line of stdout at a time (today
// `xtables-monitor -e`, the ruleset watcher of the iptables resync): the third shape of
// the exec layer beside Exec.run (a tool run to its end) and session-process.ts (a tool
// we write to). The watcher's logic sees only this interface, so a unit test drives it
// with a scripted fake and no kernel.

import { readdir, readFile, readlink } from 'node:fs/promises';
import type { Command } from './exec.js';
import { LineSplitter } from './lines.js';
import { exitOnce, howItEnded } from './exit-once.js';

export interface WatchProcess {
  /** The process id, when there is a real process (tests kill it from outside). */
  readonly pid?: number;
  /**
   * Resolves true once the tool listens (for a netlink watcher: its socket has joined a
   * multicast group, so every event from then on reaches it); false when it died first
   * or did not within the bound.
   */
  readonly ready: Promise<boolean>;
  /** Every line the tool prints on stdout, in order. */
  onLine(listener: (line: string) => void): void;
  /** Called once when the process is gone (exited, killed, or never started), with why. */
  onExit(listener: (why: string) => void): void;
  /** Kills the process (SIGKILL). */
  kill(): void;
}

export interface WatchOptions {
  /** Ready when the process holds a socket of this netlink protocol joined to a group (12: netfilter). */
  readonly netlinkProtocol: number;
  /** How long to wait for that (default 10 s). */
  readonly readyTimeoutMs?: number;
}

/** Starts `command` (file, args, netns) with stdout read a line at a time. */
export type SpawnWatch = (command: Pick<Command, 'file' | 'args' | 'netns'>, options: WatchOptions) => WatchProcess;

export const DEFAULT_WATCH_READY_MS = 10_000;

/**
 * The real one, through execa (loaded on first use).
 * - `setpriv --pdeathsig KILL` in front: the kernel kills the watcher when the process that
 *   started it dies, even by SIGKILL (nothing of ours could clean up then); `ip netns
 *   exec`, setpriv and the tool exec in place, so the tool keeps that setting.
 * - The child and its pipes are unref'd: a watcher must not keep a stopping agent alive.
 */
export const spawnSystemWatch: SpawnWatch = (command, options) => {
  const lineListeners: ((line: string) => void)[] = [];
  const { exited, onExit, gone } = exitOnce();
  let kill = () => {};
  let pid: number | undefined;
  const started = (async () => {
    const { execa } = await import('execa');
    const argv = ['setpriv', '--pdeathsig', 'KILL', command.file, ...command.args];
    const [file, args] = command.netns ? ['ip', ['netns', 'exec', command.netns, ...argv]] : [argv[0]!, argv.slice(1)];
    const child = execa(file, args, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false });
    pid = child.pid;
    kill = () => void child.kill('SIGKILL');
    if (gone() !== undefined) kill();
    const lines = new LineSplitter((l) => {
      for (const f of lineListeners) f(l);
    });
    let stderr = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (c: string) => lines.push(c));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => (stderr = (stderr + c).slice(-500)));
    void child.then((r) => {
      lines.end();
      const how = howItEnded(r);
      exited(stderr.trim() ? `${how}: ${stderr.trim()}` : how);
    });
    for (const h of [child, child.stdout, child.stderr] as { unref?: () => void }[]) h.unref?.();
    return pid;
  })();
  const ready = started.then(
    (p) => (p === undefined ? false : netlinkJoined(p, options.netlinkProtocol, options.readyTimeoutMs ?? DEFAULT_WATCH_READY_MS, () => gone() !== undefined)),
    (e: Error) => {
      exited(`not started: ${e.message}`);
      return false;
    },
  );
  return {
    get pid() {
      return pid;
    },
    ready,
    onLine: (l) => void lineListeners.push(l),
    onExit,
    kill: () => {
      exited('killed');
      kill();
    },
  };
};

/**
 * Polls /proc until process `pid` holds a socket of netlink `protocol` with a multicast
 * group joined (/proc/PID/net/netlink: the namespace's netlink sockets, matched to the
 * process's own by inode). The subscription is what makes every later event reach it; a
 * tool prints nothing to say it has subscribed.
 */
async function netlinkJoined(pid: number, protocol: number, timeoutMs: number, dead: () => boolean): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (let wait = 5; !dead() && Date.now() < until; wait = Math.min(wait * 2, 100)) {
    try {
      const inodes = new Set<string>();
      for (const fd of await readdir(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
        if (m) inodes.add(m[1]!);
      }
      // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
      for (const line of (await readFile(`/proc/${pid}/net/netlink`, 'utf8')).split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length >= 10 && Number(f[1]) === protocol && parseInt(f[3]!, 16) !== 0 && inodes.has(f[9]!)) return true;
      }
    } catch {
      // Not there yet (or gone: `dead` says so).
    }
    await new Promise((r) => setTimeout(r, wait));
  }
  return false;
}
