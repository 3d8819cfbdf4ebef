// The resync's event source (issue 16 §3): a long-lived `xtables-monitor -e` in the
// syncer's namespace, so that a resync after which no other process changed the
// ruleset runs no tool at all against nat and filter. iptables-nft's tables are nft
// tables: every tool's change shows there, each transaction with the pid that committed
// it (ruleset-events.ts). Why xtables-monitor and not `nft monitor` (README.md, "The
// resync's event source"): nft 1.0.6's monitor fetches the whole ruleset into its cache
// at start (at 10k Services: > 60 s and 168 MB), xtables-monitor nothing (2 MB).
//
// What it cannot vouch for, and says so (`take()`): the time before it listened and
// after it died. It dies when it falls behind (a transaction of tens of thousands of
// events, as our own first sync at 10k, overflows its socket: "No buffer space
// available"). The syncer then runs the cheap check (or reads back) once with a new
// monitor listening. Not used with iptables-legacy (x_tables, which nft does not see).

import { spawnSystemWatch, type SpawnWatch, type WatchProcess } from '../../exec/watch-process.js';
import { RulesetEvents } from './ruleset-events.js';

/** NETLINK_NETFILTER: the monitor is listening once its socket of that protocol joined a group. */
const NETLINK_NETFILTER = 12;

export class RulesetWatch {
  private proc: WatchProcess | undefined;
  private starting: Promise<boolean> | undefined;
  private readonly events = new RulesetEvents();
  /** Why the watch cannot vouch for the time since the last take(); undefined when it can. */
  private gap: string | undefined = 'no monitor yet';
  private closed = false;

  constructor(
    private readonly netns?: string,
    private readonly spawn: SpawnWatch = spawnSystemWatch,
  ) {}

  /** A process the exec layer started for us: its commits are ours. */
  ownProcess(pid: number): void {
    this.events.ownProcess(pid);
  }

  /** Whether a monitor is listening now: starts one (and waits until it listens) when none is. */
  start(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.proc) return Promise.resolve(true);
    this.starting ??= this.spawnOne().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async spawnOne(): Promise<boolean> {
    // `stdbuf -oL`: xtables-monitor leaves stdout block-buffered, and a pipe would hold its lines.
    const p = this.spawn({ file: 'stdbuf', args: ['-oL', 'xtables-monitor', '-e'], ...(this.netns ? { netns: this.netns } : {}) }, { netlinkProtocol: NETLINK_NETFILTER });
    let exited: string | undefined;
    p.onExit((why) => {
      exited = why;
      if (this.proc !== p) return;
      this.proc = undefined;
      this.gap ??= `the monitor ${why}`;
    });
    // A new monitor: no generation half-read from the last one.
    this.events.newStream();
    p.onLine((l) => this.events.line(l));
    if (!(await p.ready) || exited !== undefined || this.closed) {
      p.kill();
      this.gap ??= `the monitor did not start listening${exited ? ` (${exited})` : ''}`;
      return false;
    }
    this.proc = p;
    return true;
  }

  /** Foreign changes seen since the last take() (what a test waits for before a resync). */
  get foreignSeen(): number {
    return this.events.seen;
  }

  /** The process whose commit the monitor printed last (commits come in order: a test's marker says everything before it is seen). */
  get lastCommitPid(): number | undefined {
    return this.events.lastPid;
  }

  /** Is a monitor listening now (started, not dead)? */
  get listening(): boolean {
    return this.proc !== undefined;
  }

  /**
   * What may have changed since the last take(): undefined when a monitor listened all
   * along and saw no foreign change that may touch us; else why not. Starts a new period
   * (lines still on their way count in the next one: a change committed a moment before a
   * resync may be seen only by the next).
   */
  take(): string[] | undefined {
    const foreign = this.events.take();
    const gap = this.gap ?? (this.proc ? undefined : 'no monitor listening');
    // The next period starts now when a monitor listens; otherwise it has a gap too.
    this.gap = this.proc ? undefined : gap;
    if (gap !== undefined) return [gap, ...(foreign ?? [])];
    return foreign;
  }

  /** Stops the monitor; the watch stays stopped. */
  close(): void {
    this.closed = true;
    this.gap ??= 'the watch was closed';
    const p = this.proc;
    this.proc = undefined;
    p?.kill();
  }
}
