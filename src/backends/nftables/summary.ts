// A cheap picture of our tables in the kernel: which exist and how many chains and
// sets (maps included) each holds. `nft -j list chains` and `nft -t -j list sets`
// (and `maps`) fetch no rules and no elements, so at 10k Services they cost a
// fraction of reading the tables back (see README.md). The syncer compares it with what it knows it sent: a table,
// chain or set deleted (or added) behind its back shows; a single rule or element
// does not, which is why a full read-back still runs every few resyncs. Pure.

import type { NftListingSink } from './listing-stream.js';
import type { NftTable } from './nft.js';
import { TABLE_NAMES } from './render.js';

export interface TableCounts {
  chains: number;
  sets: number;
}

/** By `family name`, our tables only. */
export type NftSummary = Map<string, TableCounts>;

const OURS = new Set(TABLE_NAMES);

/** Adds `chains` and `sets` (negative to remove) to table `id`'s counts. */
export function addCounts(s: NftSummary, id: string, chains: number, sets: number): void {
  const c = s.get(id);
  if (c) {
    c.chains += chains;
    c.sets += sets;
  } else s.set(id, { chains, sets });
}

/** The summary of `nft -j list chains`, `nft -t -j list sets` and `nft -t -j list maps` output. */
export function parseSummary(chainsJson: string, setsJson: string, mapsJson: string): NftSummary {
  const s: NftSummary = new Map();
  const items = (text: string) => (JSON.parse(text) as { nftables?: Record<string, { family?: string; table?: string }>[] }).nftables ?? [];
  for (const [kind, text] of [['chain', chainsJson], ['set', setsJson], ['map', mapsJson]] as const) {
    for (const item of items(text)) {
      const o = item[kind];
      if (!o?.table || !o.family || !OURS.has(o.table)) continue;
      addCounts(s, `${o.family} ${o.table}`, kind === 'chain' ? 1 : 0, kind === 'chain' ? 0 : 1);
    }
  }
  return s;
}

/**
 * A listing sink (listing-stream.ts) that counts each `kind` item of our tables into `s`,
 * as parseSummary does: fed `nft -j list chains` as it streams, the listing's text and
 * its parse are never whole (at 44k Services ~130k chains: tens of MB of garbage at each
 * resync, which set the agent's peak through the changes that followed).
 */
export function summarySink(s: NftSummary, kind: 'chain' | 'set' | 'map'): NftListingSink {
  return {
    object: (item) => {
      const o = item[kind] as { family?: unknown; table?: unknown } | undefined;
      if (typeof o?.table !== 'string' || typeof o.family !== 'string' || !OURS.has(o.table)) return;
      addCounts(s, `${o.family} ${o.table}`, kind === 'chain' ? 1 : 0, kind === 'chain' ? 0 : 1);
    },
    element: () => undefined,
  };
}

/** Adds (by = 1) or removes (by = -1) what `tables` hold to `s`. */
export function countTables(s: NftSummary, tables: readonly Pick<NftTable, 'family' | 'name' | 'chains' | 'sets'>[], by: 1 | -1): void {
  for (const t of tables) addCounts(s, `${t.family} ${t.name}`, by * t.chains.length, by * t.sets.length);
}

/** Whether the kernel's summary is the expected one (tables with nothing in them count as absent). */
export function sameSummary(expected: NftSummary, live: NftSummary): boolean {
  const present = (s: NftSummary) => [...s].filter(([, c]) => c.chains !== 0 || c.sets !== 0);
  const e = present(expected);
  if (e.length !== present(live).length) return false;
  return e.every(([id, c]) => {
    const l = live.get(id);
    return l !== undefined && l.chains === c.chains && l.sets === c.sets;
  });
}

/** A chain named in full: `family table chain`. */
export function chainId(family: string, table: string, chain: string): string {
  return `${family} ${table} ${chain}`;
}

/** How many rules each listed chain holds, by chainId; -1 for a chain that does not exist. */
export type RuleCounts = Map<string, number>;

/** The number of rules in `nft -j list chain` output. */
export function countRules(listing: string): number {
  const items = (JSON.parse(listing) as { nftables?: Record<string, unknown>[] }).nftables ?? [];
  return items.filter((o) => 'rule' in o).length;
}

/** Whether every chain of `expected` holds as many rules in the kernel. */
export function sameRuleCounts(expected: RuleCounts, live: RuleCounts): boolean {
  for (const [id, n] of expected) if (live.get(id) !== n) return false;
  return true;
}
