// A map by `namespace/name` (or a cluster-scoped object's name) that holds no such key
// string: the watch stores' objects (store.ts) and the slices' trigger times
// (endpointslices.ts), one entry per object of the cluster for the agent's whole life.

/**
 * namespace/name split at its one slash (neither part can hold one), or ['', name] for a
 * cluster-scoped object.
 */
function splitKey(key: string): [namespace: string, name: string] {
  const i = key.indexOf('/');
  return i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + 1)];
}

/**
 * Values by namespace, then name: a map keyed by `namespace/name` strings holds one such
 * string per object (~40 bytes: 3.5 MB at 44k Services and 44k slices in the API stores),
 * which nothing else holds; here the inner keys are the objects' own name strings (put, with
 * `own`) and a namespace's string is held once. Keys in and out are still `namespace/name`.
 * A namespace costs a map (~200 bytes): a cluster of one Service per namespace would pay
 * more than the strings it saves, an unlikely shape.
 */
export class ByNamespace<V> {
  private readonly namespaces = new Map<string, Map<string, V>>();

  get(key: string): V | undefined {
    const [ns, name] = splitKey(key);
    return this.namespaces.get(ns)?.get(name);
  }

  /** `own`: a string equal to the key's name that the value holds anyway, kept as the map's key. */
  set(key: string, v: V, own?: string): void {
    const [ns, name] = splitKey(key);
    let names = this.namespaces.get(ns);
    if (!names) this.namespaces.set(ns, (names = new Map()));
    // A key already there keeps its string (Map.set replaces the value only).
    names.set(own === name ? own : name, v);
  }

  delete(key: string): void {
    const [ns, name] = splitKey(key);
    const names = this.namespaces.get(ns);
    if (!names?.delete(name)) return;
    if (names.size === 0) this.namespaces.delete(ns);
  }

  *values(): IterableIterator<V> {
    for (const names of this.namespaces.values()) yield* names.values();
  }

  /** Every key, made now (`namespace/name`, or the name of a cluster-scoped object). */
  *keys(): IterableIterator<string> {
    for (const [ns, names] of this.namespaces) for (const name of names.keys()) yield ns === '' ? name : `${ns}/${name}`;
  }
}
