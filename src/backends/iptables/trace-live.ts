// `trace --live` for iptables: iptables-save of the packet's family (every table,
// the built-in chains' jumps included), through the same interpreter as a document.

import { runChecked } from '../../exec/exec.js';
import { systemExec } from '../../exec/system-exec.js';
import type { IPFamily } from '../../model/ip.js';
import type { LiveOptions } from '../backend.js';
import { nodeFactsOf, readInterfaceAddresses } from '../interface-addresses.js';
import { familyOfPacket, type TracePacket, type TraceResult } from '../trace-result.js';
import { traceIptables } from './trace.js';
import { readDump, type IptDump } from './trace-rules.js';

/** Every table of one family as iptables-save prints it (also IPVS mode's helper rules). */
export async function readIptablesDump(family: IPFamily, options: LiveOptions = {}): Promise<IptDump> {
  const file = family === 'IPv4' ? 'iptables-save' : 'ip6tables-save';
  return readDump(await runChecked(options.exec ?? systemExec, { file, args: [], ...(options.netns ? { netns: options.netns } : {}) }));
}

export async function traceIptablesLive(packet: TracePacket, options: LiveOptions = {}): Promise<TraceResult> {
  const node = nodeFactsOf(await readInterfaceAddresses(options));
  return traceIptables(await readIptablesDump(familyOfPacket(packet), options), packet, node);
}
