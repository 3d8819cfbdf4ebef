// A Service as the syncer's render cache keeps it: its fragment per family and the digest
// of what they were rendered from (service-input.ts), in one record. Until session 18 the
// record was a plain object around the digest as a 28-character base64 string: 48 bytes of
// record and 48 of string a Service (4.2 MB at 44k Services x 1). The digest is now held
// as three 32-bit integers in the record's own fields: V8 keeps an integer that fits a Smi
// in the field itself (this build has no pointer compression: Smis are 32 bits), so they
// cost their slots alone, 64 bytes for the whole record. A number outside the Smi range
// would be a boxed HeapNumber, hence int32 reads, never a uint32 or a double. Pure.
//
// 96 of sha1's 160 bits: two different inputs taken for the same only cost a stale
// fragment if their digests agree in all 96 (2^-96 a comparison; kube-proxy names its
// chains by 80 bits of sha256).

import type { IPFamily } from '../../model/ip.js';
import type { IptFragment } from './fragments.js';
import type { InputDigest } from './service-input.js';

export class CachedService implements Readonly<Record<IPFamily, IptFragment>> {
  private readonly d0: number;
  private readonly d1: number;
  private readonly d2: number;

  constructor(
    readonly IPv4: IptFragment,
    readonly IPv6: IptFragment,
    digest: InputDigest,
  ) {
    this.d0 = digest.readInt32LE(0);
    this.d1 = digest.readInt32LE(4);
    this.d2 = digest.readInt32LE(8);
  }

  /** Whether `digest` is the one its fragments were rendered from (its first 96 bits equal). */
  renderedFrom(digest: InputDigest): boolean {
    return this.d0 === digest.readInt32LE(0) && this.d1 === digest.readInt32LE(4) && this.d2 === digest.readInt32LE(8);
  }
}
