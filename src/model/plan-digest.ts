// The plan's digest: what names one reviewed plan on every node. sha256 over a
// canonical serialisation of the plan's content — every field but `digest` itself
// and `revision` (where the plan came from is not what it says: the same Services
// synthesised from two commits are the same plan, with the same digest).
//
// Canonical: JSON with every object's keys sorted, no whitespace, absent fields left
// out (as JSON.stringify leaves out undefined). Arrays keep their order: the plan's
// arrays are already sorted where order does not matter (Services by namespace/name).

import { createHash } from 'node:crypto';

export const PLAN_DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** Stable JSON: sorted keys, no whitespace, undefined fields dropped. */
export function canonicalJson(v: unknown): string {
  const parts: string[] = [];
  writeCanonicalJson(v, (s) => parts.push(s));
  return parts.join('');
}

/**
 * canonicalJson's text handed to `write` piece by piece, never whole: a 10k-Service plan's
 * text is ~5 MB, and the digest needs only to hash it, not to hold it (nor the strings
 * of every nested level that joining would build).
 */
function writeCanonicalJson(v: unknown, write: (s: string) => void): void {
  if (Array.isArray(v)) {
    write('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) write(',');
      if (v[i] === undefined) write('null');
      else writeCanonicalJson(v[i], write);
    }
    write(']');
    return;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    write('{');
    for (let i = 0; i < keys.length; i++) {
      write(`${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:`);
      writeCanonicalJson(o[keys[i]!], write);
    }
    write('}');
    return;
  }
  write(JSON.stringify(v));
}

/** Pieces this long reach the hash: one update per piece, not per token (each crosses into C++). */
const HASH_PIECE_CHARS = 1 << 16;

/** `sha256:<hex>` of `doc` without its `digest` and `revision` fields. */
export function contentDigest(doc: Readonly<Record<string, unknown>>): string {
  const { digest: _digest, revision: _revision, ...content } = doc;
  const hash = createHash('sha256');
  let piece = '';
  writeCanonicalJson(content, (s) => {
    piece += s;
    if (piece.length >= HASH_PIECE_CHARS) {
      hash.update(piece);
      piece = '';
    }
  });
  return `sha256:${hash.update(piece).digest('hex')}`;
}
