// A Service's render fragments as the syncer remembers them between syncs: JSON,
// deflated. At 10k Services x 10 endpoints the JSON text alone was ~43 MB of heap,
// the largest thing the agent kept; deflated it is a few MB (the text repeats the
// Service's name in every chain, rule and comment). Only a full sync unpacks them
// all (once, table by table); an incremental sync unpacks the few it touches.
//
// Kept as a one-byte string (each byte one latin1 character), not a Buffer: small
// Buffers come from node's shared 8 KiB pool slabs, and zlib's own input copies are
// cut from the same slabs, so each kept copy pinned a slab of garbage: at 44k
// Services x 1 endpoint, 19 MB of packed fragments held 76 MB of ArrayBuffers (10k x
// 10: 6.5 MB held 9 MB). A string lives in the heap at its own size.

import { deflateRawSync, inflateRawSync, constants } from 'node:zlib';
import type { Fragment } from './render.js';

export type PackedFragments = string;

export function packFragments(frs: readonly Fragment[]): PackedFragments {
  // The fastest level: the text is so repetitive that it already shrinks ~7x.
  return deflateRawSync(JSON.stringify(frs), { level: constants.Z_BEST_SPEED }).toString('latin1');
}

export function unpackFragments(packed: PackedFragments): Fragment[] {
  return JSON.parse(inflateRawSync(Buffer.from(packed, 'latin1')).toString('utf8')) as Fragment[];
}
