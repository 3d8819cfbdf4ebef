// `trace --live`: read what the kernel of the current network namespace holds and
// feed the same interpreters. The only I/O of the trace; argument arrays, no shell.

import { execa } from 'execa';
import { readLiveTable } from '../backends/nftables/apply.js';
import { parseIpvsadmSave } from '../backends/ipvs/diff.js';
import { DUMMY_INTERFACE } from '../backends/ipvs/ruleset.js';
import { canonicalIP } from '../model/ip.js';
import { readDump } from './iptables-rules.js';
import { traceIptables } from './iptables.js';
import { readIpsets, traceIpvs } from './ipvs.js';
import { isOurTable, traceNftables } from './nftables.js';
import { familyOfPacket, type NodeFacts, type TracePacket, type TraceResult } from './result.js';

async function run(file: string, args: string[]): Promise<string> {
  const r = await execa(file, args, { reject: false, maxBuffer: 1 << 30 });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${String(r.stderr).trim()}`);
  return String(r.stdout);
}

interface IpAddr {
  ifname: string;
  addr_info?: { local?: string }[];
}

/** Every address of this namespace (loopback and the IPVS dummy interface included), by interface. */
async function addresses(): Promise<IpAddr[]> {
  return JSON.parse(await run('ip', ['-j', 'addr', 'show'])) as IpAddr[];
}

function allAddresses(links: IpAddr[]): string[] {
  return links.flatMap((l) => (l.addr_info ?? []).flatMap((a) => (a.local && canonicalIP(a.local) ? [canonicalIP(a.local)!] : [])));
}

export async function liveNodeFacts(): Promise<NodeFacts> {
  return { localAddresses: allAddresses(await addresses()) };
}

export async function traceLive(backend: string, packet: TracePacket): Promise<TraceResult> {
  const family = familyOfPacket(packet);
  const v4 = family === 'IPv4';
  const links = await addresses();
  const node: NodeFacts = { localAddresses: allAddresses(links) };
  const save = async () => readDump(await run(v4 ? 'iptables-save' : 'ip6tables-save', []));
  switch (backend) {
    case 'nftables': {
      const fam = v4 ? 'ip' : 'ip6';
      const listed = JSON.parse(await run('nft', ['-j', 'list', 'tables'])) as { nftables?: { table?: { family: string; name: string } }[] };
      const names = (listed.nftables ?? []).flatMap((o) => (o.table && o.table.family === fam && isOurTable(o.table.name) ? [o.table.name] : []));
      const tables = [];
      for (const name of names) {
        const t = await readLiveTable(fam, name);
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
          sets: readIpsets(await run('ipset', ['save'])),
          iptables: await save(),
          virtualServers: parseIpvsadmSave(await run('ipvsadm', ['-Sn'])).filter((vs) => vs.address.includes(':') === !v4),
        },
        packet,
        node,
      );
    }
    default:
      throw new Error(`no trace interpreter for backend ${JSON.stringify(backend)}`);
  }
}
