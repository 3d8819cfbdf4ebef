// What one Service's fragment is rendered from, as a short digest: the Service and its
// EndpointSlices (what else every rule depends on, node and config, is the syncer's
// fingerprint). A full sync renders anew only the Services whose digest moved since
// their fragment was cached; the others' fragments are reused. Pure.
//
// Not canonical JSON: the same content with its keys in another order gives another
// digest, which only costs a render of that Service, never a stale fragment. The
// text (~1.5 kB for a Service of 10 endpoints) lives only until it is hashed; the digest
// (sha1's 20 bytes) lives only until the cache record takes its bits (cached-service.ts).

import { hash } from 'node:crypto';
import type { EndpointSliceInfo } from '../../model/endpoints.js';
import type { PlanService } from '../../model/plan.js';

/** A digest of a Service's input: sha1's bytes. */
export type InputDigest = Buffer;

export function serviceInputDigest(svc: PlanService, slices: readonly EndpointSliceInfo[]): InputDigest {
  return hash('sha1', JSON.stringify([svc, slices]), 'buffer');
}
