// A Service's render fragments as the syncer remembers them between syncs: JSON,
// deflated. At 10k Services x 10 endpoints the JSON text alone was ~43 MB of heap,
// the largest thing the agent kept; deflated it is a few MB (the text repeats the
// Service's name in every chain, rule and comment). Only a full sync unpacks them
// all (once, table by table); an incremental sync unpacks the few it touches.

import { deflateRawSync, inflateRawSync, constants } from 'node:zlib';
import type { Fragment } from './render.js';

export type PackedFragments = Buffer;

export function packFragments(frs: readonly Fragment[]): PackedFragments {
  // The fastest level: the text is so repetitive that it already shrinks ~7x. The
  // copy: zlib's result is a view of its 16 KiB output buffer, which it would keep alive.
  return Buffer.from(deflateRawSync(JSON.stringify(frs), { level: constants.Z_BEST_SPEED }));
}

export function unpackFragments(packed: PackedFragments): Fragment[] {
  return JSON.parse(inflateRawSync(packed).toString('utf8')) as Fragment[];
}
