// `trace --live`: read what the kernel of the current network namespace holds and
// feed the same interpreters. The only I/O of the trace; argument arrays, no shell.

import { runChecked, type Exec } from '../exec/exec.js';
import { systemExec } from '../exec/system-exec.js';
import { readLiveTable } from '../backends/nftables/apply.js';
import { readNftDocument } from '../backends/nftables/read.js';
import { parseIpvsadmSave } from '../backends/ipvs/diff.js';
import { DUMMY_INTERFACE } from '../backends/ipvs/ruleset.js';
import { canonicalIP } from '../model/ip.js';
import { readDump } from './iptables-rules.js';
import { traceIptables } from './iptables.js';
import { readIpsets, traceIpvs } from './ipvs.js';
import { isOurTable, traceNftables } from './nftables.js';
import { familyOfPacket, type NodeFacts, type TracePacket, type TraceResult } from './result.js';

const run = (exec: Exec, file: string, args: string[]): Promise<string> => runChecked(exec, { file, args });

interface IpAddr {
  ifname: string;
  addr_info?: { local?: string }[];
}

/** Every address of this namespace (loopback and the IPVS dummy interface included), by interface. */
async function addresses(exec: Exec): Promise<IpAddr[]> {
  return JSON.parse(await run(exec, 'ip', ['-j', 'addr', 'show'])) as IpAddr[];
}

function allAddresses(links: IpAddr[]): string[] {
  return links.flatMap((l) => (l.addr_info ?? []).flatMap((a) => (a.local && canonicalIP(a.local) ? [canonicalIP(a.local)!] : [])));
}

export async function liveNodeFacts(exec: Exec = systemExec): Promise<NodeFacts> {
  return { localAddresses: allAddresses(await addresses(exec)) };
}

export async function traceLive(backend: string, packet: TracePacket, exec: Exec = systemExec): Promise<TraceResult> {
  const family = familyOfPacket(packet);
  const v4 = family === 'IPv4';
  const links = await addresses(exec);
  const node: NodeFacts = { localAddresses: allAddresses(links) };
  const save = async () => readDump(await run(exec, v4 ? 'iptables-save' : 'ip6tables-save', []));
  switch (backend) {
    case 'nftables': {
      const fam = v4 ? 'ip' : 'ip6';
      const listed = readNftDocument(await run(exec, 'nft', ['-j', 'list', 'tables']), (f, name) => f === fam && isOurTable(name));
      const names = listed.map((t) => t.name);
      const tables = [];
      for (const name of names) {
        const t = await readLiveTable(fam, name, undefined, exec);
        if (t) tables.push(t);
      }
      return traceNftables(tables, packet, node);
    }
    case 'iptables':
      return traceIptables(await save(), packet, node);
    case 'ipvs': {
      const dummy = links.find((l) => l.ifname === DUMMY_INTERFACE);
      return traceIpvs(
        {
          addresses: dummy ? allAddresses([dummy]) : [],
          sets: readIpsets(await run(exec, 'ipset', ['save'])),
          iptables: await save(),
          virtualServers: parseIpvsadmSave(await run(exec, 'ipvsadm', ['-Sn'])).filter((vs) => vs.address.includes(':') === !v4),
        },
        packet,
        node,
      );
    }
    default:
      throw new Error(`no trace interpreter for backend ${JSON.stringify(backend)}`);
  }
}
