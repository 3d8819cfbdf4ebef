// Our rendered iptables document -> the dump the interpreter reads: one family's
// section, plus the jumps from the built-in chains that apply adds (the document
// lists them in its header; a live iptables-save has them in the built-in chains).

import { BUILTIN_JUMPS } from './render.js';
import { documentSection } from './document.js';
import type { IPFamily } from '../../model/ip.js';
import { readDump, type IptDump } from './trace-rules.js';

/** `-A CHAIN ARGS…` in save form (arguments with spaces quoted). */
export function jumpLine(chain: string, args: readonly string[]): string {
  return ['-A', chain, ...args.map((a) => (/\s/.test(a) ? `"${a}"` : a))].join(' ');
}

/** Adds rules to built-in chains of a dump (as apply inserts them: first). */
export function addBuiltinJumps(dump: IptDump, jumps: readonly { table: string; chain: string; rule: readonly string[] }[]): IptDump {
  for (const j of [...jumps].reverse()) {
    const table = dump.get(j.table) ?? new Map<string, string[]>();
    dump.set(j.table, table);
    table.set(j.chain, [jumpLine(j.chain, j.rule), ...(table.get(j.chain) ?? [])]);
  }
  return dump;
}

export function iptablesDocumentDump(document: string, family: IPFamily): IptDump {
  return addBuiltinJumps(readDump(documentSection(document, family)), BUILTIN_JUMPS);
}
