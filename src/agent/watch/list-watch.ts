// One resource's list + watch that never gives up.
//
// The requests are our own (kube-client.ts, raw-list.ts, watch-stream.ts on
// node:http/https; client-node's ListWatch never restarted after an error, could not
// ask for bookmarks or a server-side timeout, and its Watch had no timeout), driven
// by this loop:
//
//   list (RV "0" first, "" after a 410; page by page into the store, which changes
//   once the last page is in) -> watch from the list's RV with allowWatchBookmarks
//   and a jittered timeoutSeconds
//     - an event or bookmark: hand it on, remember its RV, feed the watchdog
//     - the server ends the watch cleanly: watch again from the last RV
//     - 410 Gone (HTTP status or ERROR event): list again
//     - any other error, or silence past the watchdog: back off, watch again
//       from the last RV (the server still has it, or answers 410)
//
// While the API server is away nothing is handed on, so whoever keeps the store
// keeps serving the last state it had.

import { ApiError, apiErrorFromStatus, isGone } from './api-error.js';
import { Backoff, jitterBetween } from './backoff.js';
import type { WatchLogger } from './logger.js';
import type { KubeClient } from './kube-client.js';
import { LIST_PAGE_SIZE, listPages } from './raw-list.js';
import { openWatch } from './watch-stream.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Where the list + watch hands its results; the store implements it. */
export interface ListWatchSink {
  /** A list begins; its pages go to the returned intake as they arrive. */
  startList(): ListIntake;
  event(type: WatchEventType, obj: unknown): void;
}

/** One list's pages, in order, then commit (the sink's contents become exactly the list's items) or discard. */
export interface ListIntake {
  /** The next page's raw items; the sink keeps what it needs of them and not the items. */
  page(items: readonly unknown[]): void;
  commit(resourceVersion: string): void;
  /** The list failed or was stopped part-way: its pages change nothing. */
  discard(): void;
}

export interface WatchTiming {
  /** First restart delay after a failure (jittered, doubling up to maxBackoffMs). */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Server-side watch timeout, picked per watch in [min, max] seconds. */
  readonly watchTimeoutMinSeconds: number;
  readonly watchTimeoutMaxSeconds: number;
  /**
   * No event and no bookmark for this long: the connection is presumed dead and
   * the watch restarts. The API server sends bookmarks about once a minute to
   * watchers that ask, and ends each watch at timeoutSeconds, so a live watch is
   * never this quiet. Also covers a server that accepts and never answers.
   */
  readonly silenceMs: number;
  /** A LIST request that sends nothing for this long is abandoned. */
  readonly listTimeoutMs: number;
  /**
   * A watch the server ends cleanly with no event counts as a failure (backoff) only
   * if it lasted less than this: a server closing at once must not be hammered, but
   * a quiet watch that a server, proxy or load balancer ends before the timeoutSeconds
   * we asked for is a healthy one and is renewed at once. Judging it by the asked
   * timeout instead doubled the backoff at every such end, to 30 s: with watches ended
   * every 5 s, an endpoint change waited up to ~25 s for the next watch (issue 16's
   * API-mode bench). client-go draws the same line at one second ("very short watch").
   */
  readonly shortWatchMs: number;
}

/**
 * The agent must converge within 60 s of the API server coming back whatever its
 * connections did (a hung server that accepts and never answers included), and
 * Node's HTTP/1.1 client has no HTTP/2 health pings to notice a dead connection as
 * kube-proxy's client does. So: the server ends every watch after 30-40 s (a quiet
 * watch is renewed from its resourceVersion, which the watch cache answers
 * cheaply), and a watch that hears nothing for 45 s (no event, no bookmark, no
 * clean end) is presumed dead and restarted at once (no backoff: the silence was
 * the wait). A request stuck in a hang is so given up within 45 s of being made,
 * and the next one reaches the returned server: worst case ~45 s after it is back.
 * Cost: about one watch request per resource every 35 s per node.
 */
export const DEFAULT_WATCH_TIMING: WatchTiming = {
  initialBackoffMs: 500,
  maxBackoffMs: 30_000,
  watchTimeoutMinSeconds: 30,
  watchTimeoutMaxSeconds: 40,
  silenceMs: 45_000,
  listTimeoutMs: 30_000,
  shortWatchMs: 1000,
};

export interface ListWatchOptions {
  readonly client: KubeClient;
  /** Collection path, e.g. /apis/discovery.k8s.io/v1/endpointslices (all namespaces). */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly timing?: Partial<WatchTiming>;
  /** [0, 1) source for jitter; injected by tests. */
  readonly random?: () => number;
  readonly log: WatchLogger;
  /** Items per LIST page (default LIST_PAGE_SIZE); tests make lists of a few pages. */
  readonly listPageSize?: number;
}

export type ListWatchState = 'idle' | 'listing' | 'watching' | 'backoff' | 'stopped';

/** How one watch ended. */
type WatchEnd =
  | { readonly kind: 'closed'; readonly progress: boolean }
  | { readonly kind: 'gone'; readonly progress: boolean }
  | { readonly kind: 'error'; readonly error: unknown; readonly progress: boolean }
  | { readonly kind: 'silent' }
  | { readonly kind: 'stopped' };

export class ResilientListWatch {
  readonly timing: WatchTiming;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly stopController = new AbortController();
  private running: Promise<void> | undefined;
  private resourceVersion = '';
  /** After a 410 the server's cache is behind us: the next list must be a quorum read. */
  private needQuorumList = false;
  private _state: ListWatchState = 'idle';
  private _lastContactAt: number | undefined;
  private _restarts = 0;

  constructor(
    private readonly opts: ListWatchOptions,
    private readonly sink: ListWatchSink,
  ) {
    this.timing = { ...DEFAULT_WATCH_TIMING, ...opts.timing };
    this.random = opts.random ?? Math.random;
    this.backoff = new Backoff({ initialMs: this.timing.initialBackoffMs, maxMs: this.timing.maxBackoffMs, random: this.random });
  }

  get state(): ListWatchState {
    return this._state;
  }
  /** The last resourceVersion seen (list, event or bookmark). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }
  /** performance.now() of the last successful list, event or bookmark. */
  get lastContactAt(): number | undefined {
    return this._lastContactAt;
  }
  /** How many times a list or watch was started again after ending. */
  get restarts(): number {
    return this._restarts;
  }

  start(): void {
    if (this.running || this.stopController.signal.aborted) return;
    this.running = this.loop().catch((e: unknown) => {
      // The loop catches everything it expects; this is a bug, but never an unhandled rejection.
      this.opts.log.error({ err: e, path: this.opts.path }, 'watch loop failed');
    });
  }

  /** Ends the loop and the open connection; the store keeps what it has. */
  async stop(): Promise<void> {
    this.stopController.abort();
    this._state = 'stopped';
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async loop(): Promise<void> {
    let needList = true;
    /** The watch about to run is the first since a list: a 410 on it must not relist at once again. */
    let firstWatchAfterList = false;
    /** The last watch was such a 410: the next good list must not reset the backoff. */
    let goneLoop = false;
    while (!this.stopped) {
      if (needList) {
        this._state = 'listing';
        // Pages go into the store as they arrive (no raw object outlives its page);
        // the store changes at commit. The intake lets go of what it decoded at
        // commit or discard, so this frame holds nothing of the list during the watch.
        const intake = this.sink.startList();
        let listedRV: string;
        try {
          listedRV = await listPages(
            this.opts.client,
            this.opts.path,
            {
              ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}),
              ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}),
              resourceVersion: this.needQuorumList ? '' : '0',
            },
            this.timing.listTimeoutMs,
            (items) => intake.page(items),
            this.stopController.signal,
            this.opts.listPageSize ?? LIST_PAGE_SIZE,
          );
        } catch (e) {
          intake.discard();
          if (this.stopped) break;
          // A 410 on a list at RV "0" is odd but possible (compaction racing); ask for the latest.
          if (isGone(e)) this.needQuorumList = true;
          await this.pause(e, 'list failed');
          continue;
        }
        if (this.stopped) {
          intake.discard();
          break;
        }
        intake.commit(listedRV);
        this.resourceVersion = listedRV;
        this.needQuorumList = false;
        this.contact();
        if (!goneLoop) this.backoff.reset();
        goneLoop = false;
        needList = false;
        firstWatchAfterList = true;
      }

      this._state = 'watching';
      const end = await this.watchOnce();
      const afterList = firstWatchAfterList;
      firstWatchAfterList = false;
      if (end.kind === 'stopped' || this.stopped) break;
      this._restarts++;
      switch (end.kind) {
        case 'closed':
          // The server's timeoutSeconds, or an earlier clean end (a proxy's idle
          // timeout, a server going away gracefully). Straight back, with the backoff
          // reset (the server answered well), unless it closed at once with nothing
          // to say: that gets the backoff (shortWatchMs).
          if (end.progress) {
            this.backoff.reset();
            this.opts.log.debug({ path: this.opts.path, rv: this.resourceVersion }, 'watch ended; watching again');
          } else await this.pause(new Error('watch closed at once without any event'), 'watch closed');
          break;
        case 'gone':
          this.needQuorumList = true;
          needList = true;
          // 410 on the very RV a list just gave us: the server is confused; relisting
          // at once would loop as fast as it answers.
          if (afterList && !end.progress) {
            goneLoop = true;
            await this.pause(new ApiError(410, 'watch from a fresh list answered 410 Gone'), 'relist');
          } else this.opts.log.info({ path: this.opts.path, rv: this.resourceVersion }, 'resourceVersion expired (410 Gone); listing again');
          break;
        case 'silent':
          // No backoff: the silence itself was the wait, and a backoff on top would
          // push the first answered watch past the convergence bound.
          this.opts.log.warn(
            { path: this.opts.path, rv: this.resourceVersion, silenceMs: this.timing.silenceMs },
            'watch silent past the watchdog; watching again',
          );
          await sleep(this.timing.initialBackoffMs * this.random(), this.stopController.signal);
          break;
        case 'error':
          await this.pause(end.error, 'watch failed');
          break;
      }
    }
    this._state = 'stopped';
  }

  private contact(): void {
    this._lastContactAt = performance.now();
  }

  /** Waits the next backoff delay (returns early on stop). */
  private async pause(err: unknown, what: string): Promise<void> {
    if (this.stopped) return;
    const delayMs = this.backoff.next();
    this._state = 'backoff';
    if (err !== undefined) {
      this.opts.log.warn({ path: this.opts.path, err, reason: describe(err), retryInMs: delayMs, failures: this.backoff.failures }, `${what}; retrying`);
    }
    await sleep(delayMs, this.stopController.signal);
  }

  /** One watch request, from this.resourceVersion, until it ends one way or another. */
  private watchOnce(): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let ended = false;
      let progress = false;
      let abort: (() => void) | undefined;
      let watchdog: NodeJS.Timeout | undefined;
      const finish = (end: WatchEnd): void => {
        if (ended) return;
        ended = true;
        clearTimeout(watchdog);
        this.stopController.signal.removeEventListener('abort', onStop);
        abort?.();
        resolve(end);
      };
      const feedWatchdog = (): void => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => finish({ kind: 'silent' }), this.timing.silenceMs);
      };
      const onStop = (): void => finish({ kind: 'stopped' });
      this.stopController.signal.addEventListener('abort', onStop);
      feedWatchdog();

      const onEvent = (type: string, obj: unknown): void => {
        if (ended) return;
        feedWatchdog();
        if (type === 'ERROR') {
          const err = apiErrorFromStatus(obj, 500);
          finish(isGone(err) ? { kind: 'gone', progress } : { kind: 'error', error: err, progress });
          return;
        }
        const rv = resourceVersionOf(obj);
        if (type === 'BOOKMARK') {
          // A bookmark carries only a resourceVersion: where to resume from.
          if (rv) this.resourceVersion = rv;
        } else if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
          this.sink.event(type, obj);
          if (rv) this.resourceVersion = rv;
        } else {
          this.opts.log.warn({ path: this.opts.path, type }, 'unknown watch event type; ignored');
          return;
        }
        progress = true;
        this.contact();
        this.backoff.reset();
      };
      const onDone = (err: unknown): void => {
        if (ended) return;
        if (err === null || err === undefined) {
          // A clean end is the server talking: a quiet watch that lasted more than a
          // moment did its job and is no failure (WatchTiming.shortWatchMs); one that
          // ran its asked timeoutSeconds is healthy however short that was.
          this.contact();
          const lasted = performance.now() - startedAt;
          const healthy = lasted >= Math.min(this.timing.shortWatchMs, 0.9 * timeoutSeconds * 1000);
          finish({ kind: 'closed', progress: progress || healthy });
          return;
        }
        if (isGone(err)) finish({ kind: 'gone', progress });
        else finish({ kind: 'error', error: err, progress });
      };

      const timeoutSeconds = jitterBetween(this.timing.watchTimeoutMinSeconds, this.timing.watchTimeoutMaxSeconds, this.random);
      const startedAt = performance.now();
      const query: Record<string, string | number | boolean> = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
      };
      if (this.opts.labelSelector) query.labelSelector = this.opts.labelSelector;
      if (this.opts.fieldSelector) query.fieldSelector = this.opts.fieldSelector;
      abort = openWatch(this.opts.client, this.opts.path, query, { onEvent, onDone });
    });
  }
}

function resourceVersionOf(obj: unknown): string | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const meta = (obj as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const rv = (meta as { resourceVersion?: unknown }).resourceVersion;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}

function describe(e: unknown): string {
  if (e instanceof ApiError) return `${e.statusCode}: ${e.message}`;
  if (e instanceof Error) {
    const code = (e as { statusCode?: unknown }).statusCode;
    return code !== undefined ? `${String(code)}: ${e.message}` : e.message;
  }
  return String(e);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
