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
//
// Deflated with a preset dictionary: the JSON of the first fragments packed in this
// process. One Service's fragments are ~0.5-6 KB of text, too short for deflate to find
// much to repeat within itself, while every Service's text has the same keys, chain
// and set names, expressions and comments as the first one's: against it, 44k x 1
// packs 474 -> 130 bytes a Service, 10k x 10 734 -> 373 (bench/nft-syncer-memory.ts).
// The dictionary never changes once chosen, so whatever was packed unpacks.

import { deflateRawSync, inflateRawSync, constants } from 'node:zlib';
import type { Fragment } from './render.js';

export type PackedFragments = string;

/** deflate's window: a longer dictionary is cut to its last 32 KiB. */
const MAX_DICTIONARY = 32 * 1024;

let dictionary: Buffer | undefined;

export function packFragments(frs: readonly Fragment[]): PackedFragments {
  const text = JSON.stringify(frs);
  dictionary ??= Buffer.from(text.slice(-MAX_DICTIONARY));
  // The fastest level: the text is so repetitive that it already shrinks ~7x.
  return deflateRawSync(text, { level: constants.Z_BEST_SPEED, dictionary }).toString('latin1');
}

export function unpackFragments(packed: PackedFragments): Fragment[] {
  return JSON.parse(inflateRawSync(Buffer.from(packed, 'latin1'), { dictionary }).toString('utf8')) as Fragment[];
}
