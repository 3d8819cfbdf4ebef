// The changes the benchmark applies to a synthetic input: one endpoint added to or
// removed from one Service, one Service added or removed. Each returns a new input
// (the old one is left as it was) and the key of the Service that changed, which is
// what the agent hands the syncer.

import type { EndpointSliceInfo } from '../src/model/endpoints.js';
import { serviceKey } from '../src/model/plan.js';
import type { RenderInput } from '../src/model/render-input.js';
import { ep } from '../test/helpers/model.js';
import { endpointAddress, serviceAt, serviceName, sliceAt } from './synthetic.js';

export interface Change {
  readonly input: RenderInput;
  readonly key: string;
}

const keyOf = (i: number) => serviceKey({ namespace: 'default', name: serviceName(i) });

function sliceIndex(input: RenderInput, i: number): number {
  const name = serviceName(i);
  const at = input.endpointSlices.findIndex((s) => s.serviceName === name);
  if (at < 0) throw new Error(`no slice for ${name}`);
  return at;
}

function withSlice(input: RenderInput, at: number, s: EndpointSliceInfo): RenderInput {
  const slices = [...input.endpointSlices];
  slices[at] = s;
  return { ...input, endpointSlices: slices };
}

/** Service i gets one more endpoint (a pod address it does not have yet). */
export function addEndpoint(input: RenderInput, i: number): Change {
  const at = sliceIndex(input, i);
  const s = input.endpointSlices[at]!;
  // Positions past the slice's size take the next Services' pod addresses; skip any this
  // Service already has (with more than 10 endpoints per Service the ranges overlap).
  const have = new Set(s.endpoints.map((e) => e.address));
  let j = s.endpoints.length;
  while (have.has(endpointAddress(i, j))) j++;
  const extra = ep(endpointAddress(i, j), s.endpoints.length % 2 === 0 ? 'node1' : 'node2');
  return { input: withSlice(input, at, { ...s, endpoints: [...s.endpoints, extra] }), key: keyOf(i) };
}

/** Service i loses its last endpoint. */
export function removeEndpoint(input: RenderInput, i: number): Change {
  const at = sliceIndex(input, i);
  const s = input.endpointSlices[at]!;
  return { input: withSlice(input, at, { ...s, endpoints: s.endpoints.slice(0, -1) }), key: keyOf(i) };
}

/** A new Service i (with `perService` endpoints); i must not be in the input yet. */
export function addService(input: RenderInput, i: number, perService?: number): Change {
  const services = [...input.plan.services, serviceAt(i)];
  // The plan keeps its Services sorted by namespace/name; zero-padded names sort by index.
  services.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { input: { ...input, plan: { ...input.plan, services }, endpointSlices: [...input.endpointSlices, sliceAt(i, 0, perService)] }, key: keyOf(i) };
}

/** Service i and its slices gone. */
export function removeService(input: RenderInput, i: number): Change {
  const name = serviceName(i);
  return {
    input: {
      ...input,
      plan: { ...input.plan, services: input.plan.services.filter((s) => s.name !== name) },
      endpointSlices: input.endpointSlices.filter((s) => s.serviceName !== name),
    },
    key: keyOf(i),
  };
}

/** `n` distinct indices spread evenly over 0..services-1 (the Services a series of rounds touches). */
export function spread(services: number, n: number): number[] {
  return Array.from({ length: n }, (_, k) => Math.floor((services * (2 * k + 1)) / (2 * n)));
}
