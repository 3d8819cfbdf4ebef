// What the API-mode tests share: a fake API server and started watches, closed after each
// test (newest first, also when the test failed), and a store's change events recorded.
// Call perTest() once at a test file's top level: it registers that file's afterEach.

import { afterEach } from 'node:test';
import type { WatchTiming, WatchedResource, WatchedStore } from '../../src/agent/watch/index.js';
import { FakeApiServer } from './fake-apiserver.js';

/** Watch timings short enough for tests, with bounds generous enough for a loaded machine. */
export const FAST_WATCH: Partial<WatchTiming> = { initialBackoffMs: 20, maxBackoffMs: 200, silenceMs: 5000, listTimeoutMs: 2000 };

export interface PerTest {
  /** Runs `cleanup` after this test. */
  defer(cleanup: () => Promise<void>): void;
  /** A fake API server, closed after this test. */
  fakeApi(): Promise<FakeApiServer>;
  /** Starts `w`, stopped after this test. */
  started<S extends WatchedStore<unknown>>(w: WatchedResource<S>): WatchedResource<S>;
}

export function perTest(): PerTest {
  let cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    const due = cleanups.reverse();
    cleanups = [];
    for (const c of due) await c();
  });
  const defer = (c: () => Promise<void>) => void cleanups.push(c);
  return {
    defer,
    fakeApi: async () => {
      const api = await FakeApiServer.start();
      defer(() => api.close());
      return api;
    },
    started: (w) => {
      defer(() => w.stop());
      return w.start();
    },
  };
}

/** Every `change` the store emits, as sorted key lists. */
export function changesOf(store: WatchedStore<unknown>): string[][] {
  const out: string[][] = [];
  store.on('change', (keys) => out.push([...keys].sort()));
  return out;
}
