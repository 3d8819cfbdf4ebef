// `trace --live` for IPVS mode: the dummy interface's addresses, ipsets, the helper
// iptables rules and the virtual servers of the packet's family, as the kernel
// holds them, through the same interpreter as a rendered document.

import { runChecked } from '../../exec/exec.js';
import { systemExec } from '../../exec/system-exec.js';
import type { LiveOptions } from '../backend.js';
import { addressesOf, nodeFactsOf, readInterfaceAddresses } from '../interface-addresses.js';
import { readIptablesDump } from '../iptables/trace-live.js';
import { familyOfPacket, type TracePacket, type TraceResult } from '../trace-result.js';
import { parseIpvsadmSave } from './diff.js';
import { DUMMY_INTERFACE } from './ruleset.js';
import { readIpsets, traceIpvs } from './trace.js';

export async function traceIpvsLive(packet: TracePacket, options: LiveOptions = {}): Promise<TraceResult> {
  const links = await readInterfaceAddresses(options);
  const family = familyOfPacket(packet);
  const read = (file: string, args: string[]) => runChecked(options.exec ?? systemExec, { file, args, ...(options.netns ? { netns: options.netns } : {}) });
  const dummy = links.find((l) => l.ifname === DUMMY_INTERFACE);
  return traceIpvs(
    {
      addresses: dummy ? addressesOf([dummy]) : [],
      sets: readIpsets(await read('ipset', ['save'])),
      iptables: await readIptablesDump(family, options),
      virtualServers: parseIpvsadmSave(await read('ipvsadm', ['-Sn'])).filter((vs) => vs.address.includes(':') === (family === 'IPv6')),
    },
    packet,
    nodeFactsOf(links),
  );
}
