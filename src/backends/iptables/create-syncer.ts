// The agent's iptables syncer (SyncerOptions -> Syncer): IptablesSyncer over the
// node's iptables flavour, with a render failure told apart from a kernel one and
// the rule counts kube-proxy's iptables metrics report. Each full sync logs how it
// knew what the kernel holds (the watch, the cheap check or a read-back, and why). The
// ruleset watch's process is stopped with the syncer (close).

import { systemExec } from '../../exec/system-exec.js';
import type { SyncerOptions } from '../backend.js';
import { KernelTouch, setSysctls, type Syncer } from '../syncer.js';
import { IptablesRunner } from './apply.js';
import { iptablesSysctls } from './sysctls.js';
import { RulesetWatch } from './ruleset-watch.js';
import { IptablesSyncer } from './syncer.js';

/**
 * SVCPLANE_IPTABLES_READ_BACK_EVERY=N: every N-th resync reads everything back even when the
 * cheap check agrees (default DEFAULT_READ_BACK_EVERY, resync-check.ts; 1: every one does,
 * as before the check: for measurements and for nodes where something rewrites single rules).
 */
export function readBackEveryFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const n = Number(env.SVCPLANE_IPTABLES_READ_BACK_EVERY);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

const FULL_SYNC_SAYS = {
  watched: 'no other process changed our tables, nothing read back',
  summary: 'cheap check agreed, nothing read back',
  'read-back': 'read everything back',
} as const;

export function createIptablesSyncer(options: SyncerOptions): Syncer {
  const touch = new KernelTouch();
  // Every tool the runner runs reaches the kernel (flavour detection included, which
  // comes after the render): a failure before the first one is a render failure.
  const exec = options.exec ?? systemExec;
  const every = readBackEveryFromEnv();
  // The ruleset watch (iptables-nft only) spares most resyncs the cheap check; SVCPLANE_IPTABLES_WATCH=off leaves it out.
  const watch = process.env.SVCPLANE_IPTABLES_WATCH === 'off' ? undefined : new RulesetWatch(options.netns);
  const syncer = new IptablesSyncer(new IptablesRunner(options.netns, undefined, touch.watching(exec)), undefined, undefined, false, {
    ...(every ? { readBackEvery: every } : {}),
    ...(watch ? { watch } : {}),
  });
  const host = options.netns === undefined;
  return {
    backend: 'iptables',
    sync: (input, req) =>
      touch.guard(async () => {
        const unsetSysctls = req.full && host ? await setSysctls(iptablesSysctls(input)) : undefined;
        const r = await syncer.sync(input, { full: req.full, changed: req.changed, preserveServices: req.preserve });
        if (r.check) options.log?.info({ check: r.check, ...(r.readBackWhy ? { why: r.readBackWhy } : {}), ...(r.checkWhy ? { checkedBecause: r.checkWhy } : {}), ...(r.settled ? { settled: r.settled } : {}), changes: r.changes }, `iptables full sync: ${FULL_SYNC_SAYS[r.check]}`);
        const iptablesRules = r.rulesOwned.map((o) => ({ ...o, owned: o.rules, written: r.rulesWritten.get(`${o.family}/${o.table}`) ?? 0 }));
        return { full: r.full, changes: r.changes, iptablesRules, ...(unsetSysctls ? { unsetSysctls } : {}) };
      }),
    close: async () => syncer.close(),
  };
}
