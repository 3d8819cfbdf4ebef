// The agent's IPVS syncer (SyncerOptions -> Syncer). IPVS has no incremental syncer
// yet: each sync is the one-shot apply, which reads everything back. Options other
// than the namespace are not used yet; a netns other than the current one is refused
// rather than ignored (apply drives the current namespace only).

import type { SyncerOptions } from '../backend.js';
import { RenderFailed, setSysctls, type Syncer } from '../syncer.js';
import { applyIpvs } from './apply.js';
import { ipvsSysctls } from './kernel-settings.js';
import { renderIpvs } from './render.js';

export function createIpvsSyncer(options: SyncerOptions): Syncer {
  if (options.netns !== undefined) throw new Error(`the ipvs syncer drives the current network namespace only, not ${JSON.stringify(options.netns)}`);
  return {
    backend: 'ipvs',
    async sync(input, req) {
      try {
        renderIpvs(input);
      } catch (e) {
        throw new RenderFailed(e);
      }
      // apply sets them too but does not say what failed; asking first costs a few reads.
      const unsetSysctls = await setSysctls(ipvsSysctls(input.config));
      const r = await applyIpvs(input, { preserveServices: req.preserve });
      return { full: true, changes: r.changes, unsetSysctls };
    },
  };
}
