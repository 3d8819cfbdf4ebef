// The agent's nftables syncer (SyncerOptions -> Syncer): NftablesSyncer over nft in
// this namespace (or options.netns), with a render failure told apart from a kernel one.

import type { SyncerOptions } from '../backend.js';
import { KernelTouch, setSysctls, type Syncer } from '../syncer.js';
import { nftRunner } from './apply.js';
import { NFTABLES_SYSCTLS } from './sysctls.js';
import { NftablesSyncer, type NftRunner } from './syncer.js';

/** `runner`: tests pass one of their own (the agent passes none). */
export function createNftablesSyncer(options: SyncerOptions, runner: NftRunner = nftRunner(options.netns, options.exec)): Syncer {
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
    ...(runner.loadChunks ? { loadChunks: (c: Iterable<string>) => ((touch.touched = true), runner.loadChunks!(c)) } : {}),
    ...(runner.ruleCounts ? { ruleCounts: (c: Parameters<NonNullable<NftRunner['ruleCounts']>>[0]) => ((touch.touched = true), runner.ruleCounts!(c)) } : {}),
    ...(runner.summary ? { summary: () => ((touch.touched = true), runner.summary!()) } : {}),
  };
  // The agent never reads a transaction's text: a full sync's is not kept.
  const syncer = new NftablesSyncer(watched, undefined, { keepTransaction: false });
  const host = options.netns === undefined;
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
