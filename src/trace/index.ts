// `trace` entry points: a packet through the ruleset a backend renders for the
// given input, or through what the kernel holds now (live.ts). Each backend's
// interpreter reads that backend's own document, never the model.

import { getBackend } from '../backends/registry.js';
import type { IPFamily } from '../model/ip.js';
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

/** A tracer over one rendered document: parses each family's part once, then traces any number of packets. */
export function documentTracer(backend: string, document: string, node: NodeFacts): (packet: TracePacket) => TraceResult {
  const parsed = new Map<IPFamily, (p: TracePacket) => TraceResult>();
  const prepare = (family: IPFamily): ((p: TracePacket) => TraceResult) => {
    switch (backend) {
      case 'nftables': {
        const tables = parseNftDocument(document, family === 'IPv4' ? 'ip' : 'ip6');
        return (p) => traceNftables(tables, p, node);
      }
      case 'iptables': {
        const dump = iptablesDocumentDump(document, family);
        return (p) => traceIptables(dump, p, node);
      }
      case 'ipvs': {
        const view = ipvsDocumentView(document, family);
        return (p) => traceIpvs(view, p, node);
      }
      default:
        throw new Error(`no trace interpreter for backend ${JSON.stringify(backend)}`);
    }
  };
  return (packet) => {
    const family = familyOfPacket(packet);
    let t = parsed.get(family);
    if (!t) parsed.set(family, (t = prepare(family)));
    return t(packet);
  };
}

/** Traces a packet through an already rendered document of one backend. */
export function traceDocument(backend: string, document: string, packet: TracePacket, node: NodeFacts): TraceResult {
  return documentTracer(backend, document, node)(packet);
}

/** Renders with the backend, then traces the packet through the result. */
export function traceRendered(backend: string, input: RenderInput, packet: TracePacket): TraceResult {
  return traceDocument(backend, getBackend(backend).render(input), packet, renderNodeFacts(input));
}
