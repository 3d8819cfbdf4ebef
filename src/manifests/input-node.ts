// collectInputs' node: the Nodes given (no two of one name), then the one to render
// for: --node-name, else the config's hostnameOverride, else the only Node given;
// --node-ip replaces (or supplies) its addresses.

import type { ProxyConfig } from '../model/config.js';
import { inputError } from '../model/errors.js';
import { canonicalIP } from '../model/ip.js';
import type { NodeContext } from '../model/node.js';
import { UNKNOWN_NODE } from '../model/node-unknown.js';
import type { InputDocument } from './input-kinds.js';
import type { InputProblems } from './input-problems.js';
import { nodeToContext } from './node.js';

/** Node names as kube-proxy normalises a hostname override: trimmed, lowercase. */
function normaliseNodeName(n: string): string {
  return n.trim().toLowerCase();
}

export function collectNode(
  nodeDocs: readonly InputDocument[],
  opts: { readonly nodeName?: string; readonly nodeIPs?: readonly string[] },
  config: ProxyConfig,
  problems: InputProblems,
): NodeContext {
  const nodes: Array<{ node: NodeContext; source: string }> = [];
  for (const d of nodeDocs) {
    const n = problems.attempt(() => nodeToContext(d.object, d.source));
    if (!n) continue;
    const prev = nodes.find((x) => x.node.name === n.name);
    if (prev) {
      problems.bad(inputError({ kind: 'Node', name: n.name }, 'metadata.name', `duplicate Node: also defined in ${prev.source}`, d.source));
      continue;
    }
    nodes.push({ node: n, source: d.source });
  }
  return pickNode(nodes, opts, config, problems);
}

function pickNode(
  nodes: ReadonlyArray<{ node: NodeContext; source: string }>,
  opts: { readonly nodeName?: string; readonly nodeIPs?: readonly string[] },
  config: ProxyConfig,
  problems: InputProblems,
): NodeContext {
  const wanted = opts.nodeName ?? config.hostnameOverride;
  let node: NodeContext = UNKNOWN_NODE;
  if (wanted !== undefined && wanted.trim() !== '') {
    const name = normaliseNodeName(wanted);
    const found = nodes.find((n) => n.node.name === name);
    if (found) node = found.node;
    else {
      if (nodes.length > 0) problems.warnings.push(`no Node named ${JSON.stringify(name)} among the inputs (${nodes.map((n) => n.node.name).join(', ')}); rendering without its addresses and pod CIDRs`);
      node = { ...UNKNOWN_NODE, name };
    }
  } else if (nodes.length === 1) {
    node = nodes[0]!.node;
  } else if (nodes.length > 1) {
    problems.bad(inputError(undefined, '--node-name', `several Nodes given (${nodes.map((n) => n.node.name).join(', ')}): choose one with --node-name`));
  }
  if (opts.nodeIPs && opts.nodeIPs.length > 0) {
    const addresses: string[] = [];
    for (const ip of opts.nodeIPs) {
      const c = canonicalIP(ip);
      if (!c) problems.bad(inputError(undefined, '--node-ip', `${JSON.stringify(ip)} is not an IP address`));
      else if (!addresses.includes(c)) addresses.push(c);
    }
    node = { ...node, addresses };
  }
  return node;
}
