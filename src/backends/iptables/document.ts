// The iptables ruleset as one text document, and iptables-save output parsed back.
//
// The document holds two sections, each valid restore input on its own: the IPv4
// part for iptables-restore and the IPv6 part for ip6tables-restore, marked by
// comment lines (restore ignores lines starting with '#'). Each table declares
// our chains (`:SVP-… - [0:0]`, which with --noflush creates or flushes only
// that chain) and then their rules. Built-in chains are never declared here.

import type { IPFamily } from '../../model/ip.js';
import { CHAIN_PREFIX } from './names.js';
import { trafficJumps } from './traffic-set.js';
import { BUILTIN_JUMPS, type BuiltinJump, type AnyTable, type IptChain, type IptTables, type TableName } from './render.js';

export const SECTION_MARKER: Record<IPFamily, string> = {
  IPv4: '# ==== IPv4: iptables-restore --noflush input ====',
  IPv6: '# ==== IPv6: ip6tables-restore --noflush input ====',
};

/** Marks `ipset restore` input (the traffic set, traffic-set.ts) in an apply's or a sync's transaction. */
export const IPSET_MARKER = '# ==== ipset restore input ====';

const TABLE_ORDER: readonly TableName[] = ['filter', 'nat'];

/** `:CHAIN - [0:0]`: declares (with --noflush: creates or flushes) one chain of ours. */
export function chainDeclaration(name: string): string {
  return `:${name} - [0:0]`;
}

/**
 * The lines of one table's restore input: `*TABLE`, chain declarations, rules, deletions,
 * COMMIT. The one writer of that format: the document, the diff's text and the syncer's
 * streamed transaction (restore-input.ts, which pulls them a piece at a time) all come from here.
 */
export function* tableLines(table: AnyTable, chains: readonly IptChain[], deleted: readonly string[] = []): Generator<string> {
  yield `*${table}`;
  for (const c of chains) yield chainDeclaration(c.name);
  for (const name of deleted) yield chainDeclaration(name);
  for (const c of chains) yield* c.rules;
  for (const name of deleted) yield `-X ${name}`;
  yield 'COMMIT';
}

/** `*TABLE`, chain declarations, rules, COMMIT: restore input for one table. */
export function tableText(table: AnyTable, chains: readonly IptChain[], deleted: readonly string[] = []): string {
  return [...tableLines(table, chains, deleted)].join('\n') + '\n';
}

function familyLines(out: string[], t: IptTables): void {
  for (const name of TABLE_ORDER) for (const line of tableLines(name, t[name])) out.push(line);
}

/** restore input for one family: both tables, every chain. */
export function familyText(t: IptTables): string {
  const lines: string[] = [];
  familyLines(lines, t);
  return lines.join('\n') + '\n';
}

/** `#   -t TABLE -I CHAIN RULE…`: a built-in jump as the document's header lists it. */
function jumpComment(j: BuiltinJump): string {
  return `#   -t ${j.table} -I ${j.chain} ${j.rule.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ')}`;
}

/** The document's comment lines before the sections: the built-in jumps and counting rules apply adds. */
export function documentHeader(families: readonly IPFamily[]): string[] {
  return [
    '# svcplane iptables ruleset. Apply loads each section with --noflush and then makes sure',
    '# these jumps from the built-in chains exist (inserted first, never by flushing a built-in chain;',
    '# in this order, those that DNAT last, so that nothing is DNATed before masquerading is in place):',
    ...BUILTIN_JUMPS.map(jumpComment),
    '# and these rules, which count packets and bytes per endpoint in the traffic sets (ipset restore',
    '# before the rules, one element per endpoint of every Service port, commented ns/name:port/PROTO):',
    ...families.flatMap((f) => trafficJumps(f).map((j) => `#   ${f === 'IPv4' ? 'iptables' : 'ip6tables'} ${jumpComment(j).slice(4)}`)),
  ];
}

/**
 * The whole document: a header listing the built-in jumps apply adds, then one section per family.
 * Every line goes into one array joined once: at 10k Services the document is 48 MB, and
 * joining per table, then per family, then the whole copied it three times.
 */
export function serializeIptables(tables: readonly IptTables[]): string {
  const lines = documentHeader(tables.map((t) => t.family));
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

/** The word of `text` that starts at `from`, within the line that ends at `lineEnd`. */
function firstWord(text: string, from: number, lineEnd: number): string {
  const space = text.indexOf(' ', from);
  return text.slice(from, space < 0 || space > lineEnd ? lineEnd : space);
}

/** Our chains (SVP-…) in one table of iptables-save output, with their rules in order. */
export function parseSavedChains(saveOutput: string, table: AnyTable): Map<string, string[]> {
  const chains = new Map<string, string[]>();
  const header = `*${table}`;
  let inTable = false;
  // Only the lines of our chains become strings: iptables-save's whole nat table at 10k
  // Services is 4.3 * 10^5 lines (more beside kube-proxy's), once split into an array of all of them.
  forEachLine(saveOutput, (at, end) => {
    if (saveOutput.startsWith('*', at)) {
      inTable = end - at === header.length && saveOutput.startsWith(header, at);
    } else if (!inTable) {
      return;
    } else if (saveOutput.startsWith(':', at)) {
      const name = firstWord(saveOutput, at + 1, end);
      if (name.startsWith(CHAIN_PREFIX)) chains.set(name, []);
    } else if (saveOutput.startsWith('-A ', at)) {
      // The chain name is the first word: cut it out, not split the line into words.
      chains.get(firstWord(saveOutput, at + 3, end))?.push(saveOutput.slice(at, end));
    }
  });
  return chains;
}

/** Calls `fn` with the start and end (exclusive, before the newline) of each line of `text`. */
function forEachLine(text: string, fn: (at: number, end: number) => void): void {
  for (let at = 0; at < text.length; ) {
    const eol = text.indexOf('\n', at);
    const end = eol < 0 ? text.length : eol;
    fn(at, end);
    at = end + 1;
  }
}

/**
 * Rules (`-A` lines) per "family/table" in an iptables syncer transaction (restore input, one
 * section per family). The syncer counts what it writes as it writes it
 * (IptablesSyncResult.rulesWritten); this reads a transaction kept as text.
 */
export function rulesWritten(transaction: string): Map<string, number> {
  const out = new Map<string, number>();
  let family: string | undefined;
  let table: string | undefined;
  for (const line of transaction.split('\n')) {
    const marker = (Object.keys(SECTION_MARKER) as Array<keyof typeof SECTION_MARKER>).find((f) => SECTION_MARKER[f] === line);
    if (marker) family = marker;
    else if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith('-A ') && family && table) out.set(`${family}/${table}`, (out.get(`${family}/${table}`) ?? 0) + 1);
  }
  return out;
}
