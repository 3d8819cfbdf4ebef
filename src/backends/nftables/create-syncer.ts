// The agent's nftables syncer (SyncerOptions -> Syncer): NftablesSyncer over nft in
// this namespace (or options.netns), with a render failure told apart from a kernel one.
// With the system's exec (not a test's FakeExec or runner), incremental transactions go
// through one long-lived `nft -j -i` (src/exec/session.ts), closed with the syncer.

import type { SyncerOptions } from '../backend.js';
import { NftSession } from '../../exec/session.js';
import { KernelTouch, setSysctls, type Syncer } from '../syncer.js';
import { nftRunner } from './apply.js';
import { NFTABLES_SYSCTLS } from './sysctls.js';
import type { NftFamily } from './nft.js';
import type { NftListingSink } from './listing-stream.js';
import { NftablesSyncer, type NftRunner } from './syncer.js';

/** SVCPLANE_NFT_SESSION=off: every transaction one-shot (to compare, or should an nft's -i mode misbehave). */
const sessionAllowed = () => process.env.SVCPLANE_NFT_SESSION !== 'off';
/** SVCPLANE_NFT_TEXT=off: incremental transactions as JSON only (text-transaction.ts), to compare. */
const textAllowed = () => process.env.SVCPLANE_NFT_TEXT !== 'off';

/**
 * SVCPLANE_NFT_READ_BACK_EVERY=N: every N-th periodic resync reads everything back (default
 * DEFAULT_READ_BACK_EVERY; 1: every one does). For measurements: bench/agent-memory.ts's resync
 * step is the read-back full sync with it at 1.
 */
function readBackEvery(): number | undefined {
  const n = Number(process.env.SVCPLANE_NFT_READ_BACK_EVERY);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** `runner`: tests pass one of their own (the agent passes none). */
export function createNftablesSyncer(options: SyncerOptions, runner?: NftRunner): Syncer {
  const session = runner || options.exec || !sessionAllowed() ? undefined : new NftSession({ ...(options.netns ? { netns: options.netns } : {}), onLost: (why) => options.log?.warn({ why }, 'nft session lost; transaction sent one-shot') });
  // Started while the first (full, one-shot) sync runs: the first change need not wait for it.
  session?.warm();
  const base = runner ?? nftRunner(options.netns, options.exec);
  const kernel: NftRunner = session ? { ...base, loadIncremental: async (d) => void (await session.load(d, base.load)) } : base;
  const touch = new KernelTouch();
  const watched: NftRunner = {
    list: () => {
      touch.touched = true;
      return kernel.list();
    },
    load: (d) => {
      touch.touched = true;
      return kernel.load(d);
    },
    ...(kernel.listTable ? { listTable: (f: NftFamily, n: string) => ((touch.touched = true), kernel.listTable!(f, n)) } : {}),
    ...(kernel.streamTable ? { streamTable: (f: NftFamily, n: string, sink: NftListingSink) => ((touch.touched = true), kernel.streamTable!(f, n, sink)) } : {}),
    ...(kernel.loadChunks ? { loadChunks: (c: Iterable<string>) => ((touch.touched = true), kernel.loadChunks!(c)) } : {}),
    ...(kernel.loadIncremental ? { loadIncremental: (d: string) => ((touch.touched = true), kernel.loadIncremental!(d)) } : {}),
    ...(kernel.ruleCounts ? { ruleCounts: (c: Parameters<NonNullable<NftRunner['ruleCounts']>>[0]) => ((touch.touched = true), kernel.ruleCounts!(c)) } : {}),
    ...(kernel.summary ? { summary: () => ((touch.touched = true), kernel.summary!()) } : {}),
  };
  // The agent never reads a transaction's text: a full sync's is not kept.
  // Cacheless text only to nft itself: a test's runner or exec reads JSON.
  const syncer = new NftablesSyncer(watched, readBackEvery(), { keepTransaction: false, cachelessText: !runner && !options.exec && textAllowed() });
  const host = options.netns === undefined;
  return {
    backend: 'nftables',
    sync: (input, req) =>
      touch.guard(async () => {
        const unsetSysctls = req.full && host ? await setSysctls(NFTABLES_SYSCTLS) : undefined;
        const r = await syncer.sync(input, req.full ? undefined : req.changed, req.preserve);
        return { full: r.full, changes: r.changes, ...(unsetSysctls ? { unsetSysctls } : {}) };
      }),
    close: async () => session?.close(),
  };
}
