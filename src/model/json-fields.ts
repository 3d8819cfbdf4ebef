// Reading untyped JSON (a parsed manifest) field by field. Each reader returns the
// value when it has the expected type, records an issue naming the field when it
// does not, and treats absent (undefined or null) as "not set" without an issue,
// the way the API server's decoder treats omitted fields.

import type { FieldIssue } from './errors.js';

export type JsonObject = Record<string, unknown>;

export class FieldReader {
  readonly issues: FieldIssue[] = [];

  add(field: string, message: string): void {
    this.issues.push({ field, message });
  }

  /**
   * Moves `sub`'s issues here, each field put under `prefix` (`endpoints[3]` +
   * `addresses[0]`), and empties `sub` for reuse. A list's items are read with a
   * sub-reader and constant relative field names so that a valid item (all of
   * them, nearly always) builds no path string: at 10^5 endpoints those strings
   * were a large share of reading's time and garbage.
   */
  takeUnder(prefix: string, sub: FieldReader): void {
    // '' is the item itself (`sub.object(item, '')`).
    for (const i of sub.issues) this.issues.push({ field: i.field === '' ? prefix : childPath(prefix, i.field), message: i.message });
    sub.issues.length = 0;
  }

  object(v: unknown, field: string): JsonObject | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.add(field, `must be an object, not ${describe(v)}`);
      return undefined;
    }
    return v as JsonObject;
  }

  array(v: unknown, field: string): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.add(field, `must be a list, not ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  string(v: unknown, field: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.add(field, `must be a string, not ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  boolean(v: unknown, field: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.add(field, `must be true or false, not ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  integer(v: unknown, field: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      this.add(field, `must be an integer, not ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  /**
   * A list of strings; bad elements are reported by index and dropped. A list of strings
   * only (nearly always) is returned as it is, not copied: at 10^5 endpoints the copies
   * were garbage of every read. Callers never change what they get.
   */
  stringList(v: unknown, field: string): readonly string[] | undefined {
    const a = this.array(v, field);
    if (!a) return undefined;
    if (allStrings(a)) return a as string[];
    const out: string[] = [];
    // The element's path is built only for an issue (see takeUnder for why).
    a.forEach((x, i) => {
      if (typeof x === 'string') out.push(x);
      else this.add(indexPath(field, i), `must be a string, not ${x === undefined ? 'null' : describe(x)}`);
    });
    return out;
  }

  /** A map of string to string (labels, annotations, selector). */
  stringMap(v: unknown, field: string): Record<string, string> | undefined {
    const o = this.object(v, field);
    if (!o) return undefined;
    const out: Record<string, string> = {};
    // Keys, not entries: no [key, value] pair per member (labels of every object read).
    const keys = Object.keys(o);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const x = o[k];
      if (typeof x === 'string') out[k] = x;
      else if (x !== undefined) this.add(keyPath(field, k), `must be a string, not ${describe(x)}`);
    }
    return out;
  }

  /** An int-or-string (targetPort): a number or a string, returned as given. */
  intOrString(v: unknown, field: string): number | string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    this.add(field, `must be an integer or a string, not ${describe(v)}`);
    return undefined;
  }
}

/** Every index holds a string (a hole is not one: forEach would pass over it). */
function allStrings(a: readonly unknown[]): boolean {
  for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'string') return false;
  return true;
}

export function childPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

export function indexPath(parent: string, i: number): string {
  return `${parent}[${i}]`;
}

export function keyPath(parent: string, key: string): string {
  return `${parent}[${key}]`;
}

/** A short description of a value's type and, when small, the value itself. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
    case 'number':
      return `the number ${v}`;
    case 'boolean':
      return `${v}`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

/** The API server's "unsupported value" message, listing what is allowed. */
export function notSupported(value: string, allowed: readonly string[]): string {
  return `unsupported value ${JSON.stringify(value)}: must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
