// Read manifests from paths, then collect them into render inputs: the one call the
// CLI needs for -f/--config.

import { collectInputs, type CollectedInputs, type CollectOptions } from './inputs.js';
import { readManifests, type ReadOptions } from './read.js';

export async function loadInputs(paths: readonly string[], opts: CollectOptions & ReadOptions = {}): Promise<CollectedInputs> {
  const docs = await readManifests(paths, opts.stdin ? { stdin: opts.stdin } : {});
  return collectInputs(docs, opts);
}
