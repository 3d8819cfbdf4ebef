// Paths into parsed manifests: every place a value sits, reading and writing by
// path, and the field notation our errors use (`spec.ports[1].name`,
// `metadata.labels[app]`) for a path.

export type PathStep = string | number;
export type JsonPath = readonly PathStep[];

/** Maps whose keys are data, not field names: errors write their keys in brackets. */
const MAP_FIELDS = new Set(['labels', 'annotations', 'selector']);

/** Every path below the root (containers and leaves), depth first. */
export function allPaths(v: unknown, prefix: JsonPath = []): JsonPath[] {
  const out: JsonPath[] = [];
  if (Array.isArray(v)) {
    v.forEach((x, i) => out.push([...prefix, i], ...allPaths(x, [...prefix, i])));
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) out.push([...prefix, k], ...allPaths(x, [...prefix, k]));
  }
  return out;
}

export function getPath(v: unknown, path: JsonPath): unknown {
  let cur = v;
  for (const step of path) cur = (cur as Record<PathStep, unknown> | undefined)?.[step];
  return cur;
}

/** A deep copy with the value at `path` replaced (or removed, for `undefined`). */
export function setPath<T>(v: T, path: JsonPath, value: unknown): T {
  const copy = structuredClone(v);
  let cur = copy as Record<PathStep, unknown>;
  for (const step of path.slice(0, -1)) cur = cur[step] as Record<PathStep, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(cur)) cur.splice(last as number, 1);
    else delete cur[last];
  } else cur[last] = value;
  return copy;
}

/** The field notation of a path, as FieldReader writes it. */
export function fieldOf(path: JsonPath): string {
  let out = '';
  path.forEach((step, i) => {
    const parent = path[i - 1];
    if (typeof step === 'number' || (typeof parent === 'string' && MAP_FIELDS.has(parent))) out += `[${step}]`;
    else out += out === '' ? step : `.${step}`;
  });
  return out;
}
