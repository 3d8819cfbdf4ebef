// When to sync, and with which Services: kube-proxy's minSyncPeriod/syncPeriod rules,
// with no I/O of its own (the clock and timers are injected, the sync is a callback),
// so tests drive it with a fake clock.
//
// - A change schedules a sync no sooner than minSyncPeriod after the start of the
//   last one; changes that arrive meanwhile (or during a sync) coalesce into one
//   sync with the union of their Service keys.
// - A full sync (read back and compare everything) at start, every syncPeriod
//   after the last full one, on request (node or config change), and after a failure.
// - A failed sync is retried as a full sync after an exponential backoff (changes
//   do not cut the backoff short: a broken kernel is not hammered).
// - A render error changed nothing in the kernel; retrying the same input would
//   fail the same way, so nothing is retried: the keys wait for the next change or
//   the periodic sync, which then also covers them. A full sync carries no keys (it
//   renders and compares everything, whatever changed): after its render error the
//   next change brings a full sync.
// - Keys that arrive while a full sync is owed and not yet started are not kept: that
//   sync reads the input after them. At the first sync in API mode they were every
//   Service's key, made by the stores, held through the whole first sync (44k
//   strings and a set of them, ~3 MB at 44k Services, at the agent's peak).
// - An incremental sync takes at most maxServicesPerSync Services, oldest first; the
//   rest are held for the next sync, which follows at once (they have waited their
//   minSyncPeriod already). A burst of 1000 changes renders and diffs in batches
//   instead of all at once, which set the agent's memory peak (README.md "Memory").

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface SyncRequest {
  /** Read everything back and compare; `changed` is then informational. */
  readonly full: boolean;
  /** namespace/name of the Services that changed since the last successful sync. */
  readonly changed: ReadonlySet<string>;
  /**
   * Services that changed too, held for the next sync (a batch): this sync must leave
   * their rules as the last sync made them. Empty for a full sync.
   */
  readonly held: ReadonlySet<string>;
}

/** ok: the kernel matches; failed: apply failed (retry); render-error: nothing was sent. */
export type SyncOutcome = 'ok' | 'failed' | 'render-error';

export interface SchedulerOptions {
  readonly minSyncPeriodMs: number;
  readonly syncPeriodMs: number;
  /** First retry delay after a failure; doubles per consecutive failure up to retryMaxMs. */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /** At most this many Services in an incremental sync (default: no limit). */
  readonly maxServicesPerSync?: number;
  readonly clock?: Clock;
  readonly sync: (req: SyncRequest) => Promise<SyncOutcome>;
  /** Told of every sync's end (for health and metrics). */
  readonly onSynced?: (req: SyncRequest, outcome: SyncOutcome, startedAt: number, endedAt: number) => void;
}

export class SyncScheduler {
  private readonly clock: Clock;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private pending = new Set<string>();
  /** Keys left over by the last incremental sync's batch: they go next, at once. */
  private held = new Set<string>();
  private readonly maxServicesPerSync: number;
  /** Keys of a sync that did not render: they go along with the next sync, but do not cause one. */
  private deferred = new Set<string>();
  private fullWanted = true;
  /** A full sync did not render: the next change brings a full sync (its keys were everything). */
  private fullOnNextChange = false;
  private running: Promise<void> | undefined;
  private timer: unknown;
  private timerDue = Infinity;
  private lastStart = -Infinity;
  private lastFullStart = -Infinity;
  private lastFullEnd = -Infinity;
  private retryAt = -Infinity;
  private failures = 0;
  private started = false;
  private stopped = false;
  /** Time the oldest not-yet-synced change was queued (health: a change waiting too long). */
  queuedSince: number | undefined;
  /** Number of syncs run, for tests and logs. */
  syncCount = 0;

  constructor(private readonly opts: SchedulerOptions) {
    this.clock = opts.clock ?? realClock;
    this.retryInitialMs = opts.retryInitialMs ?? Math.max(1000, opts.minSyncPeriodMs);
    this.retryMaxMs = opts.retryMaxMs ?? Math.max(this.retryInitialMs, opts.syncPeriodMs);
    this.maxServicesPerSync = Math.max(1, opts.maxServicesPerSync ?? Infinity);
  }

  /** Starts with a full sync at once. */
  start(): void {
    this.started = true;
    this.fullWanted = true;
    this.queuedSince ??= this.clock.now();
    this.reschedule();
  }

  /** Services changed. An empty set means every Service (a node change): a full sync. */
  notify(keys: Iterable<string>): void {
    let any = false;
    // Before start the first sync is full: the same as a full sync owed.
    const covered = this.fullWanted || !this.started;
    for (const k of keys) {
      if (!covered) this.pending.add(k);
      any = true;
    }
    if (!any || (this.fullOnNextChange && !covered)) {
      this.fullWanted = true;
      this.fullOnNextChange = false;
      this.pending.clear();
    }
    this.queuedSince ??= this.clock.now();
    this.reschedule();
  }

  /** Next sync is full (node, config, addresses changed). */
  requestFull(): void {
    this.notify([]);
  }

  /** Stops scheduling and waits for a sync in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    await this.running;
  }

  /** When the next sync will run (ms, clock time); Infinity when none is scheduled. For tests. */
  nextDue(): number {
    return this.timerDue;
  }

  private hasWork(): boolean {
    return this.pending.size > 0 || this.held.size > 0 || this.fullWanted;
  }

  private dueTime(): number {
    const periodic = this.lastFullStart + this.opts.syncPeriodMs;
    if (!this.hasWork()) return periodic;
    // Held keys waited their minSyncPeriod before their batch was cut: they go at once.
    const earliest = this.held.size > 0 ? -Infinity : this.lastStart + this.opts.minSyncPeriodMs;
    const change = Math.max(earliest, this.retryAt);
    // A resync that waits for changes (run()) does not hurry them past minSyncPeriod.
    return this.resyncWaits(this.clock.now()) ? change : Math.min(periodic, change);
  }

  /**
   * Whether a periodic resync due now lets waiting changes go first: a full sync of input
   * that moved since the last sync cannot be verified by the backend's cheap summary and
   * reads everything back (at 44k Services that took 107-115 s under load, and every change
   * queued behind it: bench/agent-memory.ts, offline, 1000 changes, 282 s instead of ~30 s).
   * So changes waiting when it is due, and those that come while they sync, go first, as
   * incremental syncs (in batches), and the resync follows once the input stopped moving;
   * but for one syncPeriod past its due time at most: churn cannot put it off for ever.
   * A full sync that took longer than syncPeriod (a read-back at 44k: 100-165 s) made the
   * next one due when it ended: the wait counts from then, not from a time already past.
   */
  private resyncWaits(now: number): boolean {
    const due = Math.max(this.lastFullStart + this.opts.syncPeriodMs, this.lastFullEnd);
    return !this.fullWanted && (this.pending.size > 0 || this.held.size > 0) && now < due + this.opts.syncPeriodMs;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
  }

  private reschedule(): void {
    if (!this.started || this.stopped || this.running) return;
    const due = this.dueTime();
    if (this.timer !== undefined && due === this.timerDue) return;
    this.clearTimer();
    this.timerDue = due;
    // A timer for the periodic sync may fire a few ms before now() reaches its due time
    // (Node's timers run on libuv's clock, not Date.now()): it still runs the full sync,
    // not an empty incremental one followed by the full one.
    const periodic = due >= this.lastFullStart + this.opts.syncPeriodMs;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.running = this.run(periodic).finally(() => {
        this.running = undefined;
        this.reschedule();
      });
    }, Math.max(0, due - this.clock.now()));
  }

  private async run(periodic: boolean): Promise<void> {
    const now = this.clock.now();
    const periodicDue = periodic || now >= this.lastFullStart + this.opts.syncPeriodMs;
    // The periodic resync with changes waiting: they go first (resyncWaits).
    const full = this.fullWanted || (periodicDue && !this.resyncWaits(now));
    // Oldest first: the keys held by the last batch, then those of a render error, then new ones.
    const { changed, held } = full ? { changed: NO_KEYS, held: new Set<string>() } : batch(new Set([...this.held, ...this.deferred, ...this.pending]), this.maxServicesPerSync);
    if (full) this.fullOnNextChange = false;
    const req: SyncRequest = { full, changed, held };
    this.pending = new Set();
    this.deferred = new Set();
    this.held = held;
    this.fullWanted = false;
    const queuedSince = this.queuedSince;
    // The held keys have waited since the oldest change: so has the queue.
    this.queuedSince = held.size > 0 ? queuedSince : undefined;
    this.lastStart = now;
    if (full) this.lastFullStart = now;
    this.syncCount++;
    let outcome: SyncOutcome;
    try {
      outcome = await this.opts.sync(req);
    } catch {
      outcome = 'failed';
    }
    const end = this.clock.now();
    if (full) this.lastFullEnd = end;
    if (outcome === 'ok') {
      this.failures = 0;
      this.retryAt = -Infinity;
    } else {
      // The kernel may hold anything between the old and the new rules, or (render
      // error) the old ones: the next sync compares everything.
      for (const k of changed) this.deferred.add(k);
      // A full sync's render error: its keys were everything (it carries none).
      if (full && outcome === 'render-error') this.fullOnNextChange = true;
      this.queuedSince = Math.min(this.queuedSince ?? Infinity, queuedSince ?? end);
      if (outcome === 'failed') {
        this.fullWanted = true;
        this.failures++;
        this.retryAt = end + Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** (this.failures - 1));
      }
      // Render error: no retry of its own; the next change or periodic sync takes the keys along.
    }
    this.opts.onSynced?.(req, outcome, now, end);
  }
}

/** A full sync's keys: none (one shared empty set). */
const NO_KEYS: ReadonlySet<string> = new Set<string>();

/** The first `max` keys (in the set's order) for this sync, the rest held for the next. */
function batch(keys: Set<string>, max: number): { changed: Set<string>; held: Set<string> } {
  if (keys.size <= max) return { changed: keys, held: new Set() };
  const changed = new Set<string>();
  const held = new Set<string>();
  for (const k of keys) (changed.size < max ? changed : held).add(k);
  return { changed, held };
}
