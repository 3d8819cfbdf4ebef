// The agent's iptables syncer (SyncerOptions -> Syncer): IptablesSyncer over the
// node's iptables flavour, with a render failure told apart from a kernel one and
// the rule counts kube-proxy's iptables metrics report.

import type { SyncerOptions } from '../backend.js';
import { KernelTouch, setSysctls, type Syncer } from '../syncer.js';
import { IptablesRunner } from './apply.js';
import { iptablesSysctls } from './sysctls.js';
import { rulesWritten } from './document.js';
import { IptablesSyncer } from './syncer.js';

/** A runner that notes every call that reaches the kernel. */
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

export function createIptablesSyncer(options: SyncerOptions): Syncer {
  const touch = new KernelTouch();
  const syncer = new IptablesSyncer(new TouchingIptablesRunner(touch, options.netns));
  const host = options.netns === undefined;
  return {
    backend: 'iptables',
    sync: (input, req) =>
      touch.guard(async () => {
        const unsetSysctls = req.full && host ? await setSysctls(iptablesSysctls(input)) : undefined;
        const r = await syncer.sync(input, { full: req.full, changed: req.changed, preserveServices: req.preserve });
        const written = rulesWritten(r.transaction);
        const iptablesRules = r.rulesOwned.map((o) => ({ ...o, owned: o.rules, written: written.get(`${o.family}/${o.table}`) ?? 0 }));
        return { full: r.full, changes: r.changes, iptablesRules, ...(unsetSysctls ? { unsetSysctls } : {}) };
      }),
  };
}
