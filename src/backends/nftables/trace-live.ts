// `trace --live` for nftables: our tables of the packet's family as the kernel holds
// them, through the same interpreter as a rendered document.

import { runChecked } from '../../exec/exec.js';
import { systemExec } from '../../exec/system-exec.js';
import type { LiveOptions } from '../backend.js';
import { nodeFactsOf, readInterfaceAddresses } from '../interface-addresses.js';
import { familyOfPacket, type TracePacket, type TraceResult } from '../trace-result.js';
import { readLiveTable } from './apply.js';
import type { NftTable } from './nft.js';
import { isOurTable, traceNftables } from './trace.js';

export async function traceNftablesLive(packet: TracePacket, options: LiveOptions = {}): Promise<TraceResult> {
  const node = nodeFactsOf(await readInterfaceAddresses(options));
  const fam = familyOfPacket(packet) === 'IPv4' ? 'ip' : 'ip6';
  const listing = await runChecked(options.exec ?? systemExec, { file: 'nft', args: ['-j', 'list', 'tables'], ...(options.netns ? { netns: options.netns } : {}) });
  const listed = JSON.parse(listing) as { nftables?: { table?: { family: string; name: string } }[] };
  const names = (listed.nftables ?? []).flatMap((o) => (o.table && o.table.family === fam && isOurTable(o.table.name) ? [o.table.name] : []));
  const tables: NftTable[] = [];
  for (const name of names) {
    const t = await readLiveTable(fam, name, options.netns);
    if (t) tables.push(t);
  }
  return traceNftables(tables, packet, node);
}
