// Facts about the node's network namespace that change the rules and that only the node
// knows, read at the I/O edge (apply, check, the agent) so that render stays pure and
// takes them as input. Render without them (synth, `render -f`) assumes kube-proxy's
// defaults.

import { readFile } from 'node:fs/promises';
import type { NodeContext } from '../model/node.js';
import { readLocalAddresses } from './local-addresses.js';

export const CONNTRACK_TCP_BE_LIBERAL_PATH = '/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal';

/**
 * nf_conntrack_tcp_be_liberal is non-zero in this namespace. kube-proxy's iptables mode
 * reads it and, when set, installs no `--ctstate INVALID -j DROP`: the admin chose to let
 * out-of-window packets through. Unreadable (no conntrack module yet, no /proc) counts as
 * unset, kube-proxy's default, so the drop is rendered.
 */
export async function readConntrackTCPBeLiberal(path = CONNTRACK_TCP_BE_LIBERAL_PATH): Promise<boolean> {
  try {
    const v = Number((await readFile(path, 'utf8')).trim());
    return Number.isFinite(v) && v !== 0;
  } catch {
    return false;
  }
}

/** `node` with every fact of this namespace filled in (its addresses, conntrack's TCP liberality). */
export async function withNodeFacts(node: NodeContext): Promise<NodeContext> {
  const [localAddresses, conntrackTCPBeLiberal] = await Promise.all([readLocalAddresses(), readConntrackTCPBeLiberal()]);
  return { ...node, localAddresses, conntrackTCPBeLiberal };
}
