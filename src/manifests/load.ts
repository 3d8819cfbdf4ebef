// Read manifests from paths, then collect them into render inputs: the one call the
// CLI needs for -f/--config.
//
// The readers of a plan.json and of a KubeProxyConfiguration (input-readers.ts) load
// zod, ~50 ms of start-up; they are imported only when such a document was read.

import { isJsonObject } from '../model/json-fields.js';
import { PLAN_KIND } from '../model/plan-constants.js';
import { collectInputsWith, type CollectedInputs, type CollectOptions, type InputDocument } from './collect.js';
import type { InputReaders } from './input-readers.js';
import { readForForwarding } from './input-reads.js';
import { PROXY_CONFIG_KIND } from './proxy-config-kind.js';
import { readManifests, type ReadOptions } from './read.js';

/** Any document whose kind is read through a zod schema (by kind alone: input-kinds.ts decides the rest). */
function needsSchemaReaders(docs: readonly InputDocument[]): boolean {
  return docs.some((d) => isJsonObject(d.object) && (d.object.kind === PLAN_KIND || d.object.kind === PROXY_CONFIG_KIND));
}

/** Stands in when no document needs them: collectInputsWith calls a reader only for those kinds. */
const UNNEEDED: InputReaders = {
  loadPlan: () => {
    throw new Error('internal: a plan was collected without its reader loaded');
  },
  readProxyConfig: () => {
    throw new Error('internal: a KubeProxyConfiguration was collected without its reader loaded');
  },
};

export async function loadInputs(paths: readonly string[], opts: CollectOptions & ReadOptions = {}): Promise<CollectedInputs> {
  // Forwarding reads each Service and EndpointSlice on its own (input-reads.ts): validate
  // it as it is read and keep only the result. Authoring needs the other inputs first.
  const forwarding = (opts.purpose ?? 'forwarding') === 'forwarding';
  const docs = await readManifests(paths, { ...(opts.stdin ? { stdin: opts.stdin } : {}), ...(forwarding ? { each: readForForwarding } : {}) });
  const readers = needsSchemaReaders(docs) ? (await import('./input-readers.js')).INPUT_READERS : UNNEEDED;
  return collectInputsWith(readers, docs, opts);
}
