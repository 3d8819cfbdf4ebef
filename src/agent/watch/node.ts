// The agent's own Node -> NodeContext (addresses, pod CIDRs, zone), watched by
// fieldSelector metadata.name=<node> so the agent sees one object, not the cluster.
// A Node change concerns every Service: `change` fires with an empty key set.

import { nodeToContext } from '../../manifests/node.js';
import type { NodeContext } from '../../model/node.js';
import { WatchedStore, type ResourceAdapter, type WatchedStoreOptions } from './store.js';
import { makeWatchedResource, storeOptions, type WatchedResource, type WatchOptions } from './watched-resource.js';

export const NODES_PATH = '/api/v1/nodes';

export function nodeAdapter(nodeName: string): ResourceAdapter<NodeContext> {
  return {
    kind: 'Node',
    // The field selector already does this; a server that ignored it must not give us another node.
    accepts: (raw) => (raw as { metadata?: { name?: unknown } } | null)?.metadata?.name === nodeName,
    parse: (raw) => nodeToContext(raw),
    serviceKeys: () => [],
  };
}

export class NodeStore extends WatchedStore<NodeContext> {
  constructor(
    readonly nodeName: string,
    opts: WatchedStoreOptions,
  ) {
    super(nodeAdapter(nodeName), opts);
  }

  /** The node as last read well; undefined before the first list or if the Node does not exist. */
  node(): NodeContext | undefined {
    return this.get(this.nodeName);
  }
}

export interface NodeWatchOptions extends WatchOptions {
  /** The Node's name as the API knows it (the agent lowercases a hostname override first). */
  readonly nodeName: string;
}

export function watchNode(opts: NodeWatchOptions): WatchedResource<NodeStore> {
  const store = new NodeStore(opts.nodeName, storeOptions(opts));
  return makeWatchedResource(opts, store, { path: NODES_PATH, fieldSelector: `metadata.name=${opts.nodeName}` });
}
