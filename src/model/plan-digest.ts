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
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** `sha256:<hex>` of `doc` without its `digest` and `revision` fields. */
export function contentDigest(doc: Readonly<Record<string, unknown>>): string {
  const { digest: _digest, revision: _revision, ...content } = doc;
  return `sha256:${createHash('sha256').update(canonicalJson(content)).digest('hex')}`;
}
