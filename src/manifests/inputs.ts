// Parsed manifests -> everything render needs (collect.ts), with every input kind's
// reader loaded: for callers that hold documents already (the agent's endpoint files,
// `svcplane diff`). load.ts, the CLI's path, loads the zod-checked readers only when needed.

import { collectInputsWith, type CollectedInputs, type CollectOptions, type InputDocument } from './collect.js';
import { INPUT_READERS } from './input-readers.js';

export type { CollectedInputs, CollectOptions, InputDocument } from './collect.js';

export function collectInputs(docs: readonly InputDocument[], opts: CollectOptions = {}): CollectedInputs {
  return collectInputsWith(INPUT_READERS, docs, opts);
}
