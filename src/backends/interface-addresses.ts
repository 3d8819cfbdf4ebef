// The addresses on a network namespace's interfaces, by interface, as `ip -j addr
// show` prints them: what a live trace needs to know which addresses the node owns
// (loopback and IPVS mode's dummy interface included, unlike local-addresses.ts,
// which keeps only the ones that can serve NodePorts).

import { runChecked } from '../exec/exec.js';
import { systemExec } from '../exec/system-exec.js';
import { canonicalIP } from '../model/ip.js';
import type { LiveOptions } from './backend.js';
import type { NodeFacts } from './trace-result.js';

export interface InterfaceAddresses {
  readonly ifname: string;
  readonly addr_info?: readonly { readonly local?: string }[];
}

export async function readInterfaceAddresses(options: LiveOptions = {}): Promise<InterfaceAddresses[]> {
  const text = await runChecked(options.exec ?? systemExec, { file: 'ip', args: ['-j', 'addr', 'show'], ...(options.netns ? { netns: options.netns } : {}) });
  return JSON.parse(text) as InterfaceAddresses[];
}

/** Every address of the interfaces given, canonical. */
export function addressesOf(links: readonly InterfaceAddresses[]): string[] {
  return links.flatMap((l) => (l.addr_info ?? []).flatMap((a) => (a.local && canonicalIP(a.local) ? [canonicalIP(a.local)!] : [])));
}

/** What a live trace knows of the node: every address it owns. */
export function nodeFactsOf(links: readonly InterfaceAddresses[]): NodeFacts {
  return { localAddresses: addressesOf(links) };
}
