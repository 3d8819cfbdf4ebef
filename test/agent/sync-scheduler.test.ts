// The reconcile core's timing, with a fake clock: kube-proxy's minSyncPeriod /
// syncPeriod semantics, coalescing, retry after failure, no retry of render errors.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SyncScheduler, type Clock, type SyncOutcome, type SyncRequest } from '../../src/agent/sync-scheduler.js';

/** Generous: each takes seconds at most; a hang fails here instead of holding `npm test`. */
const TIMEOUT = { timeout: 120_000 };

class FakeClock implements Clock {
  t = 0;
  /** Timers fire this much before their time as now() reads it (Node's do, by a few ms, against Date.now()). */
  earlyMs = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private id = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.id;
    this.timers.set(id, { at: this.t + Math.max(0, ms - this.earlyMs), fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** Advances time to `to`, firing due timers in order and letting their promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    // A scheduler that re-arms a timer for the same instant would loop here for ever.
    for (let fired = 0; ; fired++) {
      if (fired > 10_000) throw new Error(`fake clock: more than 10000 timers fired before t=${end} (a timer loop at t=${this.t})`);
      await flush();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

interface Call {
  at: number;
  full: boolean;
  changed: string[];
  /** Only when the sync held keys for the next batch. */
  held?: string[];
}

function setup(outcomes: SyncOutcome[] = [], opts: { min?: number; period?: number; syncMs?: number; earlyMs?: number; batch?: number } = {}) {
  const clock = new FakeClock();
  clock.earlyMs = opts.earlyMs ?? 0;
  const calls: Call[] = [];
  const s = new SyncScheduler({
    minSyncPeriodMs: opts.min ?? 1000,
    syncPeriodMs: opts.period ?? 30_000,
    retryInitialMs: 1000,
    retryMaxMs: 8000,
    ...(opts.batch ? { maxServicesPerSync: opts.batch } : {}),
    clock,
    sync: async (req: SyncRequest) => {
      calls.push({ at: clock.now(), full: req.full, changed: [...req.changed].sort(), ...(req.held.size ? { held: [...req.held].sort() } : {}) });
      if (opts.syncMs) await new Promise<void>((r) => clock.setTimeout(r, opts.syncMs!));
      return outcomes.shift() ?? 'ok';
    },
  });
  return { clock, calls, s };
}

test('starts with one full sync at once', TIMEOUT, async () => {
  const { clock, calls, s } = setup();
  s.start();
  await clock.advance(0);
  assert.deepEqual(calls, [{ at: 0, full: true, changed: [] }]);
});

test('a burst of changes coalesces into one incremental sync with the union of keys, no sooner than minSyncPeriod', TIMEOUT, async () => {
  const { clock, calls, s } = setup();
  s.start();
  await clock.advance(100);
  s.notify(['a/x']);
  await clock.advance(100);
  s.notify(['b/y', 'a/x']);
  await clock.advance(300);
  s.notify(['c/z']);
  await clock.advance(400); // t = 900: still inside minSyncPeriod of the sync at 0
  assert.equal(calls.length, 1);
  await clock.advance(100); // t = 1000
  assert.deepEqual(calls[1], { at: 1000, full: false, changed: ['a/x', 'b/y', 'c/z'] });
  await clock.advance(5000);
  assert.equal(calls.length, 2, 'no further sync without a change');
});

test('a change long after the last sync runs at once', TIMEOUT, async () => {
  const { clock, calls, s } = setup();
  s.start();
  await clock.advance(10_000);
  s.notify(['a/x']);
  await clock.advance(0);
  assert.deepEqual(calls[1], { at: 10_000, full: false, changed: ['a/x'] });
});

test('changes that arrive during a sync wait for it and then for minSyncPeriod', TIMEOUT, async () => {
  const { clock, calls, s } = setup([], { syncMs: 400 });
  s.start();
  await clock.advance(100);
  s.notify(['a/x']);
  await clock.advance(350); // first sync ends at 400
  s.notify(['b/y']);
  await clock.advance(500); // t = 950
  assert.equal(calls.length, 1);
  await clock.advance(50);
  assert.deepEqual(calls[1], { at: 1000, full: false, changed: ['a/x', 'b/y'] });
});

test('an empty key set (node change) asks for a full sync', TIMEOUT, async () => {
  const { clock, calls, s } = setup();
  s.start();
  await clock.advance(2000);
  s.notify(['a/x']);
  s.notify([]);
  await clock.advance(0);
  assert.deepEqual(calls[1], { at: 2000, full: true, changed: [] }, 'a full sync carries no keys: it covers every Service');
});

test('a full sync every syncPeriod after the last full one, even while incremental syncs keep coming', TIMEOUT, async () => {
  const { clock, calls, s } = setup([], { min: 1000, period: 10_000 });
  s.start();
  for (let i = 0; i < 12; i++) {
    await clock.advance(1000);
    s.notify([`ns/s${i}`]);
  }
  await clock.advance(10_000);
  const fulls = calls.filter((c) => c.full).map((c) => c.at);
  assert.deepEqual(fulls, [0, 10_000, 20_000]);
  assert.ok(calls.some((c) => !c.full), 'incremental syncs in between');
});

test('without changes, only the periodic full syncs run', TIMEOUT, async () => {
  const { clock, calls, s } = setup([], { period: 10_000 });
  s.start();
  await clock.advance(35_000);
  assert.deepEqual(calls.map((c) => [c.at, c.full]), [[0, true], [10_000, true], [20_000, true], [30_000, true]]);
});

test('a periodic timer that fires a little early runs the full sync, not an empty incremental one first', TIMEOUT, async () => {
  // Seen in the agent's log (bench/agent-memory.ts): at syncPeriod, an incremental sync
  // with nothing to do, then the full one 50 ms later, because the timer fired before
  // Date.now() reached lastFullStart + syncPeriod.
  const { clock, calls, s } = setup([], { period: 10_000, earlyMs: 3 });
  s.start();
  await clock.advance(25_000);
  assert.deepEqual(calls.map((c) => [c.at, c.full]), [[0, true], [9997, true], [19_994, true]]);
});

test('changes pending at the periodic resync go first, incrementally; the resync follows on the settled input', TIMEOUT, async () => {
  // A full sync of input that moved since the last sync cannot be verified cheaply and
  // reads the whole kernel back (107-115 s at 44k Services in bench/agent-memory.ts).
  const { clock, calls, s } = setup([], { min: 1000, period: 10_000, syncMs: 400 });
  s.start();
  await clock.advance(9000);
  s.notify(['a/x']); // synced at once (t = 9000, until 9400)
  await clock.advance(500);
  s.notify(['b/y']); // pending when the resync is due at 10000
  await clock.advance(2000);
  assert.deepEqual(
    calls.map((c) => [c.at, c.full, c.changed]),
    [[0, true, []], [9000, false, ['a/x']], [10_000, false, ['b/y']], [10_400, true, []]],
  );
});

test('the periodic resync lets changes that keep coming go first for one syncPeriod at most, then runs', TIMEOUT, async () => {
  const { clock, calls, s } = setup([], { min: 1000, period: 10_000, syncMs: 400 });
  s.start();
  await clock.advance(9500);
  s.notify(['a/x']); // synced at once, 9500-9900
  await clock.advance(450);
  s.notify(['b/y']); // pending at 10000: goes first, 10500 (minSyncPeriod after a/x's start)
  await clock.advance(700);
  s.notify(['c/z']); // arrives during it: goes first too, 11500
  // A change every 300 ms from here on, so that one always waits when a sync ends: the
  // resync runs once it waited one period (t >= 20000).
  for (let t = 11_600; t < 25_000; t += 300) {
    await clock.advance(t - clock.now());
    s.notify([`d/${t}`]);
  }
  await clock.advance(1000);
  const resyncs = calls.filter((c) => c.full && c.at > 0);
  assert.deepEqual(
    calls.slice(1, 4).map((c) => [c.at, c.full, c.changed]),
    [[9500, false, ['a/x']], [10_500, false, ['b/y']], [11_500, false, ['c/z']]],
  );
  assert.equal(resyncs.length, 1, JSON.stringify(calls.map((c) => [c.at, c.full])));
  assert.ok(resyncs[0]!.at >= 20_000 && resyncs[0]!.at <= 21_000, `the resync at ${resyncs[0]!.at}: one period past its due time, no later`);
  assert.ok(calls.every((c, i) => i === 0 || c.full || c.at - calls[i - 1]!.at >= 1000), 'incremental syncs keep minSyncPeriod meanwhile');
});

test('after a full sync longer than syncPeriod, the next resync still lets waiting changes go first (for one period from its end)', TIMEOUT, async () => {
  const { clock, calls, s } = setup([], { min: 1000, period: 10_000, syncMs: 25_000 });
  s.start(); // the first full sync runs 0-25000: the next resync is due at its end
  await clock.advance(20_000);
  s.notify(['a/x']); // waiting when it ends
  await clock.advance(5000);
  assert.deepEqual(calls.map((c) => [c.at, c.full, c.changed]), [[0, true, []], [25_000, false, ['a/x']]]);
});

test('a burst larger than maxServicesPerSync syncs in batches, oldest first, one right after the other', TIMEOUT, async () => {
  const { clock, calls, s } = setup([], { min: 1000, period: 60_000, syncMs: 400, batch: 2 });
  s.start();
  await clock.advance(5000);
  s.notify(['a/1', 'a/2', 'a/3']);
  s.notify(['a/4', 'a/5']);
  await clock.advance(300); // the first batch runs at 5000 (until 5400)
  s.notify(['b/1']); // arrives during it: after the held ones
  await clock.advance(3000);
  assert.deepEqual(
    calls.slice(1).map((c) => [c.at, c.full, c.changed, c.held ?? []]),
    [
      [5000, false, ['a/1', 'a/2'], ['a/3', 'a/4', 'a/5']],
      // Held keys do not wait for minSyncPeriod again: the next batch follows at once.
      [5400, false, ['a/3', 'a/4'], ['a/5', 'b/1']],
      [5800, false, ['a/5', 'b/1'], []],
    ],
  );
  assert.equal(s.queuedSince, undefined);
});

test('while batches are held the queue counts as waiting since the oldest change', TIMEOUT, async () => {
  const { clock, s } = setup([], { min: 1000, period: 60_000, syncMs: 400, batch: 1 });
  s.start();
  await clock.advance(5000);
  s.notify(['a/1', 'a/2', 'a/3']);
  await clock.advance(500); // second batch in flight
  assert.equal(s.queuedSince, 5000);
  await clock.advance(1000);
  assert.equal(s.queuedSince, undefined);
});

test('a full sync is never cut into batches; a failed batch makes the retry a full sync (of every Service)', TIMEOUT, async () => {
  const { clock, calls, s } = setup(['ok', 'failed'], { min: 1000, period: 60_000, syncMs: 100, batch: 1 });
  s.notify(['a/1', 'a/2']); // before the first (full) sync
  s.start();
  await clock.advance(5000);
  s.notify(['b/1', 'b/2', 'b/3']);
  await clock.advance(100); // b/1 fails at 5000
  await clock.advance(2000); // the retry after the backoff (1 s), full
  assert.deepEqual(
    calls.map((c) => [c.at, c.full, c.changed, c.held ?? []]),
    [
      [0, true, [], []],
      [5000, false, ['b/1'], ['b/2', 'b/3']],
      [6100, true, [], []],
    ],
  );
});

test('the periodic resync lets a burst cut into batches go first, then runs', TIMEOUT, async () => {
  const { clock, calls, s } = setup([], { min: 1000, period: 10_000, syncMs: 400, batch: 2 });
  s.start();
  await clock.advance(9800);
  s.notify(['a/1', 'a/2', 'a/3', 'a/4', 'a/5', 'a/6']); // 9800: a/1 a/2, 4 held when the resync falls due at 10000
  await clock.advance(500);
  s.notify(['c/1']); // at 10300, during the second batch: after the held ones
  await clock.advance(5000);
  assert.deepEqual(
    calls.slice(1).map((c) => [c.at, c.full, c.changed, c.held ?? []]),
    [
      [9800, false, ['a/1', 'a/2'], ['a/3', 'a/4', 'a/5', 'a/6']],
      [10_200, false, ['a/3', 'a/4'], ['a/5', 'a/6']],
      [10_600, false, ['a/5', 'a/6'], ['c/1']],
      [11_000, false, ['c/1'], []],
      // On input that no longer moved: the backend's summary can verify it.
      [11_400, true, [], []],
    ],
  );
});

test('a failed sync is retried as a full sync (which covers its keys) with exponential backoff', TIMEOUT, async () => {
  const { clock, calls, s } = setup(['ok', 'failed', 'failed', 'failed', 'ok']);
  s.start();
  await clock.advance(5000);
  s.notify(['a/x']);
  await clock.advance(0); // t=5000 fails
  await clock.advance(1000); // retry at 6000 fails
  await clock.advance(2000); // retry at 8000 fails
  s.notify(['b/y']); // a change does not cut the backoff short
  await clock.advance(3999);
  assert.equal(calls.length, 4);
  await clock.advance(1); // retry at 12000 succeeds
  assert.deepEqual(
    calls.slice(1).map((c) => [c.at, c.full, c.changed.join(',')]),
    [
      [5000, false, 'a/x'],
      [6000, true, ''],
      [8000, true, ''],
      [12_000, true, ''],
    ],
  );
  s.notify(['c/z']);
  await clock.advance(1000);
  assert.deepEqual(calls.at(-1), { at: 13_000, full: false, changed: ['c/z'] }, 'after success: incremental again, backoff reset');
});

test('a thrown sync counts as a failure', TIMEOUT, async () => {
  const clock = new FakeClock();
  let n = 0;
  const s = new SyncScheduler({
    minSyncPeriodMs: 0,
    syncPeriodMs: 60_000,
    retryInitialMs: 500,
    clock,
    sync: async () => {
      if (n++ === 0) throw new Error('boom');
      return 'ok';
    },
  });
  s.start();
  await clock.advance(499);
  assert.equal(n, 1);
  await clock.advance(1);
  assert.equal(n, 2);
});

test('a render error is not retried on its own: its keys go with the next change', TIMEOUT, async () => {
  const { clock, calls, s } = setup(['ok', 'render-error'], { period: 30_000 });
  s.start();
  await clock.advance(2000);
  s.notify(['bad/svc']);
  await clock.advance(0);
  await clock.advance(10_000);
  assert.equal(calls.length, 2, 'no retry of the same input');
  s.notify(['good/svc']);
  await clock.advance(0);
  assert.deepEqual(calls[2], { at: 12_000, full: false, changed: ['bad/svc', 'good/svc'] });
});

test('keys that arrive while a full sync is owed are not kept: the full sync covers them', TIMEOUT, async () => {
  const { clock, calls, s } = setup([], { syncMs: 400 });
  // Before start (the stores' initial lists): the first sync is full.
  s.notify(['a/x', 'b/y']);
  s.start();
  await clock.advance(100);
  // During the first sync: kept, the sync in flight read its input before them.
  s.notify(['c/z']);
  await clock.advance(900);
  assert.deepEqual(calls.slice(0, 2).map((c) => ({ full: c.full, changed: c.changed })), [
    { full: true, changed: [] },
    { full: false, changed: ['c/z'] },
  ]);
  // A full sync asked for, then keys before it starts: none of them kept.
  await clock.advance(5000);
  s.requestFull();
  s.notify(['d/w']);
  await clock.advance(1000);
  assert.deepEqual({ full: calls[2]!.full, changed: calls[2]!.changed }, { full: true, changed: [] });
  await clock.advance(5000);
  assert.equal(calls.length, 3, 'd/w went with the full sync: no sync of its own');
});

test('after a full sync that did not render, the next change brings a full sync (not an incremental one of its key alone)', TIMEOUT, async () => {
  const { clock, calls, s } = setup(['render-error', 'ok', 'ok'], { period: 30_000 });
  s.start();
  await clock.advance(0);
  await clock.advance(10_000);
  assert.equal(calls.length, 1, 'no retry of the same input');
  s.notify(['a/x']);
  await clock.advance(0);
  assert.deepEqual(calls[1], { at: 10_000, full: true, changed: [] });
  await clock.advance(2000);
  s.notify(['b/y']);
  await clock.advance(0);
  assert.deepEqual(calls[2], { at: 12_000, full: false, changed: ['b/y'] }, 'once a full sync rendered, changes go incremental again');
});

test('queuedSince tracks the oldest change not yet synced', TIMEOUT, async () => {
  const { clock, s } = setup(['ok', 'render-error', 'ok']);
  s.start();
  await clock.advance(0);
  assert.equal(s.queuedSince, undefined);
  await clock.advance(3000);
  s.notify(['a/x']);
  assert.equal(s.queuedSince, 3000);
  await clock.advance(0);
  assert.equal(s.queuedSince, 3000, 'a render error leaves the change unsynced');
  await clock.advance(1000);
  s.notify(['b/y']);
  await clock.advance(0);
  assert.equal(s.queuedSince, undefined);
});

test('stop cancels the timer and waits for the sync in flight', TIMEOUT, async () => {
  const { clock, calls, s } = setup([], { syncMs: 500 });
  s.start();
  await clock.advance(100);
  let stopped = false;
  const p = s.stop().then(() => (stopped = true));
  await flush();
  assert.equal(stopped, false, 'a sync is running');
  await clock.advance(400);
  await p;
  s.notify(['a/x']);
  await clock.advance(60_000);
  assert.equal(calls.length, 1);
});
