// What one Service's fragment is rendered from, as a short digest: the Service and its
// EndpointSlices (what else every rule depends on, node and config, is the syncer's
// fingerprint). A full sync renders anew only the Services whose digest moved since
// their fragment was cached; the others' fragments are reused. Pure.
//
// Not canonical JSON: the same content with its keys in another order gives another
// digest, which only costs a render of that Service, never a stale fragment. The
// text (~1.5 kB for a Service of 10 endpoints) lives only until it is hashed.

import { hash } from 'node:crypto';
import type { EndpointSliceInfo } from '../../model/endpoints.js';
import type { PlanService } from '../../model/plan.js';

export function serviceInputDigest(svc: PlanService, slices: readonly EndpointSliceInfo[]): string {
  return hash('sha1', JSON.stringify([svc, slices]), 'base64');
}
