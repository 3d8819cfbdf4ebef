// The agent's own Node -> NodeContext (addresses, pod CIDRs, zone) and its
// eligibility for load-balancer traffic (KEP-3836), watched by fieldSelector
// metadata.name=<node> so the agent sees one object, not the cluster.
// A Node change concerns every Service: `change` fires with an empty key set.

import { nodeToContext } from '../../manifests/node.js';
import type { NodeContext } from '../../model/node.js';
import { WatchedStore, type ResourceAdapter, type WatchedStoreOptions } from './store.js';
import { makeWatchedResource, storeOptions, type WatchedResource, type WatchOptions } from './watched-resource.js';

export const NODES_PATH = '/api/v1/nodes';
/** The taint the cluster autoscaler puts on a node it is about to delete. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/** Whether load balancers should keep sending to this node, and why not. */
export interface NodeEligibility {
  readonly eligible: boolean;
  /** 'deletionTimestamp', 'taint ToBeDeletedByClusterAutoscaler' or 'deleted'. */
  readonly reason?: string;
}

export interface WatchedNode {
  readonly context: NodeContext;
  readonly eligibility: NodeEligibility;
}

/**
 * kube-proxy's rule (proxy_health.go SyncNode): a Node with a deletionTimestamp or
 * the autoscaler's to-be-deleted taint is not eligible; anything else is. Read
 * leniently: a field of the wrong shape says nothing against the node.
 */
export function nodeEligibility(raw: unknown): NodeEligibility {
  const o = (raw ?? {}) as { metadata?: { deletionTimestamp?: unknown }; spec?: { taints?: unknown } };
  if (typeof o.metadata?.deletionTimestamp === 'string' && o.metadata.deletionTimestamp !== '') {
    return { eligible: false, reason: 'deletionTimestamp' };
  }
  const taints = Array.isArray(o.spec?.taints) ? (o.spec.taints as unknown[]) : [];
  if (taints.some((t) => (t as { key?: unknown } | null)?.key === TO_BE_DELETED_TAINT)) {
    return { eligible: false, reason: `taint ${TO_BE_DELETED_TAINT}` };
  }
  return { eligible: true };
}

export function nodeAdapter(nodeName: string): ResourceAdapter<WatchedNode> {
  return {
    kind: 'Node',
    // The field selector already does this; a server that ignored it must not give us another node.
    accepts: (raw) => (raw as { metadata?: { name?: unknown } } | null)?.metadata?.name === nodeName,
    parse: (raw) => ({ context: nodeToContext(raw), eligibility: nodeEligibility(raw) }),
    serviceKeys: () => [],
  };
}

export class NodeStore extends WatchedStore<WatchedNode> {
  private deleted = false;

  constructor(
    readonly nodeName: string,
    opts: WatchedStoreOptions,
  ) {
    super(nodeAdapter(nodeName), opts);
  }

  /** The node as last read well; undefined before the first list or if the Node does not exist. */
  node(): NodeContext | undefined {
    return this.get(this.nodeName)?.context;
  }

  /**
   * Eligible until the API says otherwise (as kube-proxy: while starting, and while
   * the API server is away, the last word holds). A Node that was seen and then
   * deleted is not eligible: the node is going away.
   */
  eligibility(): NodeEligibility {
    const held = this.get(this.nodeName);
    if (held) return held.eligibility;
    return this.deleted ? { eligible: false, reason: 'deleted' } : { eligible: true };
  }

  protected override goodVersion(key: string): void {
    if (key === this.nodeName) this.deleted = false;
  }

  protected override removed(key: string): void {
    if (key === this.nodeName) this.deleted = true;
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
