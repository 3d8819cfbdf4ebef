// IPVS sync for a long-running process (the agent), as the other backends' syncers: it
// remembers what the kernel holds of ours (read back at a full sync, advanced by every
// command it sends since) and diffs each render against that memory, so an endpoint
// change sends only the ipvsadm lines and ipset members of the Services that changed,
// and reads nothing back. A full sync (read everything back, also the dummy link, the
// IPVS timeouts and the jumps from the built-in chains) runs first, when the caller
// asks (periodic resync, to repair drift), once `fullSyncIntervalMs` has passed, and
// after any failure (what the kernel holds is then unknown).
//
// Order of a sync, as kube-proxy's IPVS mode: the IPVS timeouts, the dummy interface
// and its addresses, ipset members added, the helper iptables chains and their jumps,
// virtual/real servers, then ipset members removed (once IPVS no longer sends traffic
// their way). Sysctls are the caller's (apply.ts, the agent's rules syncer).

import type { ApplyResult, SyncerOptions, SyncLog } from '../backend.js';
import { systemExec } from '../../exec/system-exec.js';
import type { RenderInput } from '../../model/render-input.js';
import { ensureJumps, IptablesRunner } from '../iptables/apply.js';
import { HOOK_JUMPS } from './iptables-rules.js';
import { FAMILIES, readKernelState, run, type IpvsKernelState, type IpvsTools } from './kernel.js';
import { ipvsTimeoutArgs, parseIpvsTimeouts } from './kernel-settings.js';
import { renderIpvs } from './render.js';
import { DUMMY_INTERFACE } from './ruleset.js';
import { addressArgs, advanceState, interfaceLines, planIpvsSync } from './sync-plan.js';

export interface IpvsSyncerOptions extends SyncerOptions {
  /** The helper rules' runner (default: one on `exec` and `netns`, flavour from SVCPLANE_IPTABLES_MODE). */
  readonly iptables?: IptablesRunner;
  readonly fullSyncIntervalMs?: number;
  readonly clock?: () => number;
}

export interface IpvsSyncRequest {
  /** Read everything back and compare all of it. */
  readonly full?: boolean;
  /** namespace/name of Services whose input was skipped as malformed: the kernel keeps what it holds for them. */
  readonly preserve?: readonly string[];
  /** Compute what would be sent, send nothing (a full read, always). */
  readonly dryRun?: boolean;
}

export interface IpvsSyncResult extends ApplyResult {
  readonly full: boolean;
}

/** As the iptables syncer: kube-proxy also resyncs everything once an hour. */
export const DEFAULT_FULL_SYNC_INTERVAL_MS = 3_600_000;

export class IpvsSyncer {
  private known: IpvsKernelState | undefined;
  private lastFull = -Infinity;
  private readonly tools: IpvsTools;
  private readonly fullSyncIntervalMs: number;
  private readonly clock: () => number;
  private readonly log: SyncLog | undefined;

  constructor(options: IpvsSyncerOptions = {}) {
    const exec = options.exec ?? systemExec;
    this.tools = { exec, ...(options.netns ? { netns: options.netns } : {}), iptables: options.iptables ?? new IptablesRunner(options.netns, undefined, exec) };
    this.fullSyncIntervalMs = options.fullSyncIntervalMs ?? DEFAULT_FULL_SYNC_INTERVAL_MS;
    this.clock = options.clock ?? (() => performance.now());
    this.log = options.log;
  }

  /** Forget what the kernel holds: the next sync is a full one. */
  invalidate(): void {
    this.known = undefined;
  }

  /** Makes the kernel match `input` (node.localAddresses filled in by the caller, dummy addresses included or not). */
  async sync(input: RenderInput, req: IpvsSyncRequest = {}): Promise<IpvsSyncResult> {
    const reason = req.dryRun ? 'dry run' : req.full ? 'asked' : this.known === undefined ? (this.lastFull === -Infinity ? 'first' : 'after a failure') : this.clock() - this.lastFull >= this.fullSyncIntervalMs ? 'interval' : undefined;
    const full = reason !== undefined;
    // The caller logs the syncs it asked for; this says when the syncer chose a full one itself.
    if (reason === 'after a failure' || reason === 'interval') this.log?.info({ reason }, 'ipvs: full sync (read everything back)');
    const t = this.tools;
    // A render error must come before any tool ran (the caller then knows nothing was
    // sent): an incremental sync renders before it runs anything; a full one reads
    // first, so it renders once up front.
    if (full) renderIpvs(input);
    const state = full ? await readKernelState(t) : this.known!;
    const keep = req.preserve ?? [];
    const plan = planIpvsSync(input, state, keep);
    const wanted = full && input.config.ipvsTimeouts;
    const timeouts = wanted ? ipvsTimeoutArgs(wanted, parseIpvsTimeouts(await run(t, 'ipvsadm', ['-L', '--timeout']))) : undefined;
    const timeoutLine = timeouts ? [`ipvsadm ${timeouts.join(' ')}`] : [];
    if (req.dryRun) {
      const lines = [...timeoutLine, ...plan.setAdds, ...plan.ipvs, ...plan.setDels];
      return { full, changes: lines.length, transaction: lines.length ? lines.join('\n') + '\n' : '' };
    }
    this.known = undefined; // a failure half-way leaves the kernel unknown: read it back next time
    const sent: string[] = [];
    let changes = 0;
    const note = (lines: readonly string[]) => {
      sent.push(...lines);
      changes += lines.length;
    };
    if (timeouts) await run(t, 'ipvsadm', timeouts);
    note(timeoutLine);
    if (plan.createInterface) await run(t, 'ip', ['link', 'add', DUMMY_INTERFACE, 'type', 'dummy']);
    if (full) await run(t, 'ip', ['link', 'set', DUMMY_INTERFACE, 'up']);
    for (const a of plan.addressAdds) await run(t, 'ip', ['addr', 'add', a, 'dev', DUMMY_INTERFACE, ...addressArgs(a)]);
    for (const a of plan.addressDels) await run(t, 'ip', ['addr', 'del', a, 'dev', DUMMY_INTERFACE]);
    note(interfaceLines(plan, DUMMY_INTERFACE));
    if (plan.setAdds.length) await run(t, 'ipset', ['restore'], plan.setAdds.join('\n') + '\n');
    note(plan.setAdds);
    for (const f of FAMILIES) {
      if (plan.iptables[f]) {
        await t.iptables.restore(f, plan.iptables[f]);
        note([plan.iptables[f].trimEnd()]);
      }
      if (full) {
        const inserted = await ensureJumps(t.iptables, f, false, HOOK_JUMPS);
        if (inserted) sent.push(`# ${f}: ${inserted} jump(s) inserted from built-in chains`);
        changes += inserted;
      }
    }
    if (plan.ipvs.length) await run(t, 'ipvsadm', ['-R'], plan.ipvs.join('\n') + '\n');
    note(plan.ipvs);
    if (plan.setDels.length) await run(t, 'ipset', ['restore'], plan.setDels.join('\n') + '\n');
    note(plan.setDels);
    advanceState(state, plan);
    this.known = state;
    if (full) this.lastFull = this.clock();
    return { full, changes, transaction: sent.length ? sent.join('\n') + '\n' : '' };
  }
}
