// A store and the list + watch that feeds it, started and stopped together.

import type { FieldIssue, ObjectRef } from '../../model/errors.js';
import type { KubeClient } from './kube-client.js';
import { ResilientListWatch, type WatchTiming } from './list-watch.js';
import { defaultWatchLogger, type WatchLogger } from './logger.js';
import type { MalformedObject, WatchedStore } from './store.js';

/** Options every resource watch takes. */
export interface WatchOptions {
  /** The API server to list and watch (kube-client.ts; the name predates it: a resolved kubeconfig). */
  readonly kubeConfig: KubeClient;
  readonly log?: WatchLogger;
  readonly timing?: Partial<WatchTiming>;
  /** [0, 1) source for jitter; tests inject it. */
  readonly random?: () => number;
  /** Counts malformed objects (the agent wires a counter of its metrics here). */
  readonly onMalformed?: (m: MalformedObject) => void;
  /** Fields forwarding ignored on an accepted object, once per object version (a separate counter: not a refusal). */
  readonly onIgnored?: (ref: ObjectRef, issues: readonly FieldIssue[]) => void;
  /** Items per LIST page (default raw-list.ts LIST_PAGE_SIZE, client-go's 500). */
  readonly listPageSize?: number;
}

export class WatchedResource<S extends WatchedStore<unknown>> {
  constructor(
    readonly store: S,
    readonly listWatch: ResilientListWatch,
  ) {}

  start(): this {
    this.listWatch.start();
    return this;
  }

  /** Stops watching; the store keeps its last state. */
  stop(): Promise<void> {
    return this.listWatch.stop();
  }
}

export function makeWatchedResource<S extends WatchedStore<unknown>>(
  opts: WatchOptions,
  store: S,
  where: { readonly path: string; readonly labelSelector?: string; readonly fieldSelector?: string },
): WatchedResource<S> {
  const lw = new ResilientListWatch(
    {
      client: opts.kubeConfig,
      path: where.path,
      ...(where.labelSelector ? { labelSelector: where.labelSelector } : {}),
      ...(where.fieldSelector ? { fieldSelector: where.fieldSelector } : {}),
      ...(opts.timing ? { timing: opts.timing } : {}),
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.listPageSize ? { listPageSize: opts.listPageSize } : {}),
      log: opts.log ?? defaultWatchLogger(),
    },
    store,
  );
  return new WatchedResource(store, lw);
}

export function storeOptions(opts: WatchOptions): { log: WatchLogger; onMalformed?: (m: MalformedObject) => void } {
  return { log: opts.log ?? defaultWatchLogger(), ...(opts.onMalformed ? { onMalformed: opts.onMalformed } : {}) };
}
