// The iptables ruleset as one text document, and iptables-save output parsed back.
//
// The document holds two sections, each valid restore input on its own: the IPv4
// part for iptables-restore and the IPv6 part for ip6tables-restore, marked by
// comment lines (restore ignores lines starting with '#'). Each table declares
// our chains (`:SVP-… - [0:0]`, which with --noflush creates or flushes only
// that chain) and then their rules. Built-in chains are never declared here.

import type { IPFamily } from '../../model/ip.js';
import { CHAIN_PREFIX } from './names.js';
import { BUILTIN_JUMPS, type AnyTable, type IptChain, type IptTables, type TableName } from './render.js';

export const SECTION_MARKER: Record<IPFamily, string> = {
  IPv4: '# ==== IPv4: iptables-restore --noflush input ====',
  IPv6: '# ==== IPv6: ip6tables-restore --noflush input ====',
};

const TABLE_ORDER: readonly TableName[] = ['filter', 'nat'];

/** Appends the lines of one table's restore input to `out`: `*TABLE`, chain declarations, rules, deletions, COMMIT. */
function tableLines(out: string[], table: AnyTable, chains: readonly IptChain[], deleted: readonly string[] = []): void {
  out.push(`*${table}`);
  for (const c of chains) out.push(`:${c.name} - [0:0]`);
  for (const name of deleted) out.push(`:${name} - [0:0]`);
  for (const c of chains) for (const r of c.rules) out.push(r);
  for (const name of deleted) out.push(`-X ${name}`);
  out.push('COMMIT');
}

/** `*TABLE`, chain declarations, rules, COMMIT: restore input for one table. */
export function tableText(table: AnyTable, chains: readonly IptChain[], deleted: readonly string[] = []): string {
  const lines: string[] = [];
  tableLines(lines, table, chains, deleted);
  return lines.join('\n') + '\n';
}

function familyLines(out: string[], t: IptTables): void {
  for (const name of TABLE_ORDER) tableLines(out, name, t[name]);
}

/** restore input for one family: both tables, every chain. */
export function familyText(t: IptTables): string {
  const lines: string[] = [];
  familyLines(lines, t);
  return lines.join('\n') + '\n';
}

/**
 * The whole document: a header listing the built-in jumps apply adds, then one section per family.
 * Every line goes into one array joined once: at 10k Services the document is 48 MB, and
 * joining per table, then per family, then the whole copied it three times.
 */
export function serializeIptables(tables: readonly IptTables[]): string {
  const lines = [
    '# svcplane iptables ruleset. Apply loads each section with --noflush and then makes sure',
    '# these jumps from the built-in chains exist (inserted first, never by flushing a built-in chain):',
    ...BUILTIN_JUMPS.map((j) => `#   -t ${j.table} -I ${j.chain} ${j.rule.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ')}`),
  ];
  for (const t of tables) {
    lines.push(SECTION_MARKER[t.family]);
    familyLines(lines, t);
  }
  return lines.join('\n') + '\n';
}

/** One section of a rendered document (for the restore tools). */
export function documentSection(document: string, family: IPFamily): string {
  const start = document.indexOf(SECTION_MARKER[family]);
  if (start < 0) throw new Error(`no ${family} section in the document`);
  const other = document.indexOf(SECTION_MARKER[family === 'IPv4' ? 'IPv6' : 'IPv4'], start);
  return document.slice(start, other < 0 ? undefined : other);
}

function firstWord(line: string, from: number): string {
  const end = line.indexOf(' ', from);
  return end < 0 ? line.slice(from) : line.slice(from, end);
}

/** Our chains (SVP-…) in one table of iptables-save output, with their rules in order. */
export function parseSavedChains(saveOutput: string, table: AnyTable): Map<string, string[]> {
  const chains = new Map<string, string[]>();
  let inTable = false;
  for (const line of saveOutput.split('\n')) {
    if (line.startsWith('*')) {
      inTable = line === `*${table}`;
      continue;
    }
    if (!inTable) continue;
    // The chain name is the first word: cut it out, not split the line into words (a
    // full read-back at 10k Services is 4.3 * 10^5 lines of some 20 words).
    if (line.startsWith(':')) {
      const name = firstWord(line, 1);
      if (name.startsWith(CHAIN_PREFIX)) chains.set(name, []);
    } else if (line.startsWith('-A ')) {
      chains.get(firstWord(line, 3))?.push(line);
    }
  }
  return chains;
}

/**
 * Rules (`-A` lines) per "family/table" in an iptables syncer transaction (restore input, one
 * section per family). Walks the text line by line in place: the agent counts every sync's
 * transaction, 48 MB at a first sync at 10k Services, which split into lines was a second copy.
 */
export function rulesWritten(transaction: string): Map<string, number> {
  const out = new Map<string, number>();
  const markers = Object.entries(SECTION_MARKER) as Array<[IPFamily, string]>;
  let key: string | undefined; // "family/table" of the lines being read
  let family: string | undefined;
  let n = 0;
  const flush = () => {
    if (key !== undefined && n > 0) out.set(key, (out.get(key) ?? 0) + n);
    n = 0;
  };
  for (let at = 0; at < transaction.length; ) {
    const eol = transaction.indexOf('\n', at);
    const end = eol < 0 ? transaction.length : eol;
    if (transaction.startsWith('-A ', at)) {
      if (key !== undefined) n++;
    } else if (transaction.startsWith('*', at)) {
      flush();
      key = family === undefined ? undefined : `${family}/${transaction.slice(at + 1, end)}`;
    } else {
      const marker = markers.find(([, m]) => end - at === m.length && transaction.startsWith(m, at));
      if (marker) {
        flush();
        family = marker[0];
        key = undefined;
      }
    }
    at = end + 1;
  }
  flush();
  return out;
}
