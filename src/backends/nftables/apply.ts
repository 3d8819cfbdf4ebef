// The only nftables code that touches the kernel: read our tables back, send the
// difference as one `nft -j -f -` transaction (atomic: on error nothing changes).

import { ExecError, runChecked, type Command, type Exec } from '../../exec/exec.js';
import { systemExec } from '../../exec/system-exec.js';
import type { ApplyOptions, ApplyResult } from '../backend.js';
import type { RenderInput } from '../../model/render-input.js';
import { diffAll, matchLive } from './diff.js';
import { preserveServices } from './preserve.js';
import type { NftFamily, NftTable } from './nft.js';
import { readNftTable } from './read.js';
import type { NftListingSink } from './listing-stream.js';
import { streamListing, streamListingChecked } from './listing-read.js';
import { keptShards, renderTables, TABLE_NAME, TABLE_NAMES } from './render.js';
import { ensureSysctls } from '../sysctl.js';
import { NFTABLES_SYSCTLS } from './sysctls.js';
import { withNodeFacts } from '../node-facts.js';
import type { NftRunner } from './syncer.js';
import type { NftSession } from '../../exec/session.js';
import { chainId, countRules, summarySink, type NftSummary, type RuleCounts } from './summary.js';
import { del, tableObject, transactionText } from './transaction.js';

// Every function here runs nft through `exec` (a FakeExec in unit tests), inside
// network namespace `netns` when one is given (tests, benchmarks).

function nft(args: readonly string[], netns?: string, input?: string | Iterable<string>): Command {
  const stdin = input === undefined ? {} : typeof input === 'string' ? { input } : { inputChunks: input };
  return { file: 'nft', args, ...(netns ? { netns } : {}), ...stdin };
}

/** Reads one of our tables; undefined when it does not exist. */
export async function readLiveTable(family: NftFamily, name = TABLE_NAME, netns?: string, exec: Exec = systemExec): Promise<NftTable | undefined> {
  const cmd = nft(['-j', 'list', 'table', family, name], netns);
  const r = await exec.run(cmd);
  if (r.exitCode !== 0) {
    if (/No such file or directory/.test(r.stderr)) return undefined;
    throw new ExecError(cmd, r);
  }
  return readNftTable(r.stdout, family, name);
}

/**
 * Lists one of our tables into `sink` as nft prints it, never holding the listing whole
 * (listing-stream.ts; a read-back's streamed diff); false when the table does not exist.
 */
export async function streamLiveTable(family: NftFamily, name: string, sink: NftListingSink, netns?: string, exec: Exec = systemExec): Promise<boolean> {
  return streamListingChecked(['-j', 'list', 'table', family, name], sink, netns, exec, { absentOk: true });
}

/**
 * Reads every table of ours that exists (main and shards, both families), one
 * `nft -j list table` per name, four at a time. Not `nft list ruleset` (nor
 * `list tables`): with our tables at 10k Services that took 40 s here (26 s for
 * `list tables`), almost all of it kernel time dumping rules across tables, against
 * 5 s for the tables one by one; a table that does not exist answers in ~25 ms.
 */
export async function readLiveTables(netns?: string, exec: Exec = systemExec): Promise<NftTable[]> {
  const names = (['ip', 'ip6'] as const).flatMap((family) => TABLE_NAMES.map((name) => ({ family, name })));
  const found: (NftTable | undefined)[] = new Array(names.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < names.length; i = next++) found[i] = await readLiveTable(names[i]!.family, names[i]!.name, netns, exec);
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return found.filter((t): t is NftTable => t !== undefined);
}

/**
 * Which of our tables exist and how many chains and sets each holds: two listings
 * that fetch no rules and no elements (summary.ts), run side by side.
 */
export async function readLiveSummary(netns?: string, exec: Exec = systemExec): Promise<NftSummary> {
  // Each listing counted as it streams (summarySink): never whole, nor parsed whole.
  const s: NftSummary = new Map();
  const list = async (args: string[], kind: 'chain' | 'set' | 'map') => {
    const { cmd, r } = await streamListing(args, summarySink(s, kind), netns, exec);
    if (r.exitCode !== 0) throw new ExecError(cmd, r);
  };
  await Promise.all([list(['-j', 'list', 'chains'], 'chain'), list(['-t', '-j', 'list', 'sets'], 'set'), list(['-t', '-j', 'list', 'maps'], 'map')]);
  return s;
}

/**
 * How many rules each of `chains` ([family, table, chain]) holds, one `nft -j list
 * chain` each, four at a time: in a shard table at 10k Services one costs ~50 ms (nft
 * fetches only that chain), against ~0.5 s for the table. A chain that does not exist
 * counts -1.
 */
export async function readRuleCounts(chains: readonly (readonly [NftFamily, string, string])[], netns?: string, exec: Exec = systemExec): Promise<RuleCounts> {
  const counts: RuleCounts = new Map();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < chains.length; i = next++) {
      const [family, table, chain] = chains[i]!;
      const cmd = nft(['-j', 'list', 'chain', family, table, chain], netns);
      const r = await exec.run(cmd);
      if (r.exitCode !== 0 && !/No such file or directory/.test(r.stderr)) throw new ExecError(cmd, r);
      counts.set(chainId(family, table, chain), r.exitCode === 0 ? countRules(r.stdout) : -1);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return counts;
}

/** Sends a JSON document (whole, or in pieces) to nft as one transaction (`check`: only checks it, `nft -c`). */
export async function nftLoad(document: string | Iterable<string>, check = false, netns?: string, exec: Exec = systemExec): Promise<void> {
  await runChecked(exec, nft(check ? ['-c', '-j', '-f', '-'] : ['-j', '-f', '-'], netns, document));
}

export async function applyNftables(input: RenderInput, options: ApplyOptions = {}, exec: Exec = systemExec): Promise<ApplyResult> {
  const keep = options.preserveServices ?? [];
  const node = await withNodeFacts(input.node);
  const live = await readLiveTables(undefined, exec);
  const desired = renderTables({ ...input, node }, keptShards(keep, live));
  const twins = matchLive(desired, live);
  const tx = diffAll(desired.map((t, i) => preserveServices(t, twins[i], keep)), live);
  if (tx.commands.length === 0) return { changes: 0, transaction: '' };
  const text = transactionText(tx.commands);
  if (!options.dryRun) {
    await ensureSysctls(NFTABLES_SYSCTLS);
    await nftLoad(text, false, undefined, exec);
  }
  return { changes: tx.changes, transaction: text };
}

/** Removes our tables (main and shards) and nothing else. */
export async function cleanupNftables(exec: Exec = systemExec): Promise<number> {
  const live = await readLiveTables(undefined, exec);
  if (live.length) await nftLoad(transactionText(live.map((t) => del(tableObject(t)))), false, undefined, exec);
  return live.length;
}

/** The syncer's way to the kernel: nft in this network namespace, or in `netns`, through `exec`. */
export function nftRunner(netns?: string, exec: Exec = systemExec): NftRunner {
  return {
    list: () => readLiveTables(netns, exec),
    listTable: (family, name) => readLiveTable(family, name, netns, exec),
    streamTable: (family, name, sink) => streamLiveTable(family, name, sink, netns, exec),
    summary: () => readLiveSummary(netns, exec),
    ruleCounts: (chains) => readRuleCounts(chains, netns, exec),
    load: (document) => nftLoad(document, false, netns, exec),
    loadChunks: (chunks) => nftLoad(chunks, false, netns, exec),
  };
}

/**
 * `base` with its incremental transactions through `session` (refused or lost ones go
 * `base.load`'s one-shot way); `sent` counts them by kind, text (cacheless, see
 * text-transaction.ts) or JSON, for tests and benchmarks.
 */
export function sessionRunner(base: NftRunner, session: NftSession, sent?: { text: number; json: number }): NftRunner {
  return {
    ...base,
    loadIncremental: async (d) => {
      if (sent) sent[d.startsWith('{') ? 'json' : 'text']++;
      await session.load(d, base.load);
    },
  };
}
