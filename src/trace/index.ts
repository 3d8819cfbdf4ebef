// `trace` entry points: a packet through the ruleset a backend renders for the
// given input, or through what the kernel holds now (live.ts). Each backend's
// interpreter reads that backend's own document, never the model.

import { getBackend } from '../backends/registry.js';
import type { RenderInput } from '../model/render-input.js';
import { iptablesDocumentDump } from './iptables-document.js';
import { traceIptables } from './iptables.js';
import { ipvsDocumentView, traceIpvs } from './ipvs.js';
import { parseNftDocument } from './nftables-document.js';
import { traceNftables } from './nftables.js';
import { familyOfPacket, type NodeFacts, type TracePacket, type TraceResult } from './result.js';

export type { TracePacket, TraceResult } from './result.js';

/** The addresses render knows the node owns. */
export function renderNodeFacts(input: RenderInput): NodeFacts {
  return { localAddresses: [...new Set([...input.node.addresses, ...(input.node.localAddresses ?? [])])] };
}

/** Traces a packet through an already rendered document of one backend. */
export function traceDocument(backend: string, document: string, packet: TracePacket, node: NodeFacts): TraceResult {
  const family = familyOfPacket(packet);
  switch (backend) {
    case 'nftables':
      return traceNftables(parseNftDocument(document, family === 'IPv4' ? 'ip' : 'ip6'), packet, node);
    case 'iptables':
      return traceIptables(iptablesDocumentDump(document, family), packet, node);
    case 'ipvs':
      return traceIpvs(ipvsDocumentView(document, family), packet, node);
    default:
      throw new Error(`no trace interpreter for backend ${JSON.stringify(backend)}`);
  }
}

/** Renders with the backend, then traces the packet through the result. */
export function traceRendered(backend: string, input: RenderInput, packet: TracePacket): TraceResult {
  return traceDocument(backend, getBackend(backend).render(input), packet, renderNodeFacts(input));
}
