// The agent's iptables syncer (SyncerOptions -> Syncer): IptablesSyncer over the
// node's iptables flavour, with a render failure told apart from a kernel one and
// the rule counts kube-proxy's iptables metrics report.

import { systemExec } from '../../exec/system-exec.js';
import type { SyncerOptions } from '../backend.js';
import { KernelTouch, setSysctls, type Syncer } from '../syncer.js';
import { IptablesRunner } from './apply.js';
import { iptablesSysctls } from './sysctls.js';
import { IptablesSyncer } from './syncer.js';

export function createIptablesSyncer(options: SyncerOptions): Syncer {
  const touch = new KernelTouch();
  // Every tool the runner runs reaches the kernel (flavour detection included, which
  // comes after the render): a failure before the first one is a render failure.
  const exec = options.exec ?? systemExec;
  const syncer = new IptablesSyncer(new IptablesRunner(options.netns, undefined, touch.watching(exec)), undefined, undefined, false);
  const host = options.netns === undefined;
  return {
    backend: 'iptables',
    sync: (input, req) =>
      touch.guard(async () => {
        const unsetSysctls = req.full && host ? await setSysctls(iptablesSysctls(input)) : undefined;
        const r = await syncer.sync(input, { full: req.full, changed: req.changed, preserveServices: req.preserve });
        const iptablesRules = r.rulesOwned.map((o) => ({ ...o, owned: o.rules, written: r.rulesWritten.get(`${o.family}/${o.table}`) ?? 0 }));
        return { full: r.full, changes: r.changes, iptablesRules, ...(unsetSysctls ? { unsetSysctls } : {}) };
      }),
  };
}
