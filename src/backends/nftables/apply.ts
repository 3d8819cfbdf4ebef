// The only nftables code that touches the kernel: read our tables back, send the
// difference as one `nft -j -f -` transaction (atomic: on error nothing changes).

import { execa } from 'execa';
import type { ApplyOptions, ApplyResult } from '../backend.js';
import type { RenderInput } from '../../model/render-input.js';
import { documentText, parseLiveTable } from './document.js';
import { diffTables } from './diff.js';
import { preserveServices } from './preserve.js';
import type { NftFamily, NftTable } from './nft.js';
import { renderTables, TABLE_NAME } from './render.js';
import { ensureSysctls } from '../sysctl.js';
import { withLocalAddresses } from '../local-addresses.js';
import { execWithInput } from '../stdin-file.js';
import type { NftRunner } from './syncer.js';

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

/** Sends a JSON document to nft as one transaction. */
export async function nftLoad(document: string, check = false, netns?: string): Promise<void> {
  const args = check ? ['-c', '-j', '-f', '-'] : ['-j', '-f', '-'];
  const r = await execWithInput(...nftArgv(args, netns), document);
  if (r.exitCode !== 0) throw new Error(`nft ${args.join(' ')} failed: ${r.stderr.trim()}`);
}

/** Sysctls the nftables mode needs on a node (see README.md in this folder). */
export const NFTABLES_SYSCTLS: Record<string, string> = {
  // Service traffic to remote endpoints is forwarded.
  'net/ipv4/ip_forward': '1',
  'net/ipv6/conf/all/forwarding': '1',
};

export async function applyNftables(input: RenderInput, options: ApplyOptions = {}): Promise<ApplyResult> {
  const desired = renderTables({ ...input, node: await withLocalAddresses(input.node) });
  const live = await Promise.all(desired.map((t) => readLiveTable(t.family, t.name)));
  const keep = options.preserveServices ?? [];
  const tx = diffTables(desired.map((t, i) => preserveServices(t, live[i], keep)), live);
  if (tx.commands.length === 0) return { changes: 0, transaction: '' };
  const text = documentText(tx.commands);
  if (!options.dryRun) {
    await ensureSysctls(NFTABLES_SYSCTLS);
    await nftLoad(text);
  }
  return { changes: tx.changes, transaction: text };
}

/** Removes our tables and nothing else. */
export async function cleanupNftables(): Promise<number> {
  let removed = 0;
  for (const family of ['ip', 'ip6'] as const) {
    if (await readLiveTable(family)) {
      await nftLoad(documentText([{ delete: { table: { family, name: TABLE_NAME } } }]));
      removed++;
    }
  }
  return removed;
}

/** The syncer's way to the kernel: nft in this network namespace, or in `netns`. */
export function nftRunner(netns?: string): NftRunner {
  return {
    list: (family) => readLiveTable(family, TABLE_NAME, netns),
    load: (document) => nftLoad(document, false, netns),
  };
}
