// One interface over the backends' ways to the kernel, for the reconciler:
// nftables, iptables and ipvs have incremental syncers.
//
// "Never apply a ruleset that did not render": every backend renders before it
// touches the kernel, so an error thrown before the first kernel call (read-back
// or write) is a render error, and the kernel was not changed. The runners are
// wrapped to notice that first call.

import { IptablesRunner } from '../backends/iptables/apply.js';
import { iptablesSysctls } from '../backends/iptables/apply.js';
import { IptablesSyncer } from '../backends/iptables/syncer.js';
import { ipvsSysctls } from '../backends/ipvs/kernel-settings.js';
import { IpvsSyncer, type SyncerLog } from '../backends/ipvs/syncer.js';
import type { Exec } from '../exec/exec.js';
import { systemExec } from '../exec/system-exec.js';
import { getBackend } from '../backends/registry.js';
import { NFTABLES_SYSCTLS, nftRunner } from '../backends/nftables/apply.js';
import { NftablesSyncer, type NftRunner } from '../backends/nftables/syncer.js';
import { ensureSysctls } from '../backends/sysctl.js';
import { isInputError } from '../model/errors.js';
import type { RenderInput } from '../model/render-input.js';
import { listenerPlan } from '../userspace/plan.js';
import { rulesWritten } from './metric-values.js';
import { UserspaceProxy, type UserspaceProxyOptions } from '../userspace/proxy.js';

export interface RulesSyncResult {
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

/** Sets what the backend needs and says what it could not (a read-only /proc/sys in a container without the rights). */
async function setSysctls(wanted: Record<string, string>): Promise<UnsetSysctl[]> {
  // ensureSysctls reports "key: message"; a sysctl key never contains ": ".
  return (await ensureSysctls(wanted)).map((p) => {
    const i = p.indexOf(': ');
    return i < 0 ? { name: p, error: 'cannot be set' } : { name: p.slice(0, i), error: p.slice(i + 2) };
  });
}

export interface RulesSyncer {
  readonly backend: string;
  /**
   * Makes the kernel match `input` (node.localAddresses filled in). `changed` lists
   * the Services that changed since the last sync; `full` compares everything.
   * `preserve`: Services whose input was skipped as malformed keep their rules.
   */
  sync(input: RenderInput, req: { full: boolean; changed: ReadonlySet<string>; preserve: readonly string[] }): Promise<RulesSyncResult>;
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
class KernelTouch {
  touched = false;
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

export function nftablesRulesSyncer(runner: NftRunner = nftRunner(), host = true): RulesSyncer {
  const touch = new KernelTouch();
  const watched: NftRunner = {
    list: () => {
      touch.touched = true;
      return runner.list();
    },
    load: (d) => {
      touch.touched = true;
      return runner.load(d);
    },
    ...(runner.summary ? { summary: () => ((touch.touched = true), runner.summary!()) } : {}),
  };
  const syncer = new NftablesSyncer(watched);
  return {
    backend: 'nftables',
    sync: (input, req) =>
      touch.guard(async () => {
        const unsetSysctls = req.full && host ? await setSysctls(NFTABLES_SYSCTLS) : undefined;
        const r = await syncer.sync(input, req.full ? undefined : req.changed, req.preserve);
        return { full: r.full, changes: r.changes, ...(unsetSysctls ? { unsetSysctls } : {}) };
      }),
  };
}

class TouchingIptablesRunner extends IptablesRunner {
  constructor(
    private readonly touch: KernelTouch,
    netns?: string,
  ) {
    super(netns);
  }
  override savedChains(...a: Parameters<IptablesRunner['savedChains']>) {
    this.touch.touched = true;
    return super.savedChains(...a);
  }
  override restore(...a: Parameters<IptablesRunner['restore']>) {
    this.touch.touched = true;
    return super.restore(...a);
  }
  override rule(...a: Parameters<IptablesRunner['rule']>) {
    this.touch.touched = true;
    return super.rule(...a);
  }
}

export function iptablesRulesSyncer(netns?: string): RulesSyncer {
  const touch = new KernelTouch();
  const syncer = new IptablesSyncer(new TouchingIptablesRunner(touch, netns));
  return {
    backend: 'iptables',
    sync: (input, req) =>
      touch.guard(async () => {
        const unsetSysctls = req.full && !netns ? await setSysctls(iptablesSysctls(input)) : undefined;
        const r = await syncer.sync(input, { full: req.full, changed: req.changed, preserveServices: req.preserve });
        const written = rulesWritten(r.transaction);
        const iptablesRules = r.rulesOwned.map((o) => ({ ...o, owned: o.rules, written: written.get(`${o.family}/${o.table}`) ?? 0 }));
        return { full: r.full, changes: r.changes, iptablesRules, ...(unsetSysctls ? { unsetSysctls } : {}) };
      }),
  };
}

/**
 * IPVS through its incremental syncer: a full sync (read back everything) first, when
 * asked and after a failure; otherwise only the changed Services' commands. The kernel
 * counts as touched once the syncer ran its first tool: a render error comes before.
 */
export function ipvsRulesSyncer(opts: { exec?: Exec; netns?: string; log?: SyncerLog } = {}): RulesSyncer {
  const touch = new KernelTouch();
  const exec = opts.exec ?? systemExec;
  const watched: Exec = { run: (c) => ((touch.touched = true), exec.run(c)) };
  const syncer = new IpvsSyncer({ ...opts, exec: watched });
  return {
    backend: 'ipvs',
    sync: (input, req) =>
      touch.guard(async () => {
        const unsetSysctls = req.full && !opts.netns ? await setSysctls(ipvsSysctls(input.config)) : undefined;
        const r = await syncer.sync(input, { full: req.full, preserve: req.preserve });
        return { full: r.full, changes: r.changes, ...(unsetSysctls ? { unsetSysctls } : {}) };
      }),
  };
}

/**
 * The userspace proxy: the agent process relays the traffic itself. Its "render" is the
 * listener plan; an error there means nothing was opened, closed or sent to nft.
 */
export function userspaceRulesSyncer(opts: UserspaceProxyOptions): RulesSyncer & { readonly proxy: UserspaceProxy } {
  const proxy = new UserspaceProxy(opts);
  return {
    backend: 'userspace',
    proxy,
    async sync(input, req) {
      let plan;
      try {
        plan = listenerPlan(input);
      } catch (e) {
        throw new RenderFailed(e);
      }
      return proxy.sync(plan, req);
    },
    close: () => proxy.close(),
  };
}

/** Backends that exist only in the agent (no precompiled ruleset, no one-shot apply). */
export const AGENT_ONLY_BACKENDS = ['userspace'] as const;

export function rulesSyncerFor(backend: string, opts: { log: UserspaceProxyOptions['log']; udpIdleTimeoutMs?: number }): RulesSyncer {
  switch (backend) {
    case 'userspace':
      return userspaceRulesSyncer({ log: opts.log, ...(opts.udpIdleTimeoutMs ? { udp: { idleMs: opts.udpIdleTimeoutMs } } : {}) });
    case 'nftables':
      return nftablesRulesSyncer();
    case 'iptables':
      return iptablesRulesSyncer();
    case 'ipvs':
      return ipvsRulesSyncer({ log: opts.log });
    default:
      getBackend(backend);
      throw new Error(`backend ${backend} has no agent support`);
  }
}
