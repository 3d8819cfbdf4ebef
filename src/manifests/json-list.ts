// A JSON List (`{"kind": "List", "items": [...]}`) read one item at a time.
//
// Why: `svcplane render -f` of 10k Services × 10 endpoints reads one 17.8 MB List.
// JSON.parse of the whole text builds every item's tree at once, and all of it survives
// until the last item is validated: the young-generation GC copies every object of it
// (half of reading's time was GC), and the peak holds all of it. Parsed one item at a
// time, and handed on before the next (read.ts's `each`), an item's tree dies young.
//
// This file only finds where each item's text starts and ends; every value is still
// parsed by JSON.parse, and the structure between values (braces, brackets, commas,
// colons, whitespace) is checked here. Anything unexpected (not valid JSON, a key twice,
// a `__proto__` key, not a List) gives undefined: the caller then parses the text whole,
// as before, which also gives JSON.parse's own error message with its position.

export interface JsonListText {
  /** The top-level object's members except `items` (apiVersion, kind, metadata...). */
  readonly head: Record<string, unknown>;
  /** [start, end) of each item's text, two numbers per item. */
  readonly itemRanges: readonly number[];
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(t: string, i: number): number {
  while (i < t.length && isJsonSpace(t.charCodeAt(i))) i++;
  return i;
}

/** End (exclusive) of the string whose opening quote is at `i`; -1 when it does not end. */
function stringEnd(t: string, i: number): number {
  for (let from = i + 1; ; ) {
    const q = t.indexOf('"', from);
    if (q < 0) return -1;
    let backslashes = 0;
    while (t.charCodeAt(q - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/**
 * End (exclusive) of the value starting at `i`, by its brackets and strings alone
 * (JSON.parse of the slice checks the rest); -1 when none can be told.
 */
function valueEnd(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c === 0x22) return stringEnd(t, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < t.length; j++) {
      const d = t.charCodeAt(j);
      if (d === 0x22) {
        const e = stringEnd(t, j);
        if (e < 0) return -1;
        j = e - 1;
      } else if (d === 0x7b || d === 0x5b) depth++;
      else if ((d === 0x7d || d === 0x5d) && --depth === 0) return j + 1;
    }
    return -1;
  }
  // A number, true, false or null: up to the next separator.
  let j = i;
  while (j < t.length) {
    const d = t.charCodeAt(j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || isJsonSpace(d)) break;
    j++;
  }
  return j > i ? j : -1;
}

/** The ranges of the array's elements (`[` at `i`) and where the array ends; undefined when malformed. */
function arrayElements(t: string, i: number): { ranges: number[]; end: number } | undefined {
  const ranges: number[] = [];
  i = skipSpace(t, i + 1);
  if (t.charCodeAt(i) === 0x5d) return { ranges, end: i + 1 };
  for (;;) {
    const e = valueEnd(t, i);
    if (e < 0) return undefined;
    ranges.push(i, e);
    i = skipSpace(t, e);
    const c = t.charCodeAt(i);
    if (c === 0x5d) return { ranges, end: i + 1 };
    if (c !== 0x2c) return undefined;
    i = skipSpace(t, i + 1);
  }
}

function scan(t: string): JsonListText | undefined {
  let i = skipSpace(t, 0);
  if (t.charCodeAt(i) !== 0x7b) return undefined;
  const head: Record<string, unknown> = {};
  const seen = new Set<string>();
  let itemRanges: number[] | undefined;
  i = skipSpace(t, i + 1);
  if (t.charCodeAt(i) === 0x7d) return undefined;
  for (;;) {
    if (t.charCodeAt(i) !== 0x22) return undefined;
    const keyEnd = stringEnd(t, i);
    if (keyEnd < 0) return undefined;
    const key = JSON.parse(t.slice(i, keyEnd)) as string;
    // JSON.parse keeps the last of two equal keys, and makes `__proto__` an own member:
    // rare enough to leave both to it.
    if (seen.has(key) || key === '__proto__') return undefined;
    seen.add(key);
    i = skipSpace(t, keyEnd);
    if (t.charCodeAt(i) !== 0x3a) return undefined;
    i = skipSpace(t, i + 1);
    if (key === 'items' && t.charCodeAt(i) === 0x5b) {
      const a = arrayElements(t, i);
      if (!a) return undefined;
      itemRanges = a.ranges;
      i = a.end;
    } else {
      const e = valueEnd(t, i);
      if (e < 0) return undefined;
      head[key] = JSON.parse(t.slice(i, e));
      i = e;
    }
    i = skipSpace(t, i);
    const c = t.charCodeAt(i);
    if (c === 0x7d) break;
    if (c !== 0x2c) return undefined;
    i = skipSpace(t, i + 1);
  }
  if (skipSpace(t, i + 1) !== t.length) return undefined;
  if (!itemRanges || typeof head.kind !== 'string' || !head.kind.endsWith('List')) return undefined;
  return { head, itemRanges };
}

/**
 * The List in `text` with its items' places, when the text is one JSON object whose
 * kind ends in List and whose `items` is an array; undefined otherwise (parse it whole).
 * An item's text is not checked here: JSON.parse of it may still throw.
 */
export function scanJsonList(text: string): JsonListText | undefined {
  try {
    return scan(text);
  } catch {
    // A key or a member that JSON.parse refused.
    return undefined;
  }
}
