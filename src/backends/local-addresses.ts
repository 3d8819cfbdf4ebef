// The addresses on this network namespace's interfaces (`ip -j addr`), read at the
// I/O edge so that render stays pure: nodePortAddresses CIDRs select among them.

import { execa } from 'execa';
import { canonicalIP } from '../model/ip.js';
import type { NodeContext } from '../model/node.js';

export async function readLocalAddresses(): Promise<string[]> {
  const r = await execa('ip', ['-j', 'addr', 'show'], { reject: false });
  if (r.exitCode !== 0) throw new Error(`ip -j addr show failed: ${r.stderr.trim()}`);
  const links = JSON.parse(r.stdout) as { addr_info?: { local?: string; scope?: string }[] }[];
  const out = new Set<string>();
  for (const l of links) {
    for (const a of l.addr_info ?? []) {
      // Link-local and host-scope (loopback) addresses never serve NodePorts here.
      if (!a.local || a.scope === 'link' || a.scope === 'host') continue;
      const ip = canonicalIP(a.local);
      if (ip) out.add(ip);
    }
  }
  return [...out].sort();
}

export async function withLocalAddresses(node: NodeContext): Promise<NodeContext> {
  return { ...node, localAddresses: await readLocalAddresses() };
}
