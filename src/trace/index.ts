// `trace` entry points: a packet through the ruleset a backend renders for the
// given input. Each backend's interpreter (src/backends/<name>/trace.ts) reads that
// backend's own document, never the model; `trace --live` asks the backend to read
// the kernel instead (Backend.traceLive).

import { getBackend, loadReaders } from '../backends/registry.js';
import type { NodeFacts, TracePacket, TraceResult } from '../backends/trace-result.js';
import type { PacketTracer } from '../backends/backend.js';
import type { RenderInput } from '../model/render-input.js';

export type { TracePacket, TraceResult } from '../backends/trace-result.js';

// Every backend's interpreter, loaded once with this module: the entry points stay synchronous.
const readerOf = await loadReaders();

/** The addresses render knows the node owns. */
export function renderNodeFacts(input: RenderInput): NodeFacts {
  return { localAddresses: [...new Set([...input.node.addresses, ...(input.node.localAddresses ?? [])])] };
}

/** A tracer over one rendered document: parses each family's part once, then traces any number of packets. */
export function documentTracer(backend: string, document: string, node: NodeFacts): PacketTracer {
  return readerOf(backend).documentTracer(document, node);
}

/** Traces a packet through an already rendered document of one backend. */
export function traceDocument(backend: string, document: string, packet: TracePacket, node: NodeFacts): TraceResult {
  return documentTracer(backend, document, node)(packet);
}

/** Renders with the backend, then traces the packet through the result. */
export function traceRendered(backend: string, input: RenderInput, packet: TracePacket): TraceResult {
  return traceDocument(backend, getBackend(backend).render(input), packet, renderNodeFacts(input));
}
