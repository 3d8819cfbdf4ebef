// The only nftables code that touches the kernel: read our tables back, send the
// difference as one `nft -j -f -` transaction (atomic: on error nothing changes).

import { execa } from '../lazy-execa.js';
import type { ApplyOptions, ApplyResult } from '../backend.js';
import type { RenderInput } from '../../model/render-input.js';
import { documentText, parseLiveTable } from './document.js';
import { diffAll, matchLive } from './diff.js';
import { preserveServices } from './preserve.js';
import type { NftFamily, NftTable } from './nft.js';
import { keptShards, renderTables, TABLE_NAME, TABLE_NAMES } from './render.js';
import { ensureSysctls } from '../sysctl.js';
import { NFTABLES_SYSCTLS } from './sysctls.js';
import { withLocalAddresses } from '../local-addresses.js';
import { execWithInput } from '../stdin-file.js';
import type { NftRunner } from './syncer.js';
import { parseSummary, type NftSummary } from './summary.js';

/** `nft ARGS`, or `ip netns exec NS nft ARGS` to reach another network namespace (tests, benchmarks). */
function nftArgv(args: readonly string[], netns?: string): [string, string[]] {
  return netns ? ['ip', ['netns', 'exec', netns, 'nft', ...args]] : ['nft', [...args]];
}

/** Reads one of our tables; undefined when it does not exist. */
export async function readLiveTable(family: NftFamily, name = TABLE_NAME, netns?: string): Promise<NftTable | undefined> {
  const [file, argv] = nftArgv(['-j', 'list', 'table', family, name], netns);
  const r = await execa(file, argv, { reject: false, maxBuffer: 1 << 30 });
  if (r.exitCode !== 0) {
    if (/No such file or directory/.test(r.stderr)) return undefined;
    throw new Error(`nft list table ${family} ${name} failed: ${r.stderr.trim()}`);
  }
  return parseLiveTable(r.stdout, family, name);
}

/**
 * Reads every table of ours that exists (main and shards, both families), one
 * `nft -j list table` per name, four at a time. Not `nft list ruleset` (nor
 * `list tables`): with our tables at 10k Services that took 40 s here (26 s for
 * `list tables`), almost all of it kernel time dumping rules across tables, against
 * 5 s for the tables one by one; a table that does not exist answers in ~25 ms.
 */
export async function readLiveTables(netns?: string): Promise<NftTable[]> {
  const names = (['ip', 'ip6'] as const).flatMap((family) => TABLE_NAMES.map((name) => ({ family, name })));
  const found: (NftTable | undefined)[] = new Array(names.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < names.length; i = next++) found[i] = await readLiveTable(names[i]!.family, names[i]!.name, netns);
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return found.filter((t): t is NftTable => t !== undefined);
}

/**
 * Which of our tables exist and how many chains and sets each holds: two listings
 * that fetch no rules and no elements (summary.ts), run side by side.
 */
export async function readLiveSummary(netns?: string): Promise<NftSummary> {
  const list = async (args: string[]) => {
    const [file, argv] = nftArgv(args, netns);
    const r = await execa(file, argv, { reject: false, maxBuffer: 1 << 30 });
    if (r.exitCode !== 0) throw new Error(`nft ${args.join(' ')} failed: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const [chains, sets, maps] = await Promise.all([list(['-j', 'list', 'chains']), list(['-t', '-j', 'list', 'sets']), list(['-t', '-j', 'list', 'maps'])]);
  return parseSummary(chains, sets, maps);
}

/** Sends a JSON document to nft as one transaction. */
export async function nftLoad(document: string, check = false, netns?: string): Promise<void> {
  const args = check ? ['-c', '-j', '-f', '-'] : ['-j', '-f', '-'];
  const r = await execWithInput(...nftArgv(args, netns), document);
  if (r.exitCode !== 0) throw new Error(`nft ${args.join(' ')} failed: ${r.stderr.trim()}`);
}

export async function applyNftables(input: RenderInput, options: ApplyOptions = {}): Promise<ApplyResult> {
  const keep = options.preserveServices ?? [];
  const node = await withLocalAddresses(input.node);
  const live = await readLiveTables();
  const desired = renderTables({ ...input, node }, keptShards(keep, live));
  const twins = matchLive(desired, live);
  const tx = diffAll(desired.map((t, i) => preserveServices(t, twins[i], keep)), live);
  if (tx.commands.length === 0) return { changes: 0, transaction: '' };
  const text = documentText(tx.commands);
  if (!options.dryRun) {
    await ensureSysctls(NFTABLES_SYSCTLS);
    await nftLoad(text);
  }
  return { changes: tx.changes, transaction: text };
}

/** Removes our tables (main and shards) and nothing else. */
export async function cleanupNftables(): Promise<number> {
  const live = await readLiveTables();
  if (live.length) await nftLoad(documentText(live.map((t) => ({ delete: { table: { family: t.family, name: t.name } } }))));
  return live.length;
}

/** The syncer's way to the kernel: nft in this network namespace, or in `netns`. */
export function nftRunner(netns?: string): NftRunner {
  return {
    list: () => readLiveTables(netns),
    summary: () => readLiveSummary(netns),
    load: (document) => nftLoad(document, false, netns),
  };
}
