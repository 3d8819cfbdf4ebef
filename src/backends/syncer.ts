// What the agent drives on every backend: an incremental syncer, built by the
// backend's `createSyncer(options)` (backend.ts), with one shape for all.
//
// "Never apply a ruleset that did not render": every backend renders before it
// touches the kernel, so an error thrown before the first kernel call (read-back
// or write) is a render error, and the kernel was not changed (`RenderFailed`).
// KernelTouch notices that first call.

import type { Exec } from '../exec/exec.js';
import { isInputError } from '../model/errors.js';
import type { RenderInput } from '../model/render-input.js';
import { ensureSysctls } from './sysctl.js';

export interface SyncRequest {
  /** Compare everything (start, resync, after a failure) rather than only `changed`. */
  readonly full: boolean;
  /** namespace/name of the Services that changed since the last sync. */
  readonly changed: ReadonlySet<string>;
  /** Services whose input was skipped as malformed: they keep their rules. */
  readonly preserve: readonly string[];
}

export interface SyncResult {
  readonly full: boolean;
  readonly changes: number;
  /** The sysctls the backend needs that could not be set; undefined when not checked (incremental syncs). */
  readonly unsetSysctls?: readonly UnsetSysctl[];
  /** iptables: rules owned after the sync and rules written by it, per family and table. */
  readonly iptablesRules?: readonly IptablesRuleCount[];
}

export interface IptablesRuleCount {
  readonly family: 'IPv4' | 'IPv6';
  readonly table: 'filter' | 'nat';
  readonly owned: number;
  readonly written: number;
}

export interface UnsetSysctl {
  readonly name: string;
  readonly error: string;
}

export interface Syncer {
  readonly backend: string;
  /** Makes the kernel match `input` (node.localAddresses filled in). */
  sync(input: RenderInput, req: SyncRequest): Promise<SyncResult>;
  /** Releases what the syncer holds in this process (the userspace proxy's listeners); kernel rules stay. */
  close?(): Promise<void>;
}

/** The backend could not render the input; nothing was sent to the kernel. */
export class RenderFailed extends Error {
  constructor(override readonly cause: unknown) {
    super(`render failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Tracks whether the kernel was reached during one sync. */
export class KernelTouch {
  touched = false;
  /** `exec`, noting that the kernel was reached whenever it runs a tool. */
  watching(exec: Exec): Exec {
    return { run: (c) => ((this.touched = true), exec.run(c)) };
  }
  async guard<T>(f: () => Promise<T>): Promise<T> {
    this.touched = false;
    try {
      return await f();
    } catch (e) {
      if (!this.touched || isInputError(e)) throw new RenderFailed(e);
      throw e;
    }
  }
}

/** Sets what the backend needs and says what it could not (a read-only /proc/sys in a container without the rights). */
export async function setSysctls(wanted: Record<string, string>): Promise<UnsetSysctl[]> {
  // ensureSysctls reports "key: message"; a sysctl key never contains ": ".
  return (await ensureSysctls(wanted)).map((p) => {
    const i = p.indexOf(': ');
    return i < 0 ? { name: p, error: 'cannot be set' } : { name: p.slice(0, i), error: p.slice(i + 2) };
  });
}

/**
 * A syncer whose implementation is imported at its first sync: building one (the
 * agent does at start) loads nothing, so the backend's kernel half stays out of
 * processes that never sync.
 */
export function lazySyncer(backend: string, load: () => Promise<Syncer>): Syncer {
  let loaded: Promise<Syncer> | undefined;
  const get = () => (loaded ??= load());
  return {
    backend,
    sync: async (input, req) => (await get()).sync(input, req),
    close: async () => {
      if (loaded) await (await loaded).close?.();
    },
  };
}
