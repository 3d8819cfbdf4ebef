// Endpoints as a proxy sees them: EndpointSlices reduced to what forwarding needs.
// They come from the API server (agent), from manifests (CLI), or from a
// selector-less construct's static endpoints (synth).

import { z } from 'zod/v3';
import { IPFamilySchema, ProtocolSchema } from './plan.js';

export const EndpointSchema = z.strictObject({
  /** Canonical IP; a slice endpoint with several addresses uses the first, as kube-proxy does. */
  address: z.string(),
  /** conditions.ready, with the API's default: absent means ready. */
  ready: z.boolean(),
  /** conditions.serving; defaults to ready. */
  serving: z.boolean(),
  /** conditions.terminating; defaults to false. */
  terminating: z.boolean(),
  nodeName: z.string().optional(),
  zone: z.string().optional(),
  /** Topology hints: zones (and nodes) this endpoint should serve. */
  hintZones: z.array(z.string()).optional(),
  hintNodes: z.array(z.string()).optional(),
});
export type Endpoint = z.infer<typeof EndpointSchema>;

export const EndpointPortSchema = z.strictObject({
  name: z.string(),
  port: z.number().int().min(1).max(65535),
  protocol: ProtocolSchema,
});
export type EndpointPort = z.infer<typeof EndpointPortSchema>;

export const EndpointSliceInfoSchema = z.strictObject({
  namespace: z.string(),
  name: z.string(),
  /** kubernetes.io/service-name label: the Service this slice belongs to. */
  serviceName: z.string(),
  addressType: IPFamilySchema,
  ports: z.array(EndpointPortSchema),
  endpoints: z.array(EndpointSchema),
});
export type EndpointSliceInfo = z.infer<typeof EndpointSliceInfoSchema>;

export const EndpointSetSchema = z.array(EndpointSliceInfoSchema);
