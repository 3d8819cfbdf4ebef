// The readers collectInputsWith (collect.ts) needs for the two input kinds that are
// checked by a zod schema: a plan (plan.json from dist/) and a KubeProxyConfiguration.
// Importing this file loads zod; load.ts does so only when such a document is given.

import { loadPlan, type Plan } from '../model/plan.js';
import { readProxyConfig, type ReadProxyConfig } from './proxy-config.js';

export interface InputReaders {
  readonly loadPlan: (doc: unknown, source?: string) => Plan;
  readonly readProxyConfig: (obj: unknown, source?: string, backend?: string) => ReadProxyConfig;
}

export const INPUT_READERS: InputReaders = { loadPlan, readProxyConfig };
