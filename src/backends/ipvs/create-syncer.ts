// The agent's IPVS syncer (SyncerOptions -> Syncer): IpvsSyncer (syncer.ts) through
// the exec layer, a full sync (read back everything) first, when asked and after a
// failure, otherwise only the changed Services' commands. The kernel counts as touched
// once the syncer ran its first tool: a render error comes before any.

import { systemExec } from '../../exec/system-exec.js';
import type { SyncerOptions } from '../backend.js';
import { KernelTouch, setSysctls, type Syncer } from '../syncer.js';
import { ipvsSysctls } from './kernel-settings.js';
import { IpvsSyncer } from './syncer.js';

export function createIpvsSyncer(options: SyncerOptions): Syncer {
  const touch = new KernelTouch();
  const exec = options.exec ?? systemExec;
  const syncer = new IpvsSyncer({ ...options, exec: touch.watching(exec) });
  return {
    backend: 'ipvs',
    sync: (input, req) =>
      touch.guard(async () => {
        const unsetSysctls = req.full && options.netns === undefined ? await setSysctls(ipvsSysctls(input.config)) : undefined;
        const r = await syncer.sync(input, { full: req.full, preserve: req.preserve });
        return { full: r.full, changes: r.changes, ...(unsetSysctls ? { unsetSysctls } : {}) };
      }),
  };
}
