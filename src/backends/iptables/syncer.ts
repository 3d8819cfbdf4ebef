// Partial iptables sync for a long-running process (the agent), as kube-proxy does
// since v1.28. A one-shot apply reads every chain back with iptables-save before it
// diffs; the syncer remembers the chains it last wrote and diffs against those, so
// a sync sends (and reads) only what changed. A full sync (read back with
// iptables-save, compare every chain, check the built-in jumps) runs at start,
// when the caller asks (periodic resync, to repair drift or a restart of someone
// else's rules), once `fullSyncIntervalMs` has passed, and after any failure.
// Live rules are never flushed: only changed chains of ours are rewritten.

import type { ApplyOptions } from '../backend.js';
import type { IPFamily } from '../../model/ip.js';
import type { RenderInput } from '../../model/render-input.js';
import { ensureJumps, IptablesRunner } from './apply.js';
import { SECTION_MARKER } from './document.js';
import { diffFamily } from './diff.js';
import { preserveServices } from './preserve.js';
import { renderIptables, type IptTables } from './render.js';

type Chains = Map<string, readonly string[]>;
interface Written {
  filter: Chains;
  nat: Chains;
}

export interface IptablesSyncResult {
  readonly full: boolean;
  readonly changes: number;
  readonly transaction: string;
}

/** kube-proxy's iptables mode also resyncs everything once an hour. */
export const DEFAULT_FULL_SYNC_INTERVAL_MS = 3_600_000;

export class IptablesSyncer {
  private written: Map<IPFamily, Written> | undefined;
  private lastFull = -Infinity;

  constructor(
    private readonly run: IptablesRunner = new IptablesRunner(),
    private readonly fullSyncIntervalMs = DEFAULT_FULL_SYNC_INTERVAL_MS,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Forget what was written: the next sync is a full one. */
  invalidate(): void {
    this.written = undefined;
  }

  /** Makes the kernel match `input` (node addresses already filled in by the caller). */
  async sync(input: RenderInput, options: ApplyOptions & { full?: boolean } = {}): Promise<IptablesSyncResult> {
    const full = options.full === true || this.written === undefined || this.clock() - this.lastFull >= this.fullSyncIntervalMs;
    const keep = options.preserveServices ?? [];
    const next = new Map<IPFamily, Written>();
    let changes = 0;
    let transaction = '';
    try {
      for (const desired of renderIptables(input)) {
        const f = desired.family;
        const base = full
          ? { filter: await this.run.savedChains(f, 'filter'), nat: await this.run.savedChains(f, 'nat') }
          : this.written!.get(f)!;
        const wanted: IptTables = {
          ...desired,
          filter: preserveServices(desired.filter, base.filter, keep),
          nat: preserveServices(desired.nat, base.nat, keep),
        };
        const d = diffFamily(wanted, base);
        if (d.text !== '') {
          transaction += `${SECTION_MARKER[f]}\n${d.text}`;
          await this.run.restore(f, d.text);
        }
        changes += d.changes;
        if (full) changes += await ensureJumps(this.run, f, false);
        next.set(f, {
          filter: new Map(wanted.filter.map((c) => [c.name, c.rules])),
          nat: new Map(wanted.nat.map((c) => [c.name, c.rules])),
        });
      }
    } catch (e) {
      // What the kernel holds is unknown now: read it back next time.
      this.invalidate();
      throw e;
    }
    this.written = next;
    if (full) this.lastFull = this.clock();
    return { full, changes, transaction };
  }
}
